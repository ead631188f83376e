"""Memory diagnostics: what a running workstation holds, recorded every N minutes,
and ``diagnose FILE``: what grew.

Qt-free (the Qt object counts are in ``ui/memdiag_qt.py``). A *record* is one
JSON object per line of the file; each part is a source of its own, so one
that cannot be read (no ``/proc`` on Windows, no glibc) is left out, never an
error:

- ``proc``: the resident set from ``/proc/self/status`` (``rss``, ``anon``,
  ``file``, ``data``, ``threads``), in kB; on Windows the working set and the
  private bytes.
- ``malloc``: the C allocator (glibc): ``mallinfo2`` (bytes in use, free in the
  arenas, mmapped) and ``malloc_info``'s XML summed over the arenas (their
  count, the bytes they took from the system, the free chunks' bytes).
  In use growing is a native leak; free growing while in use holds is
  fragmentation.
- ``py``: Python's heap: ``sys.getallocatedblocks``, the gc's object counts by
  type (top ones), and, while ``tracemalloc`` runs, its traced total and the
  top allocation sites (``file:line``).
- ``qt``: filled by ``ui/memdiag_qt.py``: QObjects by class, graphics items by
  class, Python wrappers of Qt objects by class.
- ``kafka``: the last librdkafka statistics (``statistics.interval.ms``),
  summed to what can grow: the reply queue, the fetch queues, the brokers'
  buffers, the metadata cache.

:func:`diagnose` reads a file of records and says, per series, how much it
grew per hour after the warm-up, the slope of each quarter (levelling off or
not), and which part holds the growth.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import re
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

RECORD_VERSION = 1
TOP_SITES = 40
TOP_TYPES = 40

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


# -- Python's heap ---------------------------------------------------------------------


_ARENAS = re.compile(r"(\d+) arenas \* (\d+) bytes/arena")
_IN_BLOCKS = re.compile(r"# bytes in allocated blocks\s*=\s*([\d,]+)")


def pymalloc_stats() -> dict[str, int]:
    """pymalloc's arenas (``arenas``, ``arena_bytes``) and the bytes in its blocks
    (``block_bytes``), from ``sys._debugmallocstats`` (it writes to file descriptor 2,
    which is pointed at a temporary file for the call). Empty where it cannot be read."""
    import tempfile  # noqa: PLC0415

    stats = getattr(sys, "_debugmallocstats", None)
    if stats is None:
        return {}
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            stats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("ascii", "replace")
    out: dict[str, int] = {}
    m = _ARENAS.search(text)
    if m:
        out["arenas"] = int(m.group(1))
        out["arena_bytes"] = int(m.group(1)) * int(m.group(2))
    m = _IN_BLOCKS.search(text)
    if m:
        out["block_bytes"] = int(m.group(1).replace(",", ""))
    return out


def python_heap(top_sites: int = TOP_SITES, top_types: int = TOP_TYPES) -> dict[str, Any]:
    """Blocks allocated, pymalloc's arenas, gc objects by type, and (while tracemalloc
    traces) its total and top sites by size. :class:`PythonHeap` adds the sites that
    grew most since its first record."""
    return PythonHeap(top_sites, top_types, grown_sites=0)()


class PythonHeap:
    """The ``py`` part of a record; it keeps every site's size at its first record, so
    that each record also names the sites that grew most since then (``grown``:
    ``[site, bytes now, bytes grown, blocks grown]``), however small they still are,
    and lists them among ``sites`` too (their series can then be followed)."""

    def __init__(
        self, top_sites: int = TOP_SITES, top_types: int = TOP_TYPES, grown_sites: int = 20
    ) -> None:
        self.top_sites = top_sites
        self.top_types = top_types
        self.grown_sites = grown_sites
        self._first: dict[str, tuple[int, int]] | None = None

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {"blocks": sys.getallocatedblocks()}
        for key, value in pymalloc_stats().items():
            out[f"pymalloc_{key}"] = value
        counts: Counter[str] = Counter(type(o).__qualname__ for o in gc.get_objects())
        out["gc_objects"] = sum(counts.values())
        out["types"] = dict(counts.most_common(self.top_types))
        # full collections are what frees cyclic garbage that reached the oldest generation
        out["gc_collections"] = [g["collections"] for g in gc.get_stats()]
        out["gc_frozen"] = gc.get_freeze_count()
        if not tracemalloc.is_tracing():
            return out
        current, peak = tracemalloc.get_traced_memory()
        out["traced"] = current
        out["traced_peak"] = peak
        snap = tracemalloc.take_snapshot().filter_traces(
            (
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, __file__),
            )
        )
        now: dict[str, tuple[int, int]] = {}
        for stat in snap.statistics("lineno"):
            frame = stat.traceback[0]
            key = f"{_short(frame.filename)}:{frame.lineno}"
            size, count = now.get(key, (0, 0))
            now[key] = (size + stat.size, count + stat.count)
        del snap
        by_size = sorted(now.items(), key=lambda kv: -kv[1][0])[: self.top_sites]
        listed = {site for site, _ in by_size}
        sites = [[site, size, count] for site, (size, count) in by_size]
        if self._first is None:
            self._first = now
        elif self.grown_sites > 0:
            first = self._first
            grown = sorted(
                (
                    (
                        site,
                        size,
                        size - first.get(site, (0, 0))[0],
                        count - first.get(site, (0, 0))[1],
                    )
                    for site, (size, count) in now.items()
                ),
                key=lambda g: -g[2],
            )[: self.grown_sites]
            out["grown"] = [list(g) for g in grown if g[2] > 0]
            for site, size, _grew, _n in grown:
                if site not in listed:
                    sites.append([site, size, now[site][1]])
        out["sites"] = sites
        return out


def _short(filename: str) -> str:
    """A path without the machine's prefix: from the package folder on."""
    parts = Path(filename).parts
    for anchor in ("site-packages", "lib"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            rest = parts[i + 1 :]
            if rest:
                return "/".join(rest)
    for anchor in ("app", "ui", "bench"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[i:])
    return filename


# -- librdkafka statistics -------------------------------------------------------------


def kafka_summary(stats: Mapping[str, Any]) -> dict[str, int]:
    """The parts of one librdkafka statistics object that hold memory, summed.

    ``replyq``: ops waiting for the application's poll; ``msg_cnt``/``msg_size``:
    messages in producer queues; ``fetchq_cnt``/``fetchq_size``: fetched messages
    not yet consumed (all partitions); ``outbuf_cnt``/``waitresp_cnt``: requests
    queued or in flight (all brokers); ``metadata_cache_cnt``, ``brokers``,
    ``toppars`` (partitions known), ``topics``; ``rx``/``tx`` bytes (totals).
    """
    out: dict[str, int] = {}
    for key in ("replyq", "msg_cnt", "msg_size", "metadata_cache_cnt", "simple_cnt"):
        if isinstance(stats.get(key), int):
            out[key] = int(stats[key])
    brokers = stats.get("brokers") or {}
    out["brokers"] = len(brokers)
    for name in ("outbuf_cnt", "outbuf_msg_cnt", "waitresp_cnt", "waitresp_msg_cnt", "tx", "rx"):
        out[name] = sum(
            int(b.get(name, 0)) for b in brokers.values() if isinstance(b.get(name, 0), int)
        )
    out["toppars_on_brokers"] = sum(len(b.get("toppars") or {}) for b in brokers.values())
    topics = stats.get("topics") or {}
    out["topics"] = len(topics)
    fetch_cnt = fetch_size = toppars = 0
    for topic in topics.values():
        for pid, part in (topic.get("partitions") or {}).items():
            toppars += 1
            if pid == "-1":
                continue
            fetch_cnt += int(part.get("fetchq_cnt", 0) or 0)
            fetch_size += int(part.get("fetchq_size", 0) or 0)
    out["toppars"] = toppars
    out["fetchq_cnt"] = fetch_cnt
    out["fetchq_size"] = fetch_size
    return out


class KafkaStats:
    """The last librdkafka statistics, kept for the next record.

    Its :meth:`on_stats` is librdkafka's ``stats_cb`` (called from the thread that
    polls the client); :meth:`attach` puts it and ``statistics.interval.ms`` into
    a client's settings.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, int] | None = None
        self._count = 0
        self._errors = 0

    def on_stats(self, text: str) -> None:
        try:
            summary = kafka_summary(json.loads(text))
        except (ValueError, TypeError, AttributeError):
            with self._lock:
                self._errors += 1
            return
        with self._lock:
            self._last = summary
            self._count += 1

    def attach(self, settings: dict[str, Any], interval_ms: int = 60_000) -> dict[str, Any]:
        """Ask for statistics every ``interval_ms`` into this collector (settings changed in
        place and returned). A ``stats_cb`` already there is called too."""
        previous = settings.get("stats_cb")

        def both(text: str) -> None:
            self.on_stats(text)
            if callable(previous):
                previous(text)

        settings["statistics.interval.ms"] = int(interval_ms)
        settings["stats_cb"] = both if callable(previous) else self.on_stats
        return settings

    def snapshot(self) -> dict[str, int] | None:
        with self._lock:
            if self._last is None:
                return None
            return {**self._last, "stats_received": self._count, "stats_errors": self._errors}


# -- records ---------------------------------------------------------------------------

Source = Callable[[], Mapping[str, Any] | None]


@dataclass
class Recorder:
    """Takes a record from every source and appends it to ``path`` (one JSON line).

    ``sources`` maps a part's name to a function returning its figures (or None);
    ``proc``, ``malloc`` and ``py`` are there by default.
    """

    path: Path
    sources: dict[str, Source] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    records: int = 0

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        defaults: dict[str, Source] = {
            "proc": proc_status,
            "maps": proc_maps,
            "malloc": malloc_state,
            "py": PythonHeap(),
        }
        self.sources = {**defaults, **self.sources}

    def take(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "v": RECORD_VERSION,
            "t": round(time.time(), 3),
            "s": round(time.monotonic() - self.started, 3),
            "pid": os.getpid(),
        }
        errors = {}
        for name, source in self.sources.items():
            t0 = time.perf_counter()
            try:
                part = source()
            except Exception as exc:  # a source that fails is named, the rest recorded
                errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            if part is not None:
                rec[name] = dict(part)
            rec.setdefault("cost_ms", {})[name] = round((time.perf_counter() - t0) * 1000, 1)
        if errors:
            rec["errors"] = errors
        return rec

    def write(self, rec: Mapping[str, Any] | None = None) -> dict[str, Any]:
        rec = dict(rec) if rec is not None else self.take()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.records += 1
        return rec


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a file; a line that is not a record (a cut last line) is skipped."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            text = raw.strip()
            if not text:
                continue
            try:
                rec = json.loads(text)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("s"), int | float):
                out.append(rec)
    return out


# -- what grew -------------------------------------------------------------------------

#: series in kB (``proc``) and bytes (``malloc``, ``py`` sizes, ``kafka`` sizes) → MB
_KB_PARTS = ("proc",)
_COUNT_KEYS = {"threads", "arenas", "mmap_count", "free_fast_count", "free_rest_count", "blocks"}


def flatten(rec: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """One record as ``{series: (value, unit)}``; sizes in MB, the rest counts."""
    out: dict[str, tuple[float, str]] = {}
    for part in ("proc", "malloc", "kafka"):
        for key, value in (rec.get(part) or {}).items():
            if not isinstance(value, int | float):
                continue
            name = f"{part}.{key}"
            if part in _KB_PARTS and key != "threads":
                out[name] = (value / 1000, "MB")
            elif (part == "malloc" and key not in _COUNT_KEYS) or (
                part == "kafka" and key in ("msg_size", "fetchq_size")
            ):
                out[name] = (value / 1e6, "MB")
            else:
                out[name] = (float(value), "")
    for name, kb in (rec.get("maps") or {}).items():
        if isinstance(kb, int | float):
            out[f"maps.{name}"] = (kb / 1000, "MB")
    py = rec.get("py") or {}
    for key in ("traced", "traced_peak", "pymalloc_arena_bytes", "pymalloc_block_bytes"):
        if isinstance(py.get(key), int | float):
            out[f"py.{key}"] = (py[key] / 1e6, "MB")
    for key in ("blocks", "gc_objects", "pymalloc_arenas", "gc_frozen"):
        if isinstance(py.get(key), int | float):
            out[f"py.{key}"] = (float(py[key]), "")
    for name, n in (py.get("types") or {}).items():
        out[f"py.type.{name}"] = (float(n), "")
    for site, size, count in py.get("sites") or ():
        out[f"py.site.{site}"] = (size / 1e6, "MB")
        out[f"py.site_count.{site}"] = (float(count), "")
    qt = rec.get("qt") or {}
    for group, counts in qt.items():
        if isinstance(counts, int | float):
            out[f"qt.{group}"] = (float(counts), "")
        elif isinstance(counts, dict):
            for cls, n in counts.items():
                if isinstance(n, int | float):
                    out[f"qt.{group}.{cls}"] = (float(n), "")
    return out


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour (0 for fewer than 2)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / var * 3600


def quarter_slopes(points: Sequence[tuple[float, float]]) -> list[float]:
    """The slope per hour of each quarter of the time span (by time, not by count).

    Points on a quarter's boundary count in both neighbours, so that a
    quarter with few records still has a slope."""
    if len(points) < 2:
        return []
    t0, t1 = points[0][0], points[-1][0]
    span = t1 - t0
    if span <= 0:
        return []
    out = []
    for q in range(4):
        lo, hi = t0 + span * q / 4, t0 + span * (q + 1) / 4
        inside = [p for p in points if lo - 1e-9 <= p[0] <= hi + 1e-9]
        if len(inside) < 2:  # widen to the nearest neighbours
            before = [p for p in points if p[0] < lo][-1:]
            after = [p for p in points if p[0] > hi][:1]
            inside = before + inside + after
        out.append(slope_per_hour(inside))
    return out


def level_verdict(quarters: Sequence[float], overall: float, noise: float) -> str:
    """``flat``, ``levels off``, ``steady`` (growth that does not level off),
    ``steepening`` or ``falling``, from the quarter slopes after warm-up."""
    if abs(overall) <= noise and all(abs(q) <= 2 * noise for q in quarters):
        return "flat"
    if overall < -noise:
        return "falling"
    if len(quarters) < 4:
        return "steady"
    first = (quarters[0] + quarters[1]) / 2
    last = (quarters[2] + quarters[3]) / 2
    if last <= max(noise, 0.25 * first):
        return "levels off"
    if last > 1.5 * max(first, noise):
        return "steepening"
    return "steady"


@dataclass(frozen=True)
class Growth:
    series: str
    unit: str
    first: float
    last: float
    per_hour: float
    quarters: tuple[float, ...]
    verdict: str

    def as_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "unit": self.unit,
            "first": round(self.first, 4),
            "last": round(self.last, 4),
            "per_hour": round(self.per_hour, 4),
            "quarters": [round(q, 4) for q in self.quarters],
            "verdict": self.verdict,
        }


#: what counts as growth per hour, by unit (MB/h; objects or counts per hour)
NOISE = {"MB": 0.1, "": 1.0}


def growth(
    records: Sequence[Mapping[str, Any]], warmup: float = 0.25
) -> tuple[list[Growth], float, float]:
    """Each series' growth after the warm-up (``warmup`` < 1: that share of the span;
    else seconds). Returns (growths sorted by size, from_s, to_s)."""
    if not records:
        return [], 0.0, 0.0
    t0, t1 = float(records[0]["s"]), float(records[-1]["s"])
    start = t0 + (t1 - t0) * warmup if warmup < 1 else t0 + warmup
    kept = [r for r in records if float(r["s"]) >= start] or list(records[-1:])
    series: dict[str, list[tuple[float, float]]] = {}
    units: dict[str, str] = {}
    for rec in kept:
        for name, (value, unit) in flatten(rec).items():
            series.setdefault(name, []).append((float(rec["s"]), value))
            units[name] = unit
    # a site or type that enters the top list late was there before, smaller: a series
    # seen in fewer than half the records is judged from where it appears
    out = []
    for name, points in series.items():
        unit = units[name]
        noise = NOISE.get(unit, 1.0)
        per_hour = slope_per_hour(points)
        quarters = tuple(quarter_slopes(points))
        out.append(
            Growth(
                name,
                unit,
                points[0][1],
                points[-1][1],
                per_hour,
                quarters,
                level_verdict(quarters, per_hour, noise),
            )
        )
    out.sort(key=lambda g: (g.unit != "MB", -g.per_hour))
    return out, start, t1


def _find(growths: Iterable[Growth], name: str) -> Growth | None:
    return next((g for g in growths if g.series == name), None)


#: the parts that can hold RSS growth: (series, what it is, what its growth means)
PARTS = (
    (
        "malloc.in_use",
        "the C allocator's bytes in use",
        "native allocations grow: a C/C++ leak or a cache in a library (Qt, librdkafka); "
        "see Qt and Kafka below, and run heaptrack for the stacks",
    ),
    (
        "malloc.free",
        "free bytes kept inside the C allocator's arenas",
        "free bytes inside malloc's arenas grow while in use holds: fragmentation",
    ),
    (
        "py.traced",
        "Python objects (tracemalloc)",
        "Python objects grow (see the growing sites below)",
    ),
    (
        "py.pymalloc_block_bytes",
        "Python's small objects (pymalloc blocks)",
        "Python objects grow (see the growing sites below; a full collection frees what "
        "only waits for one)",
    ),
    (
        "proc.file",
        "file-backed pages (libraries, fonts)",
        "pages of mapped files touched for the first time: bounded by the files' sizes",
    ),
    ("malloc.mmap", "blocks mmapped by malloc", "large native blocks grow"),
)


def attribute(growths: Sequence[Growth]) -> list[str]:
    """Plain sentences: which parts hold the RSS growth, largest first."""
    say: list[str] = []
    rss = _find(growths, "proc.rss")
    anon = _find(growths, "proc.anon")
    if rss is not None:
        say.append(
            f"RSS {rss.first:.1f} -> {rss.last:.1f} MB, {rss.per_hour:+.2f} MB/h after warm-up "
            f"({rss.verdict}; quarters {', '.join(f'{q:+.2f}' for q in rss.quarters)})"
        )
    if anon is not None:
        say.append(f"  anonymous memory (heaps, mmaps): {anon.per_hour:+.2f} MB/h ({anon.verdict})")
    found = [(g, text, meaning) for name, text, meaning in PARTS if (g := _find(growths, name))]
    for g, text, _meaning in found:
        say.append(f"  {text}: {g.per_hour:+.2f} MB/h ({g.verdict})")
    if rss is None or rss.per_hour <= NOISE["MB"] or rss.verdict == "levels off":
        say.append("Verdict: RSS does not grow after warm-up.")
        return say
    rate = rss.per_hour
    # tracemalloc's total and pymalloc's blocks measure the same heap: keep the larger
    py = [f for f in found if f[0].series.startswith("py.")]
    if len(py) == 2:
        found.remove(min(py, key=lambda f: f[0].per_hour))
    holders = sorted(
        (f for f in found if f[0].per_hour > max(NOISE["MB"], 0.25 * rate)),
        key=lambda f: -f[0].per_hour,
    )
    if not holders:
        say.append(
            "Verdict: RSS grows outside the allocators' books: memory mapped by a library "
            "itself, or thread stacks; see the mappings below."
        )
    for g, _text, meaning in holders:
        share = min(100, round(100 * g.per_hour / rate))
        say.append(f"Verdict: {meaning} ({g.per_hour:+.2f} MB/h, {share} % of the growth).")
    return say


def report(
    records: Sequence[Mapping[str, Any]], warmup: float = 0.25, top: int = 12
) -> tuple[str, dict[str, Any]]:
    """The text of ``diagnose`` and the same as JSON."""
    if len(records) < 3:
        msg = f"{len(records)} record(s): at least 3 are needed to tell growth"
        return msg, {"records": len(records), "error": msg}
    growths, start, end = growth(records, warmup)
    lines = [
        f"{len(records)} records over {(end - float(records[0]['s'])) / 3600:.2f} h; "
        f"growth measured from {start / 60:.0f} min to {end / 60:.0f} min",
        *attribute(growths),
    ]

    def section(title: str, prefix: str, unit: str) -> None:
        noise = NOISE.get(unit, 1.0)
        rows = [
            g
            for g in growths
            if g.series.startswith(prefix) and g.unit == unit and g.per_hour > noise
        ]
        rows.sort(key=lambda g: -g.per_hour)
        if not rows:
            lines.append(f"{title}: nothing grows")
            return
        lines.append(f"{title}:")
        u = f" {unit}" if unit else ""
        for g in rows[:top]:
            lines.append(
                f"  {g.series[len(prefix) :]:<48} {g.first:>10.2f} -> {g.last:>10.2f}{u}  "
                f"{g.per_hour:+9.2f}{u}/h  {g.verdict}"
            )

    section("Memory series that grow (MB)", "", "MB")
    section("Mappings whose resident memory grows", "maps.", "MB")
    section("Python allocation sites that grow", "py.site.", "MB")
    section("Python objects by type that grow (count)", "py.type.", "")
    section("Qt objects that grow (count)", "qt.", "")
    section("librdkafka figures that grow", "kafka.", "")
    data = {
        "records": len(records),
        "from_s": start,
        "to_s": end,
        "verdict": [s for s in lines if s.startswith("Verdict")],
        "growing": [g.as_json() for g in growths if g.per_hour > NOISE.get(g.unit, 1.0)],
        "series": {
            g.series: g.as_json()
            for g in growths
            if not g.series.startswith(("py.site", "py.type", "qt.")) or g.per_hour > 0
        },
    }
    return "\n".join(lines), data


def add_program_arguments(p: argparse.ArgumentParser) -> None:
    """``--diagnose-memory [--diagnose-every MIN] [--diagnose-file PATH]`` for
    ``dispatcher-hmi`` (no Qt imported here: ``--check-config`` stays Qt-free)."""
    g = p.add_argument_group("memory diagnostics (docs/operations.md)")
    g.add_argument(
        "--diagnose-memory",
        action="store_true",
        help="record memory (RSS, Python heap by site, Qt objects by class, librdkafka, the "
        "C allocator) to a file every --diagnose-every minutes; read it with "
        "'dispatcher-cli diagnose FILE'",
    )
    g.add_argument(
        "--diagnose-every",
        type=float,
        default=10.0,
        metavar="MIN",
        help="with --diagnose-memory: minutes between records (default 10)",
    )
    g.add_argument(
        "--diagnose-file",
        default=None,
        metavar="PATH",
        help="with --diagnose-memory: the record file (default "
        "<user data>/logs/memory-<date>-<time>.jsonl)",
    )
    g.add_argument(
        "--diagnose-tracemalloc",
        type=int,
        default=1,
        metavar="FRAMES",
        help="with --diagnose-memory: frames per Python allocation site (default 1; 0: off)",
    )


def kafka_statistics_from_args(args: Any, alarms: Any) -> KafkaStats | None:
    """With ``--diagnose-memory``: ask the alarm feed's librdkafka client for its
    statistics (into ``alarms.settings.extra``), before the feed starts; None otherwise
    (or without an alarm feed). Statistics come every minute at most."""
    if not getattr(args, "diagnose_memory", False):
        return None
    extra = getattr(getattr(alarms, "settings", None), "extra", None)
    if not isinstance(extra, dict):
        return None
    every_min = float(getattr(args, "diagnose_every", 10.0))
    kafka = KafkaStats()
    kafka.attach(extra, int(min(60.0, every_min * 60) * 1000))
    return kafka


def diagnose_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """``dispatcher-cli diagnose FILE``: say what grew. Exit 0; 2 for a file not read."""
    p = argparse.ArgumentParser(prog="dispatcher-cli diagnose", description=report.__doc__)
    add_diagnose_arguments(p)
    args = p.parse_args(argv)
    return run_diagnose(args, out)


def add_diagnose_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a record file written by --diagnose-memory")
    p.add_argument(
        "--warmup",
        type=float,
        default=0.25,
        help="leave out the start: below 1 a share of the span, else minutes (default 0.25)",
    )
    p.add_argument("--top", type=int, default=12, help="rows per section (default 12)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def run_diagnose(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    try:
        records = read_records(args.file)
    except OSError as exc:
        print(f"diagnose: {args.file}: {exc}", file=sys.stderr)
        return 2
    warmup = args.warmup if args.warmup < 1 else args.warmup * 60
    text, data = report(records, warmup, args.top)
    if args.json:
        out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
    else:
        out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(diagnose_main())
