"""Receive-path benchmark: TCP framing and UDP train status, ours against plain asyncio.

``python -m bench comms [--quick] [--tcp-frames N] [--udp-datagrams M] [--rounds R] ...``

Everything runs in this one process over loopback addresses, each variant fed
the same bytes; every figure is the median of ``--rounds`` rounds.

TCP
    A writer thread (a blocking socket, so it barely holds the GIL) sends N
    frames of 64 bytes (payload 36) as fast as the kernel takes them; the clock
    runs from the writer's start to the N-th frame delivered as a ``Frame`` to a
    counting callback. Variants: ours (``FramedProtocol``: ring + in-place
    framer), the baseline (asyncio streams: ``readexactly(24)`` for the header,
    ``parse_header``, ``readexactly(rest)``, the same CRC check, a ``Frame``),
    and, for reference, today's link path (``asyncio.Protocol`` + ``FrameDecoder``).

UDP
    Bursts of ``--burst`` 48-byte datagrams (bounded so they always fit the
    socket's receive buffer: nothing is lost unless the kernel drops, and losses
    are counted and printed). Drain mode, the headline: the burst is sent while
    the loop is busy, then the clock measures how long the receiver takes to
    decode it all (the receive path alone). Burst mode: a sender process (like
    the simulator) is told to send the burst, and the clock runs from that
    order to the last delivery, with the receiver reading while datagrams
    arrive; this also measures the thread strategy. Baseline:
    ``asyncio.DatagramProtocol`` decoding each ``bytes`` datagram.

MAC on (``docs/security.md``)
    The same TCP and UDP drain rounds with every frame and datagram tagged
    (HMAC-SHA256, 16 bytes) and every tag checked on arrival, by ours and by the
    baseline alike (``*_mac_*`` figures): the cost of link protection on the
    receive path, and whether the ratios hold with it on. TCP frames are then
    80 bytes (the same 36-byte payload and a tag), datagrams 64.

Buffer allocations (tracemalloc)
    After a warm-up, tracing starts and a window of datagrams is received. For
    every datagram the object holding its bytes when they reach the decoder
    (for ours the memoryview's backing object, for the baseline the ``bytes``)
    is looked up with ``tracemalloc.get_object_traceback``: a traceback means
    that buffer was allocated inside the window, i.e. for this datagram.
    ``*_buffer_allocs_per_datagram`` is that count over the datagrams (the
    baseline is the control: 1.0). ``udp_retained_blocks`` is the number of
    memory blocks allocated in the window by a line of ``app/comms/`` and still
    alive at its end (growth or leaks would scale with the window; a handful
    of current counter values and queue blocks do not).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import app.comms.udp as udp_module
from app.comms.tcp import FramedProtocol
from app.comms.udp import UdpStatusReceiver, status_pool
from app.protocol.frames import (
    FRAME_OVERHEAD,
    HEADER_SIZE,
    TRAILER,
    TRAILER_SIZE,
    Frame,
    FrameDecoder,
    MessageType,
    NeedData,
    check_crc,
    encode_frame,
    frame_header,
    header_of,
    message_type,
    parse_header,
    seal,
)
from app.protocol.security import MacKey, frame_tag, tags_equal
from app.protocol.udp import TrainStatus, decode_train_status, encode_train_status

LOOPBACK = "127.0.0.1"
FRAME_SIZE = 64
PAYLOAD_SIZE = FRAME_SIZE - FRAME_OVERHEAD  # 36
RCVBUF = 4 << 20  # asked for; the kernel may cap it (see the printed configuration)


@dataclass(frozen=True, slots=True)
class Options:
    tcp_frames: int
    udp_datagrams: int
    burst: int
    rounds: int
    alloc_datagrams: int
    quick: bool


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench comms", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run (< 20 s)")
    p.add_argument("--tcp-frames", type=int, help="64-byte frames per TCP round (400000)")
    p.add_argument("--udp-datagrams", type=int, help="datagrams per UDP round (200000)")
    p.add_argument("--burst", type=int, help="datagrams per UDP burst (4000)")
    p.add_argument("--rounds", type=int, help="rounds per variant; the median is kept (5)")
    p.add_argument("--alloc-datagrams", type=int, help="tracemalloc window (20000)")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    return Options(
        tcp_frames=a.tcp_frames or (30_000 if quick else 400_000),
        udp_datagrams=a.udp_datagrams or (12_000 if quick else 200_000),
        burst=a.burst or (2_000 if quick else 4_000),
        rounds=a.rounds or (3 if quick else 5),
        alloc_datagrams=a.alloc_datagrams or (4_000 if quick else 20_000),
        quick=quick,
    )


# -- TCP ----------------------------------------------------------------------------

TcpKind = Literal["ours", "streams", "decoder"]


MAC_KEY = MacKey(bytes(range(32)))
TAG_SIZE = 16


def tcp_stream(n: int, mac: bool = False) -> bytes:
    out = bytearray()
    for i in range(n):
        payload = (b'{"tick":%d}' % i).ljust(PAYLOAD_SIZE)
        if mac:
            head = frame_header(
                MessageType.DELTA, i & 0xFFFFFFFF, len(payload), timestamp_ms=i, tag_len=TAG_SIZE
            )
            out += seal(head, payload, frame_tag(MAC_KEY, head, payload))
        else:
            out += encode_frame(MessageType.DELTA, i & 0xFFFFFFFF, payload, timestamp_ms=i)
    assert len(out) == (FRAME_SIZE + (TAG_SIZE if mac else 0)) * n
    return bytes(out)


class Writer(threading.Thread):
    """Connects, waits for ``go``, then sends everything with a blocking socket."""

    def __init__(self, port: int, data: bytes) -> None:
        super().__init__(name="bench-writer", daemon=True)
        self.port = port
        self.data = data
        self.connected = threading.Event()
        self.go = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with socket.create_connection((LOOPBACK, self.port)) as sock:
                self.connected.set()
                self.go.wait()
                sock.sendall(self.data)
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):  # until the reader closes
                    pass
        except OSError as exc:
            self.error = exc
            self.connected.set()


class DecoderProtocol(asyncio.Protocol):
    """Today's link path: bytes per read, appended to FrameDecoder's bytearray."""

    def __init__(self, on_frame: Callable[[Frame], None]) -> None:
        self.decoder = FrameDecoder()
        self.on_frame = on_frame

    def data_received(self, data: bytes) -> None:
        self.decoder.receive_data(data)
        while not isinstance(frame := self.decoder.next_event(), NeedData):
            self.on_frame(frame)


async def tcp_round(kind: TcpKind, data: bytes, n: int, mac: bool = False) -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    count = 0

    def on_frame(frame: Frame) -> None:
        nonlocal count
        if mac and not tags_equal(
            frame_tag(MAC_KEY, header_of(frame), frame.payload), frame.tag
        ):  # what Connection.accept checks on a protected link
            raise AssertionError("tag mismatch")
        count += 1
        if count == n:
            done.set_result(time.perf_counter())

    async def streams_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while count < n:
                head = await reader.readexactly(HEADER_SIZE)
                h = parse_header(head)
                if isinstance(h, NeedData):  # pragma: no cover - 24 bytes were read
                    raise AssertionError
                rest = await reader.readexactly(h.length + h.tag_len + TRAILER_SIZE)
                body = len(rest) - TRAILER_SIZE
                with memoryview(rest) as view:
                    crc = zlib.crc32(view[:body], zlib.crc32(head))
                check_crc(TRAILER.unpack_from(rest, body)[0], crc)
                on_frame(
                    Frame(
                        message_type(h.type),
                        h.seq,
                        rest[: h.length],
                        h.timestamp_ms,
                        h.flags,
                        rest[h.length : body],
                        head
                        if h.tag_len
                        else b"",  # as read: what a tag covers (ours keeps it too)
                    )
                )
        finally:
            writer.close()

    server: asyncio.Server
    if kind == "ours":
        server = await loop.create_server(lambda: FramedProtocol(on_frame), LOOPBACK, 0)
    elif kind == "decoder":
        server = await loop.create_server(lambda: DecoderProtocol(on_frame), LOOPBACK, 0)
    else:
        server = await asyncio.start_server(streams_handler, LOOPBACK, 0)
    writer = Writer(server.sockets[0].getsockname()[1], data)
    writer.start()
    await asyncio.to_thread(writer.connected.wait)
    await asyncio.sleep(0.05)  # the server side has accepted
    t0 = time.perf_counter()
    writer.go.set()
    t1 = await asyncio.wait_for(done, 120)
    server.close()
    for transport_owner in list(getattr(server, "_transports", ())):  # pragma: no cover
        transport_owner.close()
    await asyncio.to_thread(writer.join, 10)
    await server.wait_closed()
    if writer.error is not None:
        raise writer.error
    return n / (t1 - t0)


# -- UDP ----------------------------------------------------------------------------

UdpKind = Literal["reader", "thread", "baseline"]
DRAIN_KINDS: tuple[UdpKind, ...] = ("reader", "baseline")
ALL_KINDS: tuple[UdpKind, ...] = ("reader", "thread", "baseline")


def udp_datagrams(n: int, key: MacKey | None = None) -> list[bytes]:
    return [
        encode_train_status(
            TrainStatus(
                i, 1_700_000_000_000 + i, i % 40, f"T{i % 40:03d}", 7, i % 90_000, 600, 0, 2, 1
            ),
            key,
        )
        for i in range(n)
    ]


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.bind((LOOPBACK, 0))
    return sock


class Counter:
    """Counts deliveries; a future completes when the count reaches the target."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.reached: asyncio.Future[None] | None = None

    def __call__(self, status: TrainStatus) -> None:
        self.count += 1
        if self.count == self.target and self.reached is not None:
            self.reached.set_result(None)

    async def wait_for(self, target: int) -> int:
        """Wait until ``target`` deliveries; return how many were missing when progress stopped."""
        self.target = target
        while self.count < target:
            self.reached = asyncio.get_running_loop().create_future()
            before = self.count
            try:
                await asyncio.wait_for(self.reached, 1.0)
            except TimeoutError:
                if self.count == before:
                    return target - self.count
        return 0


