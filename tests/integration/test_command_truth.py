"""What the server does with a command's truth (issue 16): an answer a paused client can
still read, keys reused for another command, commands without a key or a token, tokens
no lock service issued, and when a train's state last changed.

A hand-made client speaks the protocol through the sans-I/O :class:`Connection` over a
plain loopback socket, so it can do what a real one would not: stop reading, send odd
fields. The server is the real simulator process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.control.redlock import Redlock, clients_for, close_clients
from app.counterparts.services import RedisProcess
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import Command, CommandOp, CommandResult, Outcome, lock_resource
from app.model.state import StateSnapshot
from app.model.topology import Line
from app.protocol.connection import Connection
from app.protocol.frames import NeedData
from app.protocol.messages import Hello, Message, SnapshotRequest
from tests.integration.journal import read_journal

pytestmark = pytest.mark.integration

SWITCH = "W0903"
M = TypeVar("M")


class RawClient:
    """One HMI session on a plain socket: HELLO, then whatever the test sends."""

    def __init__(self, sim: SimulatorProcess, line: Line, dispatcher: str = "d") -> None:
        ep = sim.endpoints[0]
        self.sock = socket.create_connection((ep.host, ep.port), timeout=5)
        self.conn = Connection()
        self.dispatcher = dispatcher
        self.sock.sendall(
            self.conn.send(
                Hello("WS-RAW", "dispatcher", line.id, line.digest(), dispatcher=dispatcher)
            )
        )
        self.snapshot = self.wait_for(StateSnapshot)

    def close(self) -> None:
        self.sock.close()

    def receive(self, timeout: float = 5.0) -> Message | None:
        """The next message; None at the end of the stream."""
        self.sock.settimeout(timeout)
        while True:
            event = self.conn.next_event()
            if not isinstance(event, NeedData):
                return event
            data = self.sock.recv(65536)
            if not data:
                return None
            self.conn.receive_data(data)

    def wait_for(self, kind: type[M], timeout: float = 5.0) -> M:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.receive(max(0.01, deadline - time.monotonic()))
            if msg is None:
                raise EOFError("the server closed the connection")
            if isinstance(msg, kind):
                return msg
        raise TimeoutError(f"no {kind.__name__} within {timeout} s")

    def receive_snapshot(self) -> StateSnapshot:
        """Ask for a snapshot and wait for it."""
        self.sock.sendall(self.conn.send(SnapshotRequest("test")))
        return self.wait_for(StateSnapshot)

    def send_command(self, device: str, op: CommandOp, **fields: Any) -> str:
        command_id = fields.pop("command_id", uuid.uuid4().hex)
        fields.setdefault("idempotency_key", uuid.uuid4().hex)
        fields.setdefault("fencing_token", 1)
        cmd = Command(command_id, device, op, self.dispatcher, "dispatcher", **fields)
        self.sock.sendall(self.conn.send(cmd))
        return command_id

    def command(self, device: str, op: CommandOp, **fields: Any) -> CommandResult:
        command_id = self.send_command(device, op, **fields)
        result = self.wait_for(CommandResult)
        assert result.command_id == command_id
        return result


@pytest.fixture
def raw_client(demo_line: Line) -> Iterator[Callable[[SimulatorProcess], RawClient]]:
    made: list[RawClient] = []

    def connect(sim: SimulatorProcess) -> RawClient:
        made.append(RawClient(sim, demo_line))
        return made[-1]

    yield connect
    for client in made:
        client.close()


def journal(path: Path) -> list[dict[str, Any]]:
    return read_journal(path)


def test_a_paused_client_still_reads_the_result_of_what_it_sent(
    start_sim: Callable[..., SimulatorProcess],
    raw_client: Callable[[SimulatorProcess], RawClient],
    tmp_path: Path,
) -> None:
    """Issue 16, defect 1: the client sent a command and was paused (SIGSTOP) before the
    answer came; the server executed it, answered, and dropped the silent client with a
    reset, which made the client's kernel discard the answer unread: the dispatcher was
    told the link failed. The server now hangs up with the end of the stream: the
    answer is read first, then the end."""
    sim = start_sim("--trains", "0", "--legacy-commands")
    client = raw_client(sim)
    command_id = client.send_command(SWITCH, CommandOp.THROW_REVERSE)
    time.sleep(2.5)  # silent past the server's limit (3 x 0.5 s): it hangs up meanwhile
    answer = client.wait_for(CommandResult)
    assert (answer.command_id, answer.outcome) == (command_id, Outcome.EXECUTED)
    while client.receive() is not None:  # what else was sent, then the end of the
        pass  # stream: a reset would raise ConnectionResetError here
    [entry] = journal(tmp_path / "journal-0.jsonl")
    assert entry["result"] == "executed"


def test_a_key_reused_for_another_device_is_refused_and_nothing_is_executed(
    start_sim: Callable[..., SimulatorProcess],
    raw_client: Callable[[SimulatorProcess], RawClient],
    tmp_path: Path,
) -> None:
    """Defect 4: the same key with another device got the first device's result
    (executed, naming W0903) and the new command was silently not carried out."""
    sim = start_sim("--trains", "0")
    client = raw_client(sim)
    first = client.command(SWITCH, CommandOp.THROW_REVERSE, idempotency_key="k", fencing_token=3)
    assert first.outcome is Outcome.EXECUTED
    other = client.command("W0901", CommandOp.THROW_REVERSE, idempotency_key="k", fencing_token=3)
    assert (other.outcome, other.reason_code, other.device) == (
        Outcome.REFUSED,
        "key_reused",
        "W0901",
    )
    entries = journal(tmp_path / "journal-0.jsonl")
    assert [(e["device"], e["result"], e["reason_code"]) for e in entries] == [
        (SWITCH, "executed", ""),
        ("W0901", "refused", "key_reused"),
    ]
    switches = {s.id: s for s in client.receive_snapshot().switches}
    assert switches["W0901"].position.value == "normal"  # not thrown


def test_a_command_without_a_key_or_a_token_is_refused_unless_legacy(
    start_sim: Callable[..., SimulatorProcess],
    raw_client: Callable[[SimulatorProcess], RawClient],
) -> None:
    """Defect 5: executed before (the fields default to "" and 0)."""
    strict = raw_client(start_sim("--trains", "0"))
    assert strict.command(SWITCH, CommandOp.THROW_REVERSE, idempotency_key="").reason_code == (
        "no_key"
    )
    assert strict.command(SWITCH, CommandOp.THROW_REVERSE, fencing_token=0).reason_code == (
        "no_token"
    )
    legacy = raw_client(start_sim("--trains", "0", "--legacy-commands"))
    answer = legacy.command(SWITCH, CommandOp.THROW_REVERSE, idempotency_key="")
    assert answer.outcome is Outcome.EXECUTED


def test_a_train_says_since_when_its_state_is_what_it_is(
    start_sim: Callable[..., SimulatorProcess],
    raw_client: Callable[[SimulatorProcess], RawClient],
) -> None:
    """Defect 6: train ``since_ms`` was always 0 in snapshots."""
    before = time.time_ns() // 1_000_000
    client = raw_client(start_sim("--trains", "4"))
    trains = client.snapshot.trains
    assert len(trains) == 4
    for train in trains:
        assert before - 60_000 <= train.since_ms <= time.time_ns() // 1_000_000, train


def test_a_token_no_lock_service_issued_is_refused_and_never_locks_out_the_real_holders(
    start_sim: Callable[..., SimulatorProcess],
    raw_client: Callable[[SimulatorProcess], RawClient],
    redis_factory: Callable[..., RedisProcess],
) -> None:
    """Defect 3: any authorised session could send 2**70; it was accepted, and every
    later real token for that device was refused as stale until a restart. The server
    now reads the lock nodes' fence counters (``--fence-node``): a token above what a
    quorum counted is refused and never raises the device's floor."""
    nodes = [redis_factory() for _ in range(3)]
    sim = start_sim("--trains", "0", *(a for n in nodes for a in ("--fence-node", n.address)))
    client = raw_client(sim)

    async def grant() -> int:
        clients = clients_for([n.address for n in nodes])
        try:
            lock = Redlock(clients)
            g = await lock.acquire(lock_resource(SWITCH), "tester@WS")
            await lock.release(g)
            await lock.aclose()
            return g.fencing_token
        finally:
            await close_clients(clients)

    real = asyncio.run(grant())
    answer = client.command(SWITCH, CommandOp.THROW_REVERSE, fencing_token=real)
    assert answer.outcome is Outcome.EXECUTED
    for forged, code in ((2**70, "bad_token"), (real + 1000, "token_not_issued")):
        answer = client.command(SWITCH, CommandOp.THROW_NORMAL, fencing_token=forged)
        assert (answer.outcome, answer.reason_code) == (Outcome.REFUSED, code)
    following = asyncio.run(grant())
    assert following == real + 1
    answer = client.command(SWITCH, CommandOp.THROW_NORMAL, fencing_token=following)
    assert answer.outcome is Outcome.EXECUTED, answer  # the floor was never raised
    # Two of three lock nodes gone: the server cannot tell, and refuses (fail closed).
    nodes[0].stop()
    nodes[1].stop()
    answer = client.command(SWITCH, CommandOp.THROW_REVERSE, fencing_token=following + 1)
    assert (answer.outcome, answer.reason_code) == (Outcome.REFUSED, "token_unverified")


def test_a_client_trickling_bytes_is_not_alive_to_the_server(
    start_sim: Callable[..., SimulatorProcess],
    raw_client: Callable[[SimulatorProcess], RawClient],
) -> None:
    """Any bytes counted as life: a client sending a frame one byte at a time was kept
    for ever. Only whole frames count (docs/comms.md), as on the workstation's side."""
    client = raw_client(start_sim("--trains", "0"))
    frame = client.conn.send(SnapshotRequest("never finished"))
    start = time.monotonic()
    with contextlib.suppress(OSError):
        for byte in frame[:-1]:  # never the last byte
            client.sock.sendall(bytes([byte]))
            time.sleep(0.1)
            if time.monotonic() - start > 4:
                break
    ended = False
    while not ended and time.monotonic() - start < 8:
        ended = client.receive(timeout=3) is None  # the server hangs up: the stream ends
    assert ended and time.monotonic() - start < 4.5
