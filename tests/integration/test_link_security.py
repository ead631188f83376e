"""EN 50159 attacks on a protected link, with real sockets against a real simulator.

A man-in-the-middle relay cuts the TCP stream into frames and replays, drops,
reorders, corrupts (CRC recomputed, so only the MAC can tell), delays or
injects them; forged datagrams go to the HMI's UDP port; peers without the key
connect directly. Each attack is shown refused and counted (docs/security.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from app.comms.link import LinkTimings
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import Command, CommandOp, Outcome
from app.model.topology import Line
from app.protocol.connection import Connection
from app.protocol.frames import HEADER_SIZE, MessageType, NeedData, encode_frame, parse_header
from app.protocol.messages import Hello
from app.protocol.security import IntegrityError, LinkKeys, LinkPolicy, Violation
from app.protocol.udp import TrainStatus, encode_train_status
from app.session import DispatcherSession, Endpoint
from tests.integration.journal import read_journal

KEYS = LinkKeys((("k1", secrets.token_bytes(32)),))

# What the relay does to each frame of one direction: the raw frame and its index in
# that direction (0 is the HELLO), to the frames to forward, each after a pause (s)
# that holds back everything behind it too (order is kept).
Tamper = Callable[[int, bytes], list[tuple[float, bytes]]]


def forward(_i: int, frame: bytes) -> list[tuple[float, bytes]]:
    return [(0.0, frame)]


def frame_type(frame: bytes) -> int:
    return frame[3]


def recrc(frame: bytearray) -> bytes:
    frame[-4:] = zlib.crc32(frame[:-4]).to_bytes(4, "big")
    return bytes(frame)


class FrameRelay:
    """A loopback relay that cuts each direction into whole frames and tampers with them."""

    def __init__(self, target: Endpoint) -> None:
        self.target = target
        self.to_hmi: Tamper = forward
        self.to_server: Tamper = forward
        self.inject_to_server: asyncio.Queue[bytes] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.endpoint: Endpoint | None = None
        self.sent_to_server = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> Endpoint:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.endpoint = Endpoint(self.target.server, "127.0.0.1", port)
        return self.endpoint

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection(self.target.host, self.target.port)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await asyncio.gather(
                self._pump(reader, up_w, lambda: self.to_server, True),
                self._pump(up_r, writer, lambda: self.to_hmi, False),
                self._injector(up_w),
            )
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()
            up_w.transport.abort()

    async def _injector(self, up_w: asyncio.StreamWriter) -> None:
        while True:
            up_w.write(await self.inject_to_server.get())

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        tamper: Callable[[], Tamper],
        upstream: bool,
    ) -> None:
        index = 0
        while True:
            head = await src.readexactly(HEADER_SIZE)
            h = parse_header(head)
            assert not isinstance(h, NeedData)
            frame = head + await src.readexactly(h.frame_size - HEADER_SIZE)
            for delay, out in tamper()(index, frame):
                if delay:
                    await asyncio.sleep(delay)
                dst.write(out)
                if upstream:
                    self.sent_to_server += 1
            index += 1

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()


@pytest.fixture(scope="module")
def sim(
    demo_line_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatorProcess]:
    journal = tmp_path_factory.mktemp("sec") / "journal.jsonl"
    proc = SimulatorProcess(
        demo_line_path,
        ["--journal", str(journal), "--max-age-ms", "1000"],
        link_keys=KEYS,
    )
    proc.start()
    yield proc
    proc.stop()


def journal(sim: SimulatorProcess) -> list[dict[str, object]]:
    path = Path(sim.args[sim.args.index("--journal") + 1])
    if not path.exists():
        return []
    return read_journal(path)


@contextlib.asynccontextmanager
async def protected_session(
    line: Line,
    endpoints: list[Endpoint],
    *,
    role: str = "dispatcher",
    policy: LinkPolicy | None = None,
    timings: LinkTimings | None = None,
) -> AsyncIterator[DispatcherSession]:
    s = DispatcherSession(
        line,
        endpoints,
        node=f"WS-{uuid.uuid4().hex[:6]}",
        dispatcher="sec",
        role=role,
        policy=policy or LinkPolicy(KEYS, max_age_ms=1000),
        timings=timings,
    )
    s.start()
    try:
        async with asyncio.timeout(15):
            await s.wait_synchronised()
        yield s
    finally:
        await s.aclose()


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


# -- the protected session works ------------------------------------------------------


def test_protected_session_synchronises_commands_and_takes_tagged_datagrams(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    async def body() -> None:
        async with protected_session(demo_line, sim.endpoints) as s:
            link = s.links[0]
            assert link.info().protected and link._conn.udp_key is not None
            await until(lambda: link.datagrams > 20)
            assert link.bad_datagrams == 0 and link.integrity.total == 0
            result = await s.command("W0101", CommandOp.THROW_REVERSE, zone="Z1", fencing_token=1)
            assert result.outcome is Outcome.EXECUTED, result
            assert "link_integrity" not in s.alarms

    run(body())


# -- each threat through the relay ------------------------------------------------------


def _server_to_hmi_attack(
    sim: SimulatorProcess,
    line: Line,
    tamper: Tamper,
    check: Callable[[DispatcherSession], bool],
    policy: LinkPolicy | None = None,
    timings: LinkTimings | None = None,
) -> DispatcherSession:
    holder: list[DispatcherSession] = []

    async def body() -> None:
        relay = FrameRelay(sim.endpoints[0])
        endpoint = await relay.start()
        try:
            async with protected_session(line, [endpoint], policy=policy, timings=timings) as s:
                holder.append(s)
                relay.to_hmi = tamper
                await until(lambda: check(s), 10)
        finally:
            await relay.close()

    run(body())
    return holder[0]


def only_at(n: int, action: Callable[[bytes], list[tuple[float, bytes]]]) -> Tamper:
    """Tamper with the first frame at index >= n that is a DELTA or HEARTBEAT; pass the rest."""
    state = {"done": False, "held": b""}

    def tamper(i: int, frame: bytes) -> list[tuple[float, bytes]]:
        if state["done"] or i < n or frame_type(frame) not in (MessageType.DELTA, 2):
            return [(0.0, frame)]
        state["done"] = True
        return action(frame)

    return tamper


def test_repetition_a_replayed_frame_is_dropped_and_counted(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    s = _server_to_hmi_attack(
        sim,
        demo_line,
        only_at(5, lambda f: [(0.0, f), (0.0, f)]),
        lambda s: s.links[0].integrity.by_kind.get("repeat", 0) == 1,
    )
    assert s.links[0].integrity.total == 1 and s.links[0].reconnects == 0


def test_deletion_a_dropped_frame_is_detected_and_counted(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    s = _server_to_hmi_attack(
        sim,
        demo_line,
        only_at(5, lambda f: []),
        lambda s: s.links[0].integrity.by_kind.get("gap", 0) == 1,
    )
    assert s.links[0].integrity.total == 1


def test_resequencing_two_swapped_frames_are_detected(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    held: list[bytes] = []

    def swap(i: int, frame: bytes) -> list[tuple[float, bytes]]:
        if i == 5:
            held.append(frame)
            return []
        if i == 6:
            return [(0.0, frame), (0.0, held[0])]
        return [(0.0, frame)]

    s = _server_to_hmi_attack(
        sim,
        demo_line,
        swap,
        lambda s: {"gap", "repeat"} <= s.links[0].integrity.by_kind.keys(),
    )
    assert s.links[0].integrity.by_kind == {"gap": 1, "repeat": 1}


def test_corruption_a_flipped_bit_with_a_good_crc_fails_the_mac(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    def flip(frame: bytes) -> list[tuple[float, bytes]]:
        b = bytearray(frame)
        b[HEADER_SIZE] ^= 0x01  # the payload's first byte
        return [(0.0, recrc(b))]

    s = _server_to_hmi_attack(
        sim, demo_line, only_at(5, flip), lambda s: s.links[0].integrity.by_kind.get("mac") == 1
    )
    assert s.links[0].bad_frames == 0  # the CRC passed: only the MAC caught it


def test_insertion_a_forged_frame_from_a_peer_without_the_key_is_dropped(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    def insert(frame: bytes) -> list[tuple[float, bytes]]:
        forged = encode_frame(MessageType.SNAPSHOT_REQUEST, 0, b'{"reason":"x"}', tag=bytes(16))
        return [(0.0, forged), (0.0, frame)]

    _server_to_hmi_attack(
        sim, demo_line, only_at(5, insert), lambda s: s.links[0].integrity.by_kind.get("mac") == 1
    )


def test_delay_past_the_maximum_age_trips_the_alarm_and_resyncs(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    stalled: list[int] = []

    def stall(i: int, frame: bytes) -> list[tuple[float, bytes]]:
        # Once, the stream stops for 1.6 s; the HMI's maximum age here is 0.3 s, so what
        # was sent in the first 1.3 s of the stall (heartbeats, answers to pings) arrives
        # too old. (The heartbeat timeout is 3 s here, so silence does not end it first.)
        if i == 5 and not stalled:
            stalled.append(i)
            return [(1.6, frame)]
        return [(0.0, frame)]

    alarms: list[str] = []

    def check(s: DispatcherSession) -> bool:
        if "link_integrity" in s.alarms and not alarms:
            alarms.append(s.alarms["link_integrity"].text)
        return bool(alarms) and s.links[0].reconnects >= 1 and s.state.synchronised

    policy = LinkPolicy(KEYS, max_age_ms=300)
    s = _server_to_hmi_attack(sim, demo_line, stall, check, policy, LinkTimings(missed=6))
    assert s.links[0].integrity.by_kind.get("late", 0) >= 1
    assert "resynchronised" in alarms[0] and "late" in alarms[0]


# -- masquerade and authorisation at the server ------------------------------------------


def _answer(endpoint: Endpoint, data: bytes) -> bytes:
    """Everything the server sends back to ``data`` before it closes."""
    got = b""
    with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(5)
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass
    return got


def _closed_without_answer(endpoint: Endpoint, data: bytes) -> bool:
    return _answer(endpoint, data) == b""


def _refusal(endpoint: Endpoint, conn: Connection, data: bytes) -> str:
    """The server's answer to a HELLO it refuses, as the client reads it (REFUSED)."""
    answer = _answer(endpoint, data)
    assert parse_header(answer[:HEADER_SIZE]).type == MessageType.REFUSED
    conn.receive_data(answer)
    with pytest.raises(IntegrityError) as refused:
        conn.next_event()
    assert refused.value.kind == "refused" and refused.value.fatal
    assert refused.value.where == "REFUSED.code"
    return refused.value.message