class BaselineProtocol(asyncio.DatagramProtocol):
    def __init__(self, on_status: Callable[[TrainStatus], None], key: MacKey | None = None) -> None:
        self.on_status = on_status
        self.key = key
        self.bad = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            status = decode(data, None, self.key)
        except Exception:
            self.bad += 1
            return
        self.on_status(status)


Decoder = Callable[[bytes | bytearray | memoryview, int | None, MacKey | None], TrainStatus]


def decode(
    data: bytes | bytearray | memoryview, length: int | None = None, key: MacKey | None = None
) -> TrainStatus:
    """The baseline's decoder: ``decode_train_status`` unless the allocation probe wraps it."""
    return _decoder[0](data, length, key)


_decoder: list[Decoder] = [decode_train_status]


@contextlib.contextmanager
def probing(probe: Decoder) -> Iterator[None]:
    """Route both receivers' decoding through ``probe`` (ours: the module global it calls)."""
    original = _decoder[0]
    setattr(udp_module, "decode_train_status", probe)  # noqa: B010 - the receiver's lookup
    _decoder[0] = probe
    try:
        yield
    finally:
        setattr(udp_module, "decode_train_status", original)  # noqa: B010
        _decoder[0] = original


class Receiver:
    """One of the three UDP receivers behind one shape."""

    def __init__(
        self, kind: UdpKind, counter: Counter, pool_count: int, key: MacKey | None = None
    ) -> None:
        self.kind = kind
        self.key = key
        self.sock = udp_socket()
        self.address = self.sock.getsockname()
        self.rx: UdpStatusReceiver | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.counter = counter
        self.pool_count = pool_count

    async def start(self) -> None:
        if self.kind == "baseline":
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: BaselineProtocol(self.counter, self.key), sock=self.sock
            )
            self.transport = transport
        else:
            pool = status_pool(self.pool_count)
            self.rx = UdpStatusReceiver(self.sock, pool, self.counter, strategy=self.kind)
            self.rx.key = self.key
            self.rx.start()

    def close(self) -> dict[str, int]:
        if self.rx is not None:
            self.rx.close()
            assert self.rx.pool.in_use == 0, "buffers not returned"
            return {"bad": self.rx.bad, "dropped": self.rx.dropped, "errors": self.rx.errors}
        if self.transport is not None:
            self.transport.close()
        return {}


