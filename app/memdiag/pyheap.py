"""Python's heap: allocated blocks, pymalloc's arenas, the gc's objects by type and,
while ``tracemalloc`` runs, the top allocation sites."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

TOP_SITES = 40
TOP_TYPES = 40

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
