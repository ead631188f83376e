"""BufferPool: fixed buffers, no loss, no double return, honest counters, leak reports."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.comms.pool import BufferPool, PooledBuffer, PoolError


def check_counters(pool: BufferPool, out: set[int]) -> None:
    assert pool.in_use == len(out)
    assert pool.available == pool.count - len(out)
    assert pool.acquired - pool.released == pool.in_use
    assert pool.high_water <= pool.count
    assert {leak.index for leak in pool.leaks()} == out


@settings(max_examples=200)
@given(st.integers(1, 12), st.lists(st.tuples(st.booleans(), st.integers(0, 10**6)), max_size=300))
def test_random_acquire_release_sequences_lose_nothing(
    count: int, ops: list[tuple[bool, int]]
) -> None:
    pool = BufferPool(count, 16)
    out: dict[int, PooledBuffer] = {}
    exhausted = high = 0
    for acquire, pick in ops:
        if acquire:
            buf = pool.acquire()
            if len(out) == count:
                assert buf is None
                exhausted += 1
            else:
                assert buf is not None
                assert buf.index not in out
                out[buf.index] = buf
                high = max(high, len(out))
        elif out:
            index = sorted(out)[pick % len(out)]
            pool.release(out.pop(index))
        check_counters(pool, set(out))
        assert pool.exhausted == exhausted
        assert pool.high_water == high
    for buf in list(out.values()):
        pool.release(buf)
    check_counters(pool, set())
    assert pool.stats()["in_use"] == 0


def test_long_randomised_run_with_contents() -> None:
    """Each buffer keeps what was written into it until released: slots never overlap."""
    rng = random.Random(1234)
    pool = BufferPool(32, 64)
    out: dict[int, tuple[PooledBuffer, bytes]] = {}
    for step in range(50_000):
        if rng.random() < 0.52:
            buf = pool.acquire()
            if buf is None:
                assert len(out) == 32
                continue
            stamp = step.to_bytes(8, "big") * 8
            buf.view[:] = stamp
            out[buf.index] = (buf, stamp)
        elif out:
            buf, stamp = out.pop(rng.choice(list(out)))
            assert bytes(buf.view) == stamp
            pool.release(buf)
    check_counters(pool, set(out))
    assert pool.exhausted > 0
    assert pool.high_water == 32


def test_double_and_foreign_release_raise() -> None:
    pool, other = BufferPool(2, 8), BufferPool(2, 8)
    buf = pool.acquire()
    assert buf is not None
    pool.release(buf)
    with pytest.raises(PoolError, match="twice"):
        pool.release(buf)
    foreign = other.acquire()
    assert foreign is not None
    with pytest.raises(PoolError, match="does not belong"):
        pool.release(foreign)
    assert pool.released == 1
    assert pool.in_use == 0


def test_buffers_are_fixed_slots_of_one_allocation() -> None:
    pool = BufferPool(4, 48)
    bufs = [pool.acquire() for _ in range(4)]
    assert pool.acquire() is None
    assert pool.exhausted == 1
    backing = {id(b.view.obj) for b in bufs if b is not None}
    assert len(backing) == 1
    assert sorted(b.index for b in bufs if b is not None) == [0, 1, 2, 3]
    assert all(b is not None and b.size == 48 for b in bufs)
    for b in bufs:
        assert b is not None
        pool.release(b)
    # The same objects come back: nothing is allocated per acquire.
    again = [pool.acquire() for _ in range(4)]
    assert {id(b) for b in again} == {id(b) for b in bufs}


def keep_one(pool: BufferPool) -> PooledBuffer | None:
    return pool.acquire()


def test_debug_mode_reports_where_leaked_buffers_were_acquired() -> None:
    pool = BufferPool(4, 8, debug=True)
    kept = keep_one(pool)
    returned = pool.acquire()
    assert kept is not None and returned is not None
    pool.release(returned)
    leaks = pool.leaks()
    assert [leak.index for leak in leaks] == [kept.index]
    assert "test_pool.py" in leaks[0].where
    assert "keep_one" in leaks[0].where
    assert leaks[0].acquired_at > 0
    pool.release(kept)
    assert pool.leaks() == []
    # Without debug mode the buffer is still reported, without a place.
    quiet = BufferPool(2, 8)
    held = quiet.acquire()
    assert held is not None
    assert [(leak.index, leak.where) for leak in quiet.leaks()] == [(held.index, "")]


def test_two_threads_acquiring_and_releasing() -> None:
    """The UDP thread strategy acquires on one thread and releases on another."""
    pool = BufferPool(8, 16)
    handed: list[PooledBuffer] = []
    lock = threading.Condition()
    done = threading.Event()

    def producer() -> None:
        for _ in range(20_000):
            buf = pool.acquire()
            if buf is None:
                continue
            with lock:
                handed.append(buf)
                lock.notify()
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    while not (done.is_set() and not handed):
        with lock:
            lock.wait_for(lambda: handed or done.is_set(), timeout=1)
            batch, handed[:] = list(handed), []
        for buf in batch:
            pool.release(buf)
    thread.join()
    assert pool.in_use == 0
    assert pool.acquired == pool.released
    assert pool.acquired + pool.exhausted == 20_000


def test_bad_sizes() -> None:
    with pytest.raises(ValueError):
        BufferPool(0, 8)
    with pytest.raises(ValueError):
        BufferPool(8, 0)
