"""A link facing peers that misbehave: garbage, a trickle, a peer that never reads.

The peers are small asyncio servers on loopback in the test's own process; the
link under test is the real one. Whatever the peer does, the link must end in
a known state, say why, and never let an exception escape to the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from app.comms.link import LinkDown, LinkHandler, LinkState, LinkTimings, ServerLink
from app.model.commands import Command, CommandOp
from app.model.state import SectionState, StateSnapshot
from app.model.topology import Line
from app.protocol.connection import Connection
from app.protocol.frames import NeedData
from app.protocol.messages import Heartbeat, Hello, SnapshotRequest
from app.session import DispatcherSession, Endpoint

pytestmark = pytest.mark.integration

FAST = LinkTimings(heartbeat_s=0.2, missed=3, reconnect_min_s=0.1, reconnect_max_s=0.3)
Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Recorder(LinkHandler):
    def __init__(self) -> None:
        self.states: list[LinkState] = []

    def link_state(self, link: ServerLink) -> None:
        self.states.append(link.state)


def master_hello(line: Line) -> Hello:
    return Hello("P", "master", line.id, line.digest(), epoch=1)


@contextlib.asynccontextmanager
async def serving(peer: Peer) -> AsyncIterator[int]:
    """``peer`` as a loopback server (its port); every connection it accepted is closed
    at the end, and no exception may have escaped to the event loop meanwhile."""
    loop = asyncio.get_running_loop()
    escaped: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: escaped.append(ctx))
    handlers: set[asyncio.Task[None]] = set()
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        writers.append(writer)
        try:
            await peer(reader, writer)
        except (OSError, asyncio.CancelledError):
            pass

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()
        await asyncio.sleep(0)
    assert escaped == [], escaped


async def with_peer(
    peer: Peer,
    body: Callable[[ServerLink, Recorder], Awaitable[None]],
    expect_line: tuple[str, str] | None = None,
) -> None:
    async with serving(peer) as port:
        rec = Recorder()
        link = ServerLink(
            "T",
            "P",
            "127.0.0.1",
            port,
            lambda u: Hello("WS", "dispatcher", "x", "y"),
            rec,
            FAST,
            udp=False,
            expect_line=expect_line,
        )
        link.start()
        try:
            await body(link, rec)
        finally:
            await link.aclose()


def test_garbage_is_counted_and_the_link_recovers_by_reconnecting() -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(os.urandom(64) + b"MH" + os.urandom(300))
        await writer.drain()
        await asyncio.sleep(5)

    async def body(link: ServerLink, rec: Recorder) -> None:
        async with asyncio.timeout(5):
            while link.reconnects < 2:
                await asyncio.sleep(0.02)
        assert link.bad_frames >= 2
        assert "bad frame" in link.last_error or "magic" in link.last_error
        assert LinkState.UP not in rec.states

    asyncio.run(with_peer(peer, body))


def test_a_peer_trickling_one_byte_at_a_time_is_declared_dead(demo_line: Line) -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = Connection().send(master_hello(demo_line))
        for byte in hello:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)  # 10 bytes/s: alive at the byte level, dead as a peer

    async def body(link: ServerLink, rec: Recorder) -> None:
        async with asyncio.timeout(5):
            while link.reconnects < 1:
                await asyncio.sleep(0.02)
        assert "heartbeat timeout" in link.last_error
        assert LinkState.UP not in rec.states

    asyncio.run(with_peer(peer, body))


def test_a_peer_that_never_reads_cannot_make_us_buffer_without_end(demo_line: Line) -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(Connection().send(master_hello(demo_line)))
        await writer.drain()
        writer.transport.pause_reading()  # type: ignore[attr-defined]
        await asyncio.sleep(10)

    async def body(link: ServerLink, rec: Recorder) -> None:
        async with asyncio.timeout(5):
            while not link.is_up():
                await asyncio.sleep(0.01)
        big = "x" * 4000
        sent = 0
        with pytest.raises(LinkDown):
            for i in range(100_000):
                link.send(Command(f"c{i}", "W1", CommandOp.THROW_NORMAL, big, "dispatcher"))
                sent += 1
        assert sent > 100  # it did write until the backlog limit, then refused
        assert "not reading" in link.last_error
        async with asyncio.timeout(5):
            while link.state in (LinkState.UP, LinkState.DRAINING):
                await asyncio.sleep(0.02)
        assert LinkState.DRAINING in rec.states

    asyncio.run(with_peer(peer, body))


def test_a_pending_request_fails_with_its_cause_when_the_peer_goes_silent(
    demo_line: Line,
) -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(Connection().send(master_hello(demo_line)))
        await writer.drain()
        await asyncio.sleep(10)  # never answers, never heartbeats

    async def body(link: ServerLink, rec: Recorder) -> None:
        async with asyncio.timeout(5):
            while not link.is_up():
                await asyncio.sleep(0.01)
        fut = link.request(Command("c1", "W1", CommandOp.THROW_NORMAL, "d", "dispatcher"))
        with pytest.raises(LinkDown) as info:
            await asyncio.wait_for(fut, 5)
        assert "heartbeat timeout" in str(info.value.__cause__)
        with pytest.raises(LinkDown):
            link.send(Command("c2", "W1", CommandOp.THROW_NORMAL, "d", "dispatcher"))

    asyncio.run(with_peer(peer, body))


def test_a_link_closed_while_its_connection_completes_stays_closed(demo_line: Line) -> None:
    """Issue 16, defect 2: ``close()`` landing in the loop iteration where the TCP
    connection completes. On Python 3.11 ``asyncio.wait_for`` then returned the
    connection to a task being cancelled, and the link fired ``connected`` in
    ``closed``: a RuntimeError at exit. A link closed by its owner stays closed, and
    the connection that came late is closed too."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        escaped: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, ctx: escaped.append(ctx))

        accepted: list[asyncio.StreamWriter] = []

        async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)
            await reader.read()
            writer.transport.abort()

        server = await asyncio.start_server(peer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        gate = asyncio.Event()
        made: list[asyncio.BaseTransport] = []
        real = loop.create_connection

        async def connect_then_wait(*args: Any, **kw: Any) -> Any:
            transport, protocol = await real(*args, **kw)
            made.append(transport)
            try:
                await gate.wait()
            except asyncio.CancelledError:
                transport.close()  # what create_connection itself does when cancelled
                raise
            return transport, protocol

        loop.create_connection = connect_then_wait  # type: ignore[method-assign]
        link = ServerLink(
            "T",
            "P",
            "127.0.0.1",
            port,
            lambda u: master_hello(demo_line),
            Recorder(),
            FAST,
            udp=False,
        )
        link.start()
        try:
            async with asyncio.timeout(5):
                while not made:
                    await asyncio.sleep(0.005)
            gate.set()  # the connection completes in this iteration ...
            await link.aclose()  # ... and its owner closes the link in the same one
            await asyncio.sleep(0.05)
            assert link.state is LinkState.CLOSED
            assert made[0].is_closing()
            assert link.reconnects == 0
        finally:
            del loop.create_connection
            server.close()
            for writer in accepted:
                writer.transport.abort()
            await server.wait_closed()
            await asyncio.sleep(0.01)
        assert escaped == [], escaped

    asyncio.run(main())


def test_a_server_of_another_line_is_never_followed(demo_line: Line) -> None:
    """The workstation checked nothing of the server's HELLO but its role: a server of
    another line, or of another version of the line file, was followed."""

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(Connection().send(Hello("P", "master", "L9", "0123456789abcdef", epoch=1)))
        await writer.drain()
        await asyncio.sleep(5)

    async def body(link: ServerLink, rec: Recorder) -> None:
        async with asyncio.timeout(5):
            while link.reconnects < 1:
                await asyncio.sleep(0.02)
        assert LinkState.UP not in rec.states
        assert "serves line 'L9'" in link.last_error
        assert "the line files differ" in link.last_error

    asyncio.run(with_peer(peer, body, expect_line=(demo_line.id, demo_line.digest())))


def test_a_snapshot_naming_a_device_the_line_lacks_is_counted_not_raised(
    demo_line: Line,
) -> None:
    """It raised out of the receive path, and the connection died and came back into the
    same failure. Now it is counted and logged, nothing stale shows as current, and the
    session asks again a second later."""
    asked: list[str] = []

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection()
        writer.write(conn.send(master_hello(demo_line)))
        writer.write(conn.send(StateSnapshot(seq=1, sections=(SectionState("NOPE"),))))
        await writer.drain()
        while data := await reader.read(65536):
            conn.receive_data(data)
            while not isinstance(msg := conn.next_event(), NeedData):
                if isinstance(msg, SnapshotRequest):
                    asked.append(msg.reason)
                elif isinstance(msg, Heartbeat) and msg.ping_ms:  # alive, as a server is
                    writer.write(conn.send(Heartbeat(pong_ms=msg.ping_ms, role="master", epoch=1)))

    async def main() -> None:
        async with serving(peer) as port:
            session = DispatcherSession(
                demo_line,
                [Endpoint("P", "127.0.0.1", port, check_id=False)],
                node="WS",
                dispatcher="d",
                role="dispatcher",
                timings=FAST,
            )
            session.start()
            try:
                async with asyncio.timeout(5):
                    while not any("NOPE" in reason for reason in asked):
                        await asyncio.sleep(0.02)
                assert session.bad_records >= 1
                assert not session.state.synchronised
                assert session.links[0].is_up()  # the link stayed up
                assert session.links[0].reconnects == 0
            finally:
                await session.aclose()

    asyncio.run(main())
