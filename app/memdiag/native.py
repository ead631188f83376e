"""What the operating system and the C allocator say: the resident set by kind and
by mapping (``/proc``; the working set on Windows), glibc's ``mallinfo2`` and
``malloc_info``, and ``malloc_trim``."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import sys
import threading
from collections import Counter
from typing import Any

# -- the process: resident set ---------------------------------------------------------

_STATUS_FIELDS = {
    "VmRSS": "rss",
    "RssAnon": "anon",
    "RssFile": "file",
    "RssShmem": "shmem",
    "VmData": "data",
    "VmSize": "vsize",
    "Threads": "threads",
}


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """RSS and its parts in kB (``threads`` a count), from ``/proc/PID/status``.

    On Windows: ``rss`` (the working set) and ``private`` (private bytes), in kB.
    Empty when neither can be read.
    """
    path = f"/proc/{pid}/status"
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return _windows_memory() if os.name == "nt" and pid == "self" else {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        name = _STATUS_FIELDS.get(key)
        if name is not None:
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[name] = int(parts[0])
    return out


_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$")


def proc_maps(pid: int | str = "self", top: int = 30) -> dict[str, int]:
    """Resident kB per mapping name, from ``/proc/PID/smaps``: each library or file by
    its file name, ``[heap]`` (malloc's main arena), ``[stack]``, ``[anon]`` (anonymous
    mappings: pymalloc's arenas, other malloc arenas, thread stacks, mmapped blocks).
    The ``top`` largest; empty without ``/proc``."""
    try:
        with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    out: Counter[str] = Counter()
    name = ""
    for line in text.splitlines():
        m = _MAPPING.match(line)
        if m:
            path = m.group(1).strip()
            name = path.rsplit("/", 1)[-1] if path.startswith("/") else (path or "[anon]")
        elif line.startswith("Rss:"):
            out[name] += int(line.split()[1])
    return dict(out.most_common(top))


def _windows_memory() -> dict[str, int]:  # pragma: no cover - Windows only
    try:

        class Counters(ctypes.Structure):
            _fields_ = [
                ("cb", ctypes.c_ulong),
                ("PageFaultCount", ctypes.c_ulong),
                ("PeakWorkingSetSize", ctypes.c_size_t),
                ("WorkingSetSize", ctypes.c_size_t),
                ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
                ("QuotaPagedPoolUsage", ctypes.c_size_t),
                ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                ("PagefileUsage", ctypes.c_size_t),
                ("PeakPagefileUsage", ctypes.c_size_t),
                ("PrivateUsage", ctypes.c_size_t),
            ]

        windll = ctypes.windll  # type: ignore[attr-defined]
        c = Counters()
        c.cb = ctypes.sizeof(c)
        proc = windll.kernel32.GetCurrentProcess()
        if not windll.psapi.GetProcessMemoryInfo(proc, ctypes.byref(c), c.cb):
            return {}
        return {"rss": c.WorkingSetSize // 1024, "private": c.PrivateUsage // 1024}
    except Exception:
        return {}


# -- the C allocator -----------------------------------------------------------------


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_libc_lock = threading.Lock()
_libc_found: list[Any] = []  # [the C library, or None]: looked for once


def _glibc() -> Any:
    """The C library if it is glibc (has ``malloc_info``), else None."""
    with _libc_lock:
        if not _libc_found:
            _libc_found.append(_load_glibc())
        return _libc_found[0]


def _load_glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc: Any = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_info  # noqa: B018 (present only in glibc)
        libc.open_memstream.restype = ctypes.c_void_p
        libc.open_memstream.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        # free() from the process's global namespace, not libc's own: under a tracer
        # preloaded with LD_PRELOAD (heaptrack) the buffer's free is then seen too
        libc.global_free = ctypes.CDLL(None).free
        libc.global_free.argtypes = [ctypes.c_void_p]
        with contextlib.suppress(AttributeError):  # glibc < 2.33 has no mallinfo2
            libc.mallinfo2.restype = _Mallinfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def malloc_info_xml() -> str | None:
    """glibc's ``malloc_info(0, ...)`` as text (None without glibc)."""
    libc = _glibc()
    if libc is None:
        return None
    buf = ctypes.c_void_p()
    size = ctypes.c_size_t()
    fp = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not fp:
        return None
    try:
        libc.malloc_info(0, fp)
    finally:
        libc.fclose(fp)
    try:
        return ctypes.string_at(buf.value or 0, size.value).decode("ascii", "replace")
    finally:
        libc.global_free(buf)


_HEAP = re.compile(r'<heap nr="(\d+)">(.*?)</heap>', re.S)
_TOTAL = re.compile(r'<total type="(\w+)" count="(\d+)" size="(\d+)"/>')
_SYSTEM = re.compile(r'<system type="(\w+)" size="(\d+)"/>')
_ASPACE = re.compile(r'<aspace type="(\w+)" size="(\d+)"/>')


def parse_malloc_info(xml: str) -> dict[str, int]:
    """The whole-process figures of a ``malloc_info`` document, in bytes (counts as counts).

    ``arenas``; ``free_fast``/``free_rest``: free chunks in fastbins and the other
    bins (with their counts); ``mmap``/``mmap_count``: chunks mmapped on their own;
    ``system``: what the arenas took from the system (now); ``system_max``;
    ``free_top_heap``: the largest free bytes of one arena (where fragmentation shows).
    """
    out: dict[str, int] = {}
    heaps = _HEAP.findall(xml)
    out["arenas"] = len(heaps)
    largest_free = 0
    for _nr, body in heaps:
        free = sum(int(size) for kind, _c, size in _TOTAL.findall(body) if kind in ("fast", "rest"))
        largest_free = max(largest_free, free)
    out["free_top_heap"] = largest_free
    tail = _HEAP.sub("", xml)
    for kind, count, size in _TOTAL.findall(tail):
        if kind in ("fast", "rest"):
            out[f"free_{kind}"] = int(size)
            out[f"free_{kind}_count"] = int(count)
        elif kind == "mmap":
            out["mmap"] = int(size)
            out["mmap_count"] = int(count)
    for kind, size in _SYSTEM.findall(tail):
        out["system" if kind == "current" else f"system_{kind}"] = int(size)
    for kind, size in _ASPACE.findall(tail):
        out[f"aspace_{kind}"] = int(size)
    return out


def malloc_state() -> dict[str, int]:
    """The C allocator's state in bytes: ``in_use``, ``free``, ``mmap`` (mallinfo2) and
    the ``malloc_info`` summary. Empty without glibc."""
    libc = _glibc()
    if libc is None:
        return {}
    out: dict[str, int] = {}
    try:
        mi = libc.mallinfo2()
        out.update(
            in_use=int(mi.uordblks),
            free=int(mi.fordblks),
            mmap=int(mi.hblkhd),
            mmap_count=int(mi.hblks),
            main_arena=int(mi.arena),
        )
    except AttributeError:
        pass
    xml = malloc_info_xml()
    if xml:
        summary = parse_malloc_info(xml)
        for key in ("mmap", "mmap_count"):  # mallinfo2's are the same numbers
            if key in out:
                summary.pop(key, None)
        out.update(summary)
    return out


def malloc_trim() -> bool:
    """Give the arenas' free top pages back (glibc ``malloc_trim(0)``); False without glibc."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
