"""FramedProtocol over a real loopback TCP connection."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from app.comms.tcp import FramedProtocol
from app.protocol.connection import Connection
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    HEADER_SIZE,
    MAX_FRAME_SIZE,
    MAX_PAYLOAD,
    Frame,
    MessageType,
    encode_frame,
)
from app.protocol.messages import Heartbeat, Message, SnapshotRequest

CHUNKS = (1, 7, 13, 64, 333, 1021, 2, 4093)


async def serve(payload: bytes, chunks: tuple[int, ...] = CHUNKS) -> tuple[asyncio.Server, int]:
    """A server that writes ``payload`` to each client in odd chunk sizes, then closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pos = 0
        for n in itertools.cycle(chunks):
            if pos >= len(payload):
                break
            writer.write(payload[pos : pos + n])
            pos += n
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def sample_frames(n: int) -> list[Frame]:
    return [
        Frame(MessageType.DELTA, i, b'{"n":%d,"pad":"%s"}' % (i, b"x" * (i * 37 % 700)), i * 3)
        for i in range(n)
    ]


def encode(f: Frame) -> bytes:
    return encode_frame(f.type, f.seq, f.payload, timestamp_ms=f.timestamp_ms)


def test_frames_arrive_whole_whatever_the_chunking() -> None:
    frames = sample_frames(300)
    got: list[Frame] = []
    events: list[Any] = []

    async def main() -> None:
        server, port = await serve(b"".join(encode(f) for f in frames))
        lost = asyncio.get_running_loop().create_future()
        # A small ring (just above the largest frame here) so frames wrap its end often.
        transport, proto = await asyncio.get_running_loop().create_connection(
            lambda: FramedProtocol(
                got.append,
                events.append,
                on_connection_made=lambda t: events.append("made"),
                on_connection_lost=lost.set_result,
                capacity=1024,
            ),
            "127.0.0.1",
            port,
        )
        assert await asyncio.wait_for(lost, 10) is None
        assert proto.frames_received == len(frames)
        assert proto.bytes_received == sum(len(encode(f)) for f in frames)
        assert proto.bad_frames == 0
        assert proto.ring.capacity == 1024
        transport.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert got == frames
    assert events == ["made"]


def test_a_bad_frame_stops_delivery_and_reports_once() -> None:
    good = sample_frames(5)
    bad = bytearray(encode(Frame(MessageType.DELTA, 5, b"{}")))
    bad[HEADER_SIZE] ^= 0x20
    stream = b"".join(encode(f) for f in good) + bytes(bad) + b"".join(map(encode, good))
    got: list[Frame] = []
    errors: list[RemoteProtocolError] = []

    async def main() -> None:
        server, port = await serve(stream)
        lost = asyncio.get_running_loop().create_future()
        transport, proto = await asyncio.get_running_loop().create_connection(
            lambda: FramedProtocol(
                got.append, errors.append, on_connection_lost=lost.set_result, capacity=2048
            ),
            "127.0.0.1",
            port,
        )
        await asyncio.wait_for(lost, 10)
        assert proto.bad_frames == 1
        assert proto.error is errors[0]
        assert proto.bytes_received == len(stream)  # the rest was read and thrown away
        transport.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert got == good
    assert [e.where for e in errors] == ["trailer.crc"]


def test_with_connection_accept_a_sequence_jump_is_a_bad_frame() -> None:
    """The link's use: frames cut by the ring go to Connection.accept."""
    server_side = Connection()
    msgs: list[Message] = [Heartbeat(node="a"), SnapshotRequest("x"), Heartbeat(node="b")]
    wire = b"".join(server_side.send(m) for m in msgs)
    # Skip one sequence number: the next frame is a jump.
    server_side.send(Heartbeat())
    wire += server_side.send(Heartbeat(node="after the jump"))
    client = Connection()
    got: list[Message] = []
    errors: list[RemoteProtocolError] = []

    def on_frame(frame: Frame) -> None:
        got.append(client.accept(frame))

    async def main() -> None:
        server, port = await serve(wire)
        lost = asyncio.get_running_loop().create_future()
        transport, proto = await asyncio.get_running_loop().create_connection(
            lambda: FramedProtocol(on_frame, errors.append, on_connection_lost=lost.set_result),
            "127.0.0.1",
            port,
        )
        await asyncio.wait_for(lost, 10)
        assert proto.bad_frames == 1
        transport.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert got == msgs
    assert [e.where for e in errors] == ["header.seq"]
    assert client.frames_received == 3


def test_default_capacity_takes_the_largest_frame() -> None:
    proto = FramedProtocol(lambda f: None)
    assert proto.ring.capacity >= MAX_FRAME_SIZE


@pytest.mark.parametrize("chunk", [4099, 65536])
def test_a_max_size_frame(chunk: int) -> None:
    big = Frame(MessageType.SNAPSHOT, 0, b"{" + b" " * (MAX_PAYLOAD - 2) + b"}")
    got: list[Frame] = []

    async def main() -> None:
        data = encode(big)
        server, port = await serve(data + data, (chunk,))
        lost = asyncio.get_running_loop().create_future()
        transport, _ = await asyncio.get_running_loop().create_connection(
            lambda: FramedProtocol(got.append, on_connection_lost=lost.set_result),
            "127.0.0.1",
            port,
        )
        await asyncio.wait_for(lost, 20)
        transport.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert got == [big, big]
