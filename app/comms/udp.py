"""The UDP receive path: train status datagrams straight into pooled buffers, decoded in place.

Two strategies behind one interface (see ``docs/comms.md``):

``reader``
    The event loop watches the socket (``loop.add_reader``); when it is
    readable, one pooled buffer is taken and the socket drained into it with
    non-blocking ``recvfrom_into`` until ``BlockingIOError`` (at most
    ``max_batch`` datagrams per wake-up, so a flood cannot starve the loop),
    each datagram decoded in place, then the buffer goes back. For selector
    loops: Linux and macOS, and qasync there.

``thread``
    For loops without ``add_reader`` (the proactor loop on Windows, which
    qasync uses there). A receiver thread does blocking ``recvfrom_into`` into
    pooled buffers and hands each filled buffer to the loop thread
    (``call_soon_threadsafe``, one wake-up for however many buffers queued up
    meanwhile); the loop decodes in place and releases the buffer. When the
    pool is empty the thread still reads (into its own scratch buffer) and
    drops the datagram, counted in ``dropped``: it never blocks and never
    allocates.

``auto`` (the default) tries ``add_reader`` and falls back to the thread on
``NotImplementedError``.

Bad datagrams are counted in ``bad`` and logged with their sender, at most
once per ``log_interval_s`` (with the number suppressed meanwhile); nothing a
peer sends raises into the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Literal

from app.comms.pool import BufferPool, PooledBuffer
from app.protocol.errors import RemoteProtocolError
from app.protocol.security import IntegrityError, MacKey
from app.protocol.udp import MAX_RECORD_SIZE, TrainStatus, decode_train_status

log = logging.getLogger(__name__)

Strategy = Literal["auto", "reader", "thread"]

SLOT_SIZE: Final = 80
"""Pool buffer size for status datagrams: larger than the largest record (64 bytes,
tagged), so an oversize datagram shows up as too long instead of being silently
truncated to a plausible size."""


def status_pool(count: int = 256, *, debug: bool = False) -> BufferPool:
    """A pool sized for train status datagrams."""
    return BufferPool(count, SLOT_SIZE, debug=debug)


class RateLimitedLog:
    """Logs at most once per interval, saying how many were suppressed since."""

    def __init__(
        self, logger: logging.Logger, interval_s: float, level: int = logging.WARNING
    ) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._level = level
        self._last = -float("inf")
        self.suppressed = 0

    def log(self, msg: str, *args: object, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now - self._last < self._interval_s:
            self.suppressed += 1
            return
        if self.suppressed:
            msg += " (%d more suppressed)"
            args = (*args, self.suppressed)
        self._logger.log(self._level, msg, *args, exc_info=exc_info)
        self._last = now
        self.suppressed = 0


class UdpStatusReceiver:
    """Receives 48-byte train status datagrams into a :class:`BufferPool`.

    ``source`` is a bound UDP socket (the receiver takes it over and closes it)
    or a ``(host, port)`` to bind (port 0: any; see :attr:`local_address`).
    Call :meth:`start` on the loop thread, :meth:`close` when done; after
    ``close`` every buffer this receiver took is back in the pool.

    Counters: ``received`` (delivered to ``on_status``), ``bad`` (refused
    datagrams), ``dropped`` (no free buffer), ``errors`` (socket errors),
    ``callback_errors`` (``on_status`` raised: logged, the receiver goes on).

    On a protected link the owner sets :attr:`key` (the session's datagram key)
    once the handshake is done, with ``require_key`` set from the start: until
    the key is known, datagrams are dropped and counted in ``unkeyed``. A
    datagram whose tag fails is counted in ``bad`` and ``integrity`` and handed
    to ``on_violation``.
    """

    def __init__(
        self,
        source: socket.socket | tuple[str, int],
        pool: BufferPool,
        on_status: Callable[[TrainStatus], None],
        *,
        strategy: Strategy = "auto",
        loop: asyncio.AbstractEventLoop | None = None,
        name: str = "udp",
        log_interval_s: float = 5.0,
        max_batch: int = 1024,
        rcvbuf: int | None = None,
        require_key: bool = False,
        on_violation: Callable[[IntegrityError], None] | None = None,
    ) -> None:
        if pool.size <= MAX_RECORD_SIZE:
            raise ValueError(
                f"pool buffers of {pool.size} bytes cannot tell an oversize datagram "
                f"from a {MAX_RECORD_SIZE}-byte record; use at least {MAX_RECORD_SIZE + 1}"
            )
        if strategy not in ("auto", "reader", "thread"):
            raise ValueError(f"unknown strategy {strategy!r}")
        self.sock = _bind(source) if isinstance(source, tuple) else source
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.pool = pool
        self.name = name
        self._on_status = on_status
        self._requested: Strategy = strategy
        self._loop = loop
        self._max_batch = max_batch
        self.strategy: Literal["reader", "thread"] | None = None
        self.received = 0
        self.bad = 0
        self.dropped = 0
        self.errors = 0
        self.callback_errors = 0
        self.integrity = 0
        self.unkeyed = 0
        self.key: MacKey | None = None
        self.require_key = require_key
        self._on_violation = on_violation
        self._bad_log = RateLimitedLog(log, log_interval_s)
        self._err_log = RateLimitedLog(log, log_interval_s)
        self._cb_log = RateLimitedLog(log, log_interval_s, logging.ERROR)
        self._closed = False
        # Reader strategy: where datagrams go when the pool is empty (read to drop them).
        self._scratch = memoryview(bytearray(pool.size))
        # Thread strategy.
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue: collections.deque[PooledBuffer] = collections.deque()
        self._scheduled = False
        self._nbytes = [0] * pool.count
        self._addrs: list[Any] = [None] * pool.count

    @property
    def local_address(self) -> tuple[Any, ...]:
        addr: tuple[Any, ...] = self.sock.getsockname()
        return addr

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        if self.strategy is not None or self._closed:
            raise RuntimeError(f"receiver {self.name} already started or closed")
        loop = self._loop = self._loop or asyncio.get_running_loop()
        if self._requested in ("auto", "reader"):
            self.sock.setblocking(False)
            try:
                loop.add_reader(self.sock.fileno(), self._on_readable)
            except NotImplementedError:
                if self._requested == "reader":
                    raise
                log.info("udp %s: the loop has no add_reader, using a receiver thread", self.name)
            else:
                self.strategy = "reader"
                return
        self.sock.setblocking(True)
        self.strategy = "thread"
        self._thread = threading.Thread(
            target=self._run_thread, name=f"{self.name}-udp-rx", daemon=True
        )
        self._thread.start()

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop receiving, close the socket, give back every buffer. Call on the loop thread.

        With the thread strategy this waits (at most ``timeout_s``) for the
        thread, blocked in ``recvfrom_into``: a wake-up datagram to the socket's
        own address brings it out at once; failing that, ``shutdown`` does
        (Linux), and closing the socket does (Windows).
        """
        if self._closed:
            return
        self._closed = True
        if self.strategy == "reader" and self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.sock.fileno())
        elif self._thread is not None:
            self._stop.set()
            self._wake_thread()
            self._thread.join(min(0.5, timeout_s / 2))
            if self._thread.is_alive():
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RDWR)
                self._thread.join(timeout_s / 2)
            if self._thread.is_alive():
                log.warning("udp %s: receiver thread did not stop in %.1f s", self.name, timeout_s)
        self.sock.close()
        self._release_queued()

    def __enter__(self) -> UdpStatusReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- delivery (loop thread) ---------------------------------------------------

    def _deliver(self, view: memoryview, nbytes: int, addr: Any) -> None:
        key = self.key
        if key is None and self.require_key:
            self.unkeyed += 1  # before the handshake gave the key: nothing to check it with
            return
        try:
            status = decode_train_status(view, nbytes, key)
        except RemoteProtocolError as exc:
            self.bad += 1
            self._bad_log.log("udp %s: bad datagram from %s: %s", self.name, addr, exc)
            if isinstance(exc, IntegrityError):
                self.integrity += 1
                if self._on_violation is not None:
                    self._on_violation(exc)
            return
        self.received += 1
        try:
            self._on_status(status)
        except Exception:
            self.callback_errors += 1
            self._cb_log.log("udp %s: status callback failed", self.name, exc_info=True)

    def _on_readable(self) -> None:
        """Reader strategy: drain the socket into one pooled buffer."""
        buf = self.pool.acquire()
        view = self._scratch if buf is None else buf.view
        recv = self.sock.recvfrom_into
        deliver = self._deliver
        try:
            for _ in range(self._max_batch):
                try:
                    nbytes, addr = recv(view)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    # e.g. an ICMP error queued on the socket: counted, and read on.
                    self.errors += 1
                    self._err_log.log("udp %s: receive error: %s", self.name, exc)
                    continue
                if buf is None:
                    self.dropped += 1
                else:
                    deliver(view, nbytes, addr)
        finally:
            if buf is not None:
                self.pool.release(buf)

    def _drain_queue(self) -> None:
        """Thread strategy, on the loop: decode what the thread queued, release the buffers."""
        self._scheduled = False  # before draining: a buffer queued from now on schedules anew
        queue, release, deliver = self._queue, self.pool.release, self._deliver
        nbytes, addrs = self._nbytes, self._addrs
        while queue and not self._closed:
            buf = queue.popleft()
            try:
                deliver(buf.view, nbytes[buf.index], addrs[buf.index])
            finally:
                addrs[buf.index] = None
                release(buf)

    def _release_queued(self) -> None:
        while self._queue:
            buf = self._queue.popleft()
            self._addrs[buf.index] = None
            self.pool.release(buf)

    # -- receiver thread ----------------------------------------------------------

    def _run_thread(self) -> None:
        pool, sock, queue = self.pool, self.sock, self._queue
        loop = self._loop
        assert loop is not None
        scratch = memoryview(bytearray(pool.size))
        buf: PooledBuffer | None = None
        try:
            while not self._stop.is_set():
                if buf is None:
                    buf = pool.acquire()
                try:
                    nbytes, addr = sock.recvfrom_into(scratch if buf is None else buf.view)
                except OSError as exc:
                    if self._stop.is_set() or sock.fileno() < 0:
                        return
                    self.errors += 1
                    self._err_log.log("udp %s: receive error: %s", self.name, exc)
                    continue
                if self._stop.is_set():
                    return
                if buf is None:
                    # The pool was empty when this receive began; it may not be any more.
                    buf = pool.acquire()
                    if buf is None:
                        self.dropped += 1
                        continue
                    buf.view[:nbytes] = scratch[:nbytes]
                self._nbytes[buf.index] = nbytes
                self._addrs[buf.index] = addr
                queue.append(buf)
                buf = None
                if not self._scheduled:
                    self._scheduled = True
                    try:
                        loop.call_soon_threadsafe(self._drain_queue)
                    except RuntimeError:  # the loop is closed
                        return
        finally:
            if buf is not None:
                pool.release(buf)

    def _wake_thread(self) -> None:
        """Send an empty datagram to our own socket so a blocked ``recvfrom_into`` returns."""
        try:
            host, port = self.sock.getsockname()[:2]
        except OSError:
            return
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        with (
            contextlib.suppress(OSError),
            socket.socket(self.sock.family, socket.SOCK_DGRAM) as waker,
        ):
            waker.sendto(b"", (host, port))


def _bind(address: tuple[str, int]) -> socket.socket:
    host, port = address
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock
