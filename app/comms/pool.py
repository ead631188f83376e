"""A fixed pool of equal receive buffers, allocated once.

The field notes: allocating a buffer per packet fragmented the old client's
heap until it crashed. Status datagrams are fixed-size, so their buffers come
from here: ``count`` slots of ``size`` bytes cut out of one ``bytearray`` when
the pool is made. The pool never grows and never blocks: :meth:`BufferPool.acquire`
returns ``None`` when every buffer is out, and the caller drops the datagram
and counts it (a status is superseded 100 ms later anyway).

The pool is safe to use from two threads (the UDP receiver thread acquires,
the event loop releases). Debug mode records where each buffer was acquired,
so :meth:`BufferPool.leaks` can say which code kept one.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType


class PoolError(RuntimeError):
    """A buffer was released twice, or released to a pool it does not belong to."""


class PooledBuffer:
    """One slot of a pool: ``view`` is its memory (``size`` bytes), ``index`` its number.

    The same object comes back each time its slot is acquired; hold it only
    between :meth:`BufferPool.acquire` and :meth:`BufferPool.release`.
    """

    __slots__ = ("_out", "_pool", "index", "view")

    def __init__(self, pool: BufferPool, index: int, view: memoryview) -> None:
        self._pool = pool
        self._out = False
        self.index = index
        self.view = view

    @property
    def size(self) -> int:
        return len(self.view)

    def __repr__(self) -> str:
        state = "out" if self._out else "free"
        return f"<PooledBuffer {self.index} of {len(self.view)} bytes, {state}>"


@dataclass(frozen=True, slots=True)
class Leak:
    """A buffer still out: where it was acquired (debug mode only) and when (monotonic s)."""

    index: int
    where: str
    acquired_at: float


class BufferPool:
    def __init__(self, count: int, size: int, debug: bool = False) -> None:
        if count <= 0 or size <= 0:
            raise ValueError(f"a pool needs a positive count and size, not {count} x {size}")
        self.count = count
        self.size = size
        self.debug = debug
        self._memory = bytearray(count * size)
        whole = memoryview(self._memory)  # kept: the bytearray can never be resized
        self._whole = whole
        self._buffers = tuple(
            PooledBuffer(self, i, whole[i * size : (i + 1) * size]) for i in range(count)
        )
        # A fixed stack of free slots (never resized): _stack[:_top] are free, and the
        # most recently released one (warm in cache) goes out first.
        self._stack = list(reversed(self._buffers))
        self._top = count
        self._lock = threading.Lock()
        self._where: dict[int, tuple[str, float]] = {}
        self.acquired = 0
        self.released = 0
        self.exhausted = 0
        self.high_water = 0

    @property
    def in_use(self) -> int:
        return self.count - self._top

    @property
    def available(self) -> int:
        return self._top

    def acquire(self) -> PooledBuffer | None:
        """A free buffer, or ``None`` (counted in ``exhausted``) when all are out. Never blocks."""
        with self._lock:
            top = self._top
            if not top:
                self.exhausted += 1
                return None
            top -= 1
            self._top = top
            buf = self._stack[top]
            buf._out = True
            self.acquired += 1
            in_use = self.count - top
            self.high_water = max(self.high_water, in_use)
            if self.debug:
                self._where[buf.index] = (_callers(), time.monotonic())
            return buf

    def release(self, buf: PooledBuffer) -> None:
        """Give a buffer back. Raises :class:`PoolError` for a double or foreign release."""
        if buf._pool is not self:
            raise PoolError(f"{buf!r} does not belong to this pool")
        with self._lock:
            if not buf._out:
                raise PoolError(f"{buf!r} released twice")
            buf._out = False
            self._stack[self._top] = buf
            self._top += 1
            self.released += 1
            if self.debug:
                self._where.pop(buf.index, None)

    def leaks(self) -> list[Leak]:
        """The buffers not returned, oldest first; ``where`` is empty unless in debug mode."""
        with self._lock:
            out = [b for b in self._buffers if b._out]
            where = dict(self._where)
        found = [Leak(b.index, *where.get(b.index, ("", 0.0))) for b in out]
        return sorted(found, key=lambda leak: (leak.acquired_at, leak.index))

    def stats(self) -> dict[str, int]:
        return {
            "count": self.count,
            "size": self.size,
            "in_use": self.in_use,
            "acquired": self.acquired,
            "released": self.released,
            "exhausted": self.exhausted,
            "high_water": self.high_water,
        }


def _callers(depth: int = 4) -> str:
    """Where ``acquire`` was called from (innermost first), skipping this module."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    where: list[str] = []
    while frame is not None and len(where) < depth:
        code = frame.f_code
        where.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back
    return " <- ".join(where) or "?"