def test_a_peer_without_the_key_or_with_another_is_refused(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    """The server tells why, as a code (REFUSED, docs/protocol.md): the client says "the
    server refused the link key", not "connection closed by peer". A replay is not told."""
    hello = Hello("INTRUDER", "dispatcher", demo_line.id, demo_line.digest(), dispatcher="x")
    ep = sim.endpoints[0]
    bare = Connection()
    assert _refusal(ep, bare, bare.send(hello)) == "the server refused the link key"
    other = Connection(policy=LinkPolicy(LinkKeys((("k1", bytes(32)),))))
    assert _refusal(ep, other, other.send(hello)) == "the server refused the link key"
    unknown = Connection(policy=LinkPolicy(LinkKeys((("k9", bytes(32)),))))
    assert _refusal(ep, unknown, unknown.send(hello)) == "the server refused the link key"
    # A captured HELLO replayed: its nonce was seen, and no session follows anyway.
    good = Connection(policy=LinkPolicy(KEYS)).send(hello)
    with socket.create_connection((ep.host, ep.port), timeout=5) as first:
        first.sendall(good)
        assert first.recv(65536)[:2] == b"MH"
        assert _closed_without_answer(ep, good)


def test_a_workstation_with_the_wrong_key_is_told_the_server_refused_it(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    async def body() -> None:
        s = DispatcherSession(
            demo_line,
            sim.endpoints,
            node="WS-WRONG",
            dispatcher="sec",
            role="dispatcher",
            policy=LinkPolicy(LinkKeys((("k1", secrets.token_bytes(32)),))),
        )
        s.start()
        try:
            await until(lambda: "refused" in s.links[0].last_error)
            error = s.links[0].last_error
            assert error.startswith("the server refused the link key (127.0.0.1:"), error
            assert "closed by peer" not in error and s.links[0].bad_frames == 0
            shown = s.links[0].info()  # the views say it by its code, in their language
            assert (shown.cause, shown.cause_param) == ("refused", "link_key")
        finally:
            await s.aclose()

    run(body())


def test_a_hand_crafted_command_injected_into_a_session_is_dropped(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    async def body() -> None:
        relay = FrameRelay(sim.endpoints[0])
        endpoint = await relay.start()
        try:
            async with protected_session(demo_line, [endpoint]):
                before = len(journal(sim))
                cmd = Command(
                    uuid.uuid4().hex, "W0101", CommandOp.THROW_NORMAL, "sec", "dispatcher", "Z1"
                )
                conn = Connection()
                payload = conn.send(cmd)[HEADER_SIZE:-4]
                for tag in (b"", bytes(16)):
                    relay.inject_to_server.put_nowait(
                        encode_frame(MessageType.COMMAND, relay.sent_to_server, payload, tag=tag)
                    )
                await asyncio.sleep(0.5)
                assert len(journal(sim)) == before  # never reached the command decision
        finally:
            await relay.close()

    run(body())


async def assert_command_not_authorised(session: DispatcherSession, role: str) -> None:
    """A hand-made COMMAND claiming ``role``, straight onto an observer session's
    authenticated link (the HMI itself would refuse it): the server refuses it."""
    link = session.command_link()
    assert link is not None
    cmd = Command(uuid.uuid4().hex, "W0101", CommandOp.THROW_REVERSE, "sec", role, "Z1", "k", 9)
    async with asyncio.timeout(5):
        result = await link.request(cmd)
    assert (result.outcome, result.reason_code) == (Outcome.REFUSED, "not_authorised")
    assert "observer" in result.reason


def test_an_observer_session_is_refused_even_with_a_dispatcher_frame(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    async def body() -> None:
        async with protected_session(demo_line, sim.endpoints, role="observer") as s:
            for role in ("observer", "dispatcher", "supervisor"):
                await assert_command_not_authorised(s, role)

    run(body())


def test_a_command_naming_another_dispatcher_is_refused(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    async def body() -> None:
        async with protected_session(demo_line, sim.endpoints) as s:
            link = s.command_link()
            assert link is not None
            cmd = Command(
                uuid.uuid4().hex, "W0101", CommandOp.THROW_REVERSE, "boss", "supervisor", "Z1"
            )
            async with asyncio.timeout(5):
                result = await link.request(cmd)
            assert result.reason_code == "not_authorised" and "role" in result.reason

    run(body())


def test_forged_datagrams_are_refused_and_counted(sim: SimulatorProcess, demo_line: Line) -> None:
    async def body() -> None:
        async with protected_session(demo_line, sim.endpoints) as s:
            link = s.links[0]
            assert link._udp is not None
            target = link._udp.local_address[:2]
            fake = TrainStatus(2**31, 0, 1, "FAKE", 0, 0, 0, 0, 0, 0)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                tx.sendto(encode_train_status(fake), target)  # untagged
                tx.sendto(encode_train_status(fake, bytes(32)), target)  # another key
            await until(lambda: link.integrity.by_kind.get("unauthenticated", 0) == 1)
            await until(lambda: link.integrity.by_kind.get("mac", 0) == 1)
            assert all(t.number != "FAKE" for t in s.state.trains.values())

    run(body())


def test_an_observer_workstations_key_cannot_open_a_dispatcher_session(
    demo_line_path: Path, demo_line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    """Per-workstation keys with a highest role: an observer position's key makes
    observer sessions only, whatever its HELLO declares (docs/security.md)."""
    observer_key = ("obs-1", secrets.token_bytes(32))
    server_keys = LinkKeys((KEYS.primary, observer_key), (("obs-1", "observer"),))
    workstation = LinkPolicy(LinkKeys((observer_key,)), max_age_ms=1000)
    caplog.set_level(logging.DEBUG, logger="app.counterparts.sim.launcher")
    proc = SimulatorProcess(demo_line_path, link_keys=server_keys)
    proc.start()

    async def body() -> None:
        # Declaring dispatcher with the observer's key: refused at the handshake.
        s = DispatcherSession(
            demo_line,
            proc.endpoints,
            node="WS-OBS",
            dispatcher="d",
            role="dispatcher",
            policy=workstation,
        )
        s.start()
        try:
            await until(lambda: s.links[0].reconnects >= 1, 10, "a refused handshake")
            assert not s.state.synchronised and not s.links[0].is_up()
        finally:
            await s.aclose()
        await until(
            lambda: "integrity: role at HELLO.role" in caplog.text, 5, "the server's log line"
        )
        assert "key 'obs-1' allows at most 'observer'; the HELLO says 'dispatcher'" in caplog.text
        # Declaring observer with it: a session, which may watch but not command.
        async with protected_session(
            demo_line, proc.endpoints, role="observer", policy=workstation
        ) as obs:
            await assert_command_not_authorised(obs, "observer")
        # The server pair's own key (no highest role) still makes dispatcher sessions.
        async with protected_session(demo_line, proc.endpoints) as disp:
            assert disp.state.synchronised

    try:
        run(body())
    finally:
        proc.stop()


def test_an_unprotected_hmi_and_a_protected_server_do_not_talk(
    sim: SimulatorProcess, demo_line: Line
) -> None:
    async def body() -> None:
        s = DispatcherSession(demo_line, sim.endpoints, node="W", dispatcher="d", role="dispatcher")
        s.start()
        try:
            await until(lambda: s.links[0].reconnects >= 1, 10)
            assert not s.state.synchronised and not s.links[0].is_up()
        finally:
            await s.aclose()

    run(body())


def test_the_integrity_alarm_clears_once_every_link_is_quiet(demo_line: Line) -> None:
    async def body() -> None:
        policy = LinkPolicy(KEYS, threshold=2, window_ms=300)
        s = DispatcherSession(
            demo_line,
            [Endpoint("A", "127.0.0.1", 1)],
            node="W",
            dispatcher="d",
            role="dispatcher",
            policy=policy,
        )
        alarms: list[tuple[str, bool]] = []
        s.alarm.connect(lambda a: alarms.append((a.code, a.active)))
        s.start()
        try:
            link = s.links[0]
            bad = Violation("mac", "trailer.tag", "test")
            link._on_violation(bad)
            assert "link_integrity" not in s.alarms  # one is below the threshold
            link._on_violation(bad)
            assert alarms == [("link_integrity", True)]
            assert "2 failures" in s.alarms["link_integrity"].text
            await until(lambda: "link_integrity" not in s.alarms, 5)
            assert alarms[-1] == ("link_integrity", False)
            assert link.info().integrity_failures == 2
        finally:
            await s.aclose()

    run(body())
