"""UdpStatusReceiver, both strategies, against real loopback UDP sockets."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable, Coroutine
from typing import Any, cast

import pytest

from app.comms.pool import BufferPool
from app.comms.udp import SLOT_SIZE, Strategy, UdpStatusReceiver, status_pool
from app.protocol.udp import TrainStatus, encode_train_status

STRATEGIES: list[Strategy] = ["reader", "thread"]


def status(seq: int) -> TrainStatus:
    return TrainStatus(
        seq, 1_700_000_000_000 + seq, seq % 40, f"T{seq:03d}", 3, seq * 10, 500, 1, 2, 1
    )


def corrupt_crc(data: bytes) -> bytes:
    bad = bytearray(data)
    bad[20] ^= 0xFF
    return bytes(bad)


def bad_direction(seq: int) -> bytes:
    body = bytearray(encode_train_status(status(seq))[:44])
    body[34] = 9
    import zlib

    return bytes(body) + struct.pack(">I", zlib.crc32(body))


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coro())


@pytest.fixture
def sender() -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_good_and_bad_datagrams(
    strategy: Strategy, sender: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[TrainStatus] = []
    pool = status_pool(64, debug=True)  # the thread may read all before the loop decodes any

    async def main() -> None:
        rx = UdpStatusReceiver(
            ("127.0.0.1", 0),
            pool,
            got.append,
            strategy=strategy,
            name="t",
        )
        rx.start()
        assert rx.strategy == strategy
        addr = rx.local_address
        good = [status(i) for i in range(50)]
        bad = [
            b"",
            b"short",
            encode_train_status(status(1))[:-1],
            encode_train_status(status(2)) + b"x",  # 49 bytes
            b"y" * 100,  # larger than a pool slot: truncated, still refused
            corrupt_crc(encode_train_status(status(3))),
            bad_direction(4),
        ]
        for i, rec in enumerate(good):
            sender.sendto(encode_train_status(rec), addr)
            if i % 7 == 0:
                sender.sendto(bad[(i // 7) % len(bad)], addr)
        await wait_until(lambda: rx.received + rx.bad == len(good) + 8)
        assert got == good  # loopback keeps the order
        assert rx.bad == 8
        assert rx.dropped == rx.errors == rx.callback_errors == 0
        rx.close()
        assert pool.leaks() == []
        assert pool.in_use == 0
        assert pool.acquired == pool.released > 0
        if strategy == "thread":
            assert rx._thread is not None
            assert not rx._thread.is_alive()

    with caplog.at_level(logging.WARNING, logger="app.comms.udp"):
        run(main)
    # Logged with the sender's address, and rate-limited: one record for eight bad datagrams.
    records = [r for r in caplog.records if "bad datagram" in r.getMessage()]
    assert len(records) == 1
    assert "127.0.0.1" in records[0].getMessage()


def test_auto_uses_add_reader_on_a_selector_loop() -> None:
    async def main() -> None:
        rx = UdpStatusReceiver(("127.0.0.1", 0), status_pool(4), lambda s: None)
        rx.start()
        assert rx.strategy == "reader"
        rx.close()

    run(main)


class NoReaderLoop(asyncio.SelectorEventLoop):
    """Like the proactor loop (and qasync on Windows): no add_reader."""

    def add_reader(self, fd: Any, callback: Any, *args: Any) -> None:  # type: ignore[override]
        raise NotImplementedError


def test_auto_falls_back_to_the_thread_without_add_reader(sender: socket.socket) -> None:
    got: list[TrainStatus] = []

    async def main() -> None:
        rx = UdpStatusReceiver(("127.0.0.1", 0), status_pool(4), got.append)
        rx.start()
        assert rx.strategy == "thread"
        sender.sendto(encode_train_status(status(5)), rx.local_address)
        await wait_until(lambda: len(got) == 1)
        rx.close()
        assert rx.pool.in_use == 0

    loop = NoReaderLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert got == [status(5)]

    async def forced() -> None:
        rx = UdpStatusReceiver(("127.0.0.1", 0), status_pool(4), got.append, strategy="reader")
        try:
            with pytest.raises(NotImplementedError):
                rx.start()
        finally:
            rx.close()

    loop = NoReaderLoop()
    try:
        loop.run_until_complete(forced())
    finally:
        loop.close()


@pytest.mark.parametrize("wake", [True, False])
def test_thread_close_is_prompt(wake: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wake-up datagram frees the blocked thread; without it, shutdown does."""

    async def main() -> None:
        rx = UdpStatusReceiver(("127.0.0.1", 0), status_pool(4), lambda s: None, strategy="thread")
        if not wake:
            monkeypatch.setattr(rx, "_wake_thread", lambda: None)
        rx.start()
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        rx.close()
        assert time.monotonic() - t0 < 1.5
        assert rx._thread is not None and not rx._thread.is_alive()
        assert rx.pool.in_use == 0

    run(main)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_empty_pool_drops_and_counts(strategy: Strategy, sender: socket.socket) -> None:
    got: list[TrainStatus] = []
    pool = status_pool(2)

    async def main() -> None:
        held = [pool.acquire(), pool.acquire()]  # someone else holds every buffer
        rx = UdpStatusReceiver(("127.0.0.1", 0), pool, got.append, strategy=strategy)
        rx.start()
        for i in range(5):
            sender.sendto(encode_train_status(status(i)), rx.local_address)
        await wait_until(lambda: rx.dropped == 5)
        assert got == []
        for buf in held:
            assert buf is not None
            pool.release(buf)
        sender.sendto(encode_train_status(status(9)), rx.local_address)
        await wait_until(lambda: len(got) == 1)
        rx.close()
        assert pool.exhausted >= 1
        assert pool.in_use == 0

    run(main)
    assert got == [status(9)]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_failing_callback_is_logged_and_counted(
    strategy: Strategy, sender: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []

    def on_status(rec: TrainStatus) -> None:
        seen.append(rec.seq)
        if rec.seq == 1:
            raise ValueError("boom")

    async def main() -> None:
        rx = UdpStatusReceiver(("127.0.0.1", 0), status_pool(8), on_status, strategy=strategy)
        rx.start()
        for i in range(3):
            sender.sendto(encode_train_status(status(i)), rx.local_address)
        await wait_until(lambda: len(seen) == 3)
        assert rx.callback_errors == 1
        assert rx.received == 3
        rx.close()
        assert rx.pool.in_use == 0

    with caplog.at_level(logging.ERROR, logger="app.comms.udp"):
        run(main)
    assert seen == [0, 1, 2]
    assert any("callback failed" in r.getMessage() and r.exc_info for r in caplog.records)


class RecordingSocket:
    """A real socket that notes which memory every receive lands in."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.targets: list[object] = []
        self.other_receives = 0

    def recvfrom_into(self, buf: memoryview) -> tuple[int, Any]:
        self.targets.append(buf.obj)
        return self._sock.recvfrom_into(buf)

    def recvfrom(self, *args: Any) -> Any:  # pragma: no cover - must not be used
        self.other_receives += 1
        return self._sock.recvfrom(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_datagrams_land_in_pool_memory_only(sender: socket.socket) -> None:
    """No buffer per datagram: every receive goes into the pool's one preallocated bytearray."""
    got: list[TrainStatus] = []
    pool = BufferPool(8, SLOT_SIZE)
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(("127.0.0.1", 0))
    rec = RecordingSocket(raw)

    async def main() -> None:
        rx = UdpStatusReceiver(cast(socket.socket, rec), pool, got.append, strategy="reader")
        rx.start()
        for i in range(200):
            sender.sendto(encode_train_status(status(i)), raw.getsockname())
        await wait_until(lambda: len(got) == 200)
        rx.close()

    run(main)
    backing = pool._memory
    assert rec.targets
    assert all(t is backing for t in rec.targets)
    assert rec.other_receives == 0
    assert pool.in_use == 0
