"""Heap upkeep: a full collection and malloc_trim give back what waits."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import threading
import time

import pytest

from app import memdiag, memtrim

glibc = pytest.mark.skipif(memdiag._glibc() is None, reason="needs glibc")


@glibc
def test_trim_gives_back_free_pages_inside_the_heap() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    memtrim.trim()
    blocks = [libc.malloc(4000) for _ in range(8000)]  # 32 MB of small chunks, touched
    for b in blocks:
        libc.memset(b, 1, 4000)
    pin = blocks.pop()  # the last chunk stays: the heap's top cannot shrink past it
    for b in blocks:
        libc.free(b)
    try:
        held = memdiag.proc_status()["rss"]
        assert memdiag.malloc_state()["free"] > 25_000_000  # fragmented: free, not given back
        done = memtrim.trim()
        assert done.trimmed
        assert done.free_before > 25_000_000
        assert held - done.rss_after_kb > 20_000  # kB: most of it went back to the system
    finally:
        libc.free(pin)


def test_trim_collects_cycles_waiting_in_the_old_generation() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    gc.disable()
    try:
        for _ in range(1000):
            Node()
        done = memtrim.trim()
    finally:
        gc.enable()
    assert done.collected >= 1000


def test_upkeep_collects_on_the_loop_and_trims_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collected: list[int] = []
    trimmed: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(
        memtrim.gc, "collect", lambda: collected.append(threading.get_ident()) or real_collect()
    )
    monkeypatch.setattr(memtrim, "malloc_trim", lambda: trimmed.append(threading.get_ident()))
    loop_thread = threading.get_ident()

    async def run() -> None:
        task = asyncio.get_running_loop().create_task(memtrim.keep_trimmed(0.01))
        # rounds, not a fixed time: a loaded machine may run only two in 150 ms
        deadline = time.monotonic() + 10.0
        while len(trimmed) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert len(collected) >= 3
    assert set(collected) == {loop_thread}
    assert len(trimmed) >= 3
    assert loop_thread not in trimmed  # the walk of the heap never holds the loop
