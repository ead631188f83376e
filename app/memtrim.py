"""Heap upkeep for a program that runs for days: every few minutes, a full garbage
collection and glibc's ``malloc_trim(0)``.

Why (``docs/performance.md``, "The whole program"): over hours, the program's
resident memory grew by 2-3 MB/h without any allocation that stays. Part of
it was free memory kept by the C allocator inside its main arena (free
chunks between live ones, never returned: the field notes' fragmentation),
and part Python's small objects waiting for a collection of the oldest
generation, which a big, steady heap runs rarely. ``malloc_trim(0)`` gives
back every whole free page inside the arenas (``madvise``), not only the top;
the collection frees what waits in the old generation and Python's free lists.

Both are cheap at this interval: the collection takes 10-20 ms on the event
loop with the demo line, the trim runs in a worker thread; neither changes
anything a caller can see. On a C library without ``malloc_trim``
(Windows, musl) only the collection runs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass

from app.memdiag import malloc_state, malloc_trim, proc_status

log = logging.getLogger(__name__)

#: how often by default: often enough that little waits, rarely enough to cost nothing
EVERY_S = 300.0


@dataclass(frozen=True, slots=True)
class Trimmed:
    collected: int  # objects the collection found unreachable
    trimmed: bool  # malloc_trim gave memory back (False: nothing, or no glibc)
    rss_before_kb: int
    rss_after_kb: int
    free_before: int  # bytes free inside malloc's arenas before (0 without glibc)
    cost_ms: float


def trim() -> Trimmed:
    """One full collection and one ``malloc_trim(0)``; what it gave back."""
    t0 = time.perf_counter()
    before = proc_status().get("rss", 0)
    free_before = malloc_state().get("free", 0)
    collected = gc.collect()
    trimmed = malloc_trim()
    after = proc_status().get("rss", 0)
    return Trimmed(
        collected,
        trimmed,
        before,
        after,
        free_before,
        round((time.perf_counter() - t0) * 1000, 2),
    )


async def keep_trimmed(every_s: float = EVERY_S) -> None:
    """Every ``every_s`` seconds until cancelled (a task of the program's loop): a full
    collection on the loop (10-20 ms with the demo line), then ``malloc_trim(0)`` in a
    worker thread (ctypes lets go of the GIL; glibc locks each arena as it walks it),
    so the window never waits for the walk of the heap."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every_s)
        t0 = time.perf_counter()
        collected = gc.collect()
        collect_ms = (time.perf_counter() - t0) * 1000
        before = proc_status().get("rss", 0)
        trimmed = await loop.run_in_executor(None, malloc_trim)
        log.debug(
            "heap upkeep: %d unreachable in %.1f ms; trim %s, RSS %d -> %d kB",
            collected,
            collect_ms,
            trimmed,
            before,
            proc_status().get("rss", 0),
        )