class SenderProcess:
    """A child process that sends a burst of datagrams each time it is told to."""

    def __init__(self, burst: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.comms", "--udp-sender", str(burst)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("the UDP sender process did not start")

    def order(self, address: tuple[str, int], n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{address[0]} {address[1]} {n}\n".encode())
        self.proc.stdin.flush()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def sender_main(burst: int) -> int:
    """The sender process: for each "host port n" line on stdin, send n datagrams."""
    batch = udp_datagrams(burst)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        print("ready", flush=True)
        for line in sys.stdin:
            host, port, n = line.split()
            if host != LOOPBACK:
                raise SystemExit(f"refusing to send to {host}: loopback only")
            address = (host, int(port))
            for datagram in batch[: int(n)]:
                tx.sendto(datagram, address)
    return 0


async def udp_run(
    kind: UdpKind,
    mode: Literal["drain", "burst"],
    batch: list[bytes],
    total: int,
    sender: SenderProcess | None = None,
    key: MacKey | None = None,
) -> tuple[float, int]:
    """Datagrams per second and how many were lost, for ``total`` datagrams in bursts."""
    counter = Counter()
    # The thread reads while the loop is still sending: enough buffers for a whole burst.
    rx = Receiver(kind, counter, len(batch) + 64 if kind == "thread" else 64, key)
    await rx.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    elapsed = 0.0
    lost = 0
    sent = 0
    try:
        while sent < total:
            burst = batch[: min(len(batch), total - sent)]
            target = counter.count + len(burst)
            if mode == "drain":
                for datagram in burst:  # while the loop is busy here, nothing is read
                    tx.sendto(datagram, rx.address)
                t0 = time.perf_counter()
            else:
                assert sender is not None
                t0 = time.perf_counter()
                sender.order(rx.address, len(burst))
            missing = await counter.wait_for(target)
            elapsed += time.perf_counter() - t0
            lost += missing
            if missing:
                counter.count = target
            sent += len(burst)
    finally:
        tx.close()
        rx.close()
    return (total - lost) / elapsed, lost


async def udp_allocs(kind: UdpKind, batch: list[bytes], window: int) -> tuple[float, int]:
    """Fresh receive buffers per datagram, and app/comms blocks alive after the window."""
    counter = Counter()
    rx = Receiver(kind, counter, len(batch) + 64 if kind == "thread" else 64)
    await rx.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seen = fresh = 0
    tracing = False
    original = decode_train_status

    def probe(
        data: bytes | bytearray | memoryview, length: int | None = None, key: MacKey | None = None
    ) -> TrainStatus:
        nonlocal seen, fresh
        if tracing:
            holder = data.obj if isinstance(data, memoryview) else data
            seen += 1
            if tracemalloc.get_object_traceback(holder) is not None:
                fresh += 1
        return original(data, length, key)

    async def send(n: int) -> None:
        done = 0
        while done < n:
            burst = batch[: min(len(batch), n - done)]
            target = counter.count + len(burst)
            for datagram in burst:
                tx.sendto(datagram, rx.address)
            await counter.wait_for(target)
            done += len(burst)

    try:
        with probing(probe):
            await send(2 * len(batch))  # warm-up: first-use allocations are not steady state
            tracemalloc.start(1)
            tracing = True
            await send(window)
            tracing = False
            snapshot = tracemalloc.take_snapshot()
            tracemalloc.stop()
    finally:
        tx.close()
        rx.close()
    ours = snapshot.filter_traces([tracemalloc.Filter(True, "*/app/comms/*.py")])
    return fresh / max(seen, 1), len(ours.traces)


# -- driver -------------------------------------------------------------------------


def median_of(samples: list[float]) -> float:
    return statistics.median(samples)


async def measure(opts: Options, say: Callable[[str], None]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    say(f"encoding {opts.tcp_frames} TCP frames and {opts.burst} UDP datagrams ...")
    stream = tcp_stream(opts.tcp_frames)
    batch = udp_datagrams(opts.burst)

    tcp: dict[TcpKind, list[float]] = {"ours": [], "streams": [], "decoder": []}
    for r in range(opts.rounds):
        for kind, rates in tcp.items():
            rates.append(await tcp_round(kind, stream, opts.tcp_frames))
        say(
            f"tcp round {r + 1}/{opts.rounds}: "
            + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in tcp.items())
        )
    results["tcp_frames_per_s"] = median_of(tcp["ours"])
    results["tcp_baseline_frames_per_s"] = median_of(tcp["streams"])
    results["tcp_decoder_frames_per_s"] = median_of(tcp["decoder"])
    results["tcp_ratio"] = results["tcp_frames_per_s"] / results["tcp_baseline_frames_per_s"]

    # The same with every frame tagged and its tag checked, ours and the baseline alike.
    mac_stream = tcp_stream(opts.tcp_frames, mac=True)
    tcp_mac: dict[TcpKind, list[float]] = {"ours": [], "streams": []}
    for r in range(opts.rounds):
        for kind, rates in tcp_mac.items():
            rates.append(await tcp_round(kind, mac_stream, opts.tcp_frames, mac=True))
        say(
            f"tcp MAC round {r + 1}/{opts.rounds}: "
            + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in tcp_mac.items())
        )
    results["tcp_mac_frames_per_s"] = median_of(tcp_mac["ours"])
    results["tcp_mac_baseline_frames_per_s"] = median_of(tcp_mac["streams"])
    results["tcp_mac_ratio"] = (
        results["tcp_mac_frames_per_s"] / results["tcp_mac_baseline_frames_per_s"]
    )
    results["tcp_mac_cost"] = 1 - results["tcp_mac_frames_per_s"] / results["tcp_frames_per_s"]

    drain: dict[str, list[float]] = {"reader": [], "baseline": []}
    burst: dict[str, list[float]] = {"reader": [], "thread": [], "baseline": []}
    lost: dict[str, int] = {}
    sender = SenderProcess(opts.burst)
    for r in range(opts.rounds):
        for udp_kind in DRAIN_KINDS:
            rate, n_lost = await udp_run(udp_kind, "drain", batch, opts.udp_datagrams)
            drain[udp_kind].append(rate)
            lost[f"drain_{udp_kind}"] = lost.get(f"drain_{udp_kind}", 0) + n_lost
        for udp_kind in ALL_KINDS:
            rate, n_lost = await udp_run(udp_kind, "burst", batch, opts.udp_datagrams, sender)
            burst[udp_kind].append(rate)
            lost[f"burst_{udp_kind}"] = lost.get(f"burst_{udp_kind}", 0) + n_lost
        say(
            f"udp round {r + 1}/{opts.rounds}: drain "
            + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in drain.items())
            + "; burst "
            + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in burst.items())
        )
    sender.close()
    mac_batch = udp_datagrams(opts.burst, MAC_KEY)
    drain_mac: dict[str, list[float]] = {"reader": [], "baseline": []}
    for r in range(opts.rounds):
        for udp_kind in DRAIN_KINDS:
            rate, n_lost = await udp_run(
                udp_kind, "drain", mac_batch, opts.udp_datagrams, key=MAC_KEY
            )
            drain_mac[udp_kind].append(rate)
            lost[f"mac_{udp_kind}"] = lost.get(f"mac_{udp_kind}", 0) + n_lost
        say(
            f"udp MAC round {r + 1}/{opts.rounds}: drain "
            + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in drain_mac.items())
        )
    results["udp_mac_datagrams_per_s"] = median_of(drain_mac["reader"])
    results["udp_mac_baseline_datagrams_per_s"] = median_of(drain_mac["baseline"])
    results["udp_mac_ratio"] = (
        results["udp_mac_datagrams_per_s"] / results["udp_mac_baseline_datagrams_per_s"]
    )
    results["udp_datagrams_per_s"] = median_of(drain["reader"])
    results["udp_baseline_datagrams_per_s"] = median_of(drain["baseline"])
    results["udp_ratio"] = results["udp_datagrams_per_s"] / results["udp_baseline_datagrams_per_s"]
    results["udp_burst_datagrams_per_s"] = median_of(burst["reader"])
    results["udp_thread_burst_datagrams_per_s"] = median_of(burst["thread"])
    results["udp_baseline_burst_datagrams_per_s"] = median_of(burst["baseline"])
    results["udp_mac_cost"] = (
        1 - results["udp_mac_datagrams_per_s"] / results["udp_datagrams_per_s"]
    )
    results["udp_lost"] = (
        lost["drain_reader"] + lost["burst_reader"] + lost["burst_thread"] + lost["mac_reader"]
    )
    results["udp_baseline_lost"] = (
        lost["drain_baseline"] + lost["burst_baseline"] + lost["mac_baseline"]
    )

    say(f"tracemalloc window of {opts.alloc_datagrams} datagrams per receiver ...")
    allocs: dict[str, tuple[float, int]] = {}
    for udp_kind in ALL_KINDS:
        allocs[udp_kind] = await udp_allocs(udp_kind, batch, opts.alloc_datagrams)
    results["udp_buffer_allocs_per_datagram"] = allocs["reader"][0]
    results["udp_thread_buffer_allocs_per_datagram"] = allocs["thread"][0]
    results["udp_baseline_buffer_allocs_per_datagram"] = allocs["baseline"][0]
    results["udp_retained_blocks"] = max(allocs["reader"][1], allocs["thread"][1])
    return results


def table(res: dict[str, Any]) -> str:
    rows = [
        (
            "TCP 64-byte frames/s (vs asyncio streams)",
            "tcp_frames_per_s",
            "tcp_baseline_frames_per_s",
        ),
        ("TCP 64-byte frames/s (vs FrameDecoder)", "tcp_frames_per_s", "tcp_decoder_frames_per_s"),
        (
            "TCP 80-byte frames/s, MAC checked (vs streams)",
            "tcp_mac_frames_per_s",
            "tcp_mac_baseline_frames_per_s",
        ),
        (
            "UDP datagrams/s, drain (add_reader)",
            "udp_datagrams_per_s",
            "udp_baseline_datagrams_per_s",
        ),
        (
            "UDP datagrams/s, drain, MAC checked (add_reader)",
            "udp_mac_datagrams_per_s",
            "udp_mac_baseline_datagrams_per_s",
        ),
        (
            "UDP datagrams/s, burst (add_reader)",
            "udp_burst_datagrams_per_s",
            "udp_baseline_burst_datagrams_per_s",
        ),
        (
            "UDP datagrams/s, burst (thread)",
            "udp_thread_burst_datagrams_per_s",
            "udp_baseline_burst_datagrams_per_s",
        ),
        (
            "UDP receive buffers allocated/datagram (add_reader)",
            "udp_buffer_allocs_per_datagram",
            "udp_baseline_buffer_allocs_per_datagram",
        ),
        (
            "UDP receive buffers allocated/datagram (thread)",
            "udp_thread_buffer_allocs_per_datagram",
            "udp_baseline_buffer_allocs_per_datagram",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    out = [f"{'':{width}}  {'ours':>12}  {'baseline':>12}  {'ratio':>6}"]
    for label, ours_key, base_key in rows:
        ours, base = float(res[ours_key]), float(res[base_key])
        if "allocated" in label:
            out.append(f"{label:{width}}  {ours:>12.4f}  {base:>12.4f}  {'':>6}")
        else:
            out.append(f"{label:{width}}  {ours:>12,.0f}  {base:>12,.0f}  {ours / base:>6.2f}")
    out.append(
        f"MAC cost on our receive path: TCP {res['tcp_mac_cost']:.1%}, "
        f"UDP {res['udp_mac_cost']:.1%} fewer per second"
    )
    out.append(
        f"UDP lost: ours {res['udp_lost']}, baseline {res['udp_baseline_lost']}; "
        f"app/comms blocks alive after the tracemalloc window: {res['udp_retained_blocks']}"
    )
    return "\n".join(out)


def run(argv: list[str]) -> dict[str, Any]:
    """The ``comms`` benchmark: prints the table, returns the figures (see the module doc)."""
    opts = parse_args(argv)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    probe = udp_socket()
    rcvbuf = probe.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    probe.close()
    started = time.perf_counter()
    coro: Coroutine[Any, Any, dict[str, Any]] = measure(opts, say)
    res = asyncio.run(coro)
    res = {k: round(v, 6) if isinstance(v, float) else v for k, v in res.items()}
    res["config"] = {
        "tcp_frames": opts.tcp_frames,
        "frame_size": FRAME_SIZE,
        "udp_datagrams": opts.udp_datagrams,
        "udp_burst": opts.burst,
        "udp_rcvbuf": rcvbuf,
        "rounds": opts.rounds,
        "alloc_datagrams": opts.alloc_datagrams,
        "quick": opts.quick,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(
        f"comms receive paths, loopback, Python {platform.python_version()} on {sys.platform}, "
        f"median of {opts.rounds} rounds"
    )
    print(table(res))
    # Failover against the heartbeat timeout, with real simulator processes.
    from bench import failover

    res.update(failover.run(["--rounds", "1" if opts.quick else "3"]))
    return res


# The decoder the probe replaces must be the one the receiver calls.
assert getattr(udp_module, "decode_train_status") is decode_train_status  # noqa: B009

if __name__ == "__main__":
    if sys.argv[1:2] != ["--udp-sender"]:
        raise SystemExit("usage: python -m bench comms ...")
    sys.exit(sender_main(int(sys.argv[2])))
