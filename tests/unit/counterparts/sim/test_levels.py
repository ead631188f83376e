"""The protocol level negotiated in HELLO, and what each level gets after a SNAPSHOT
(docs/protocol.md, "Levels", checks H7-H8)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from app.counterparts.sim.clients import ClientLink
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.server import ServerSettings, SimServer
from app.counterparts.sim.timetabled import Perturbations, ServicePlan
from app.counterparts.sim.world import ServiceSettings, World
from app.model.state import StateSnapshot
from app.model.topology import Line
from app.protocol.connection import Connection
from app.protocol.frames import NeedData
from app.protocol.messages import Actuals, Hello, Message, encode_message
from app.timetable.times import parse_service_time as hms
from tests.unit.counterparts.sim.test_timetabled import small_timetable


class FakeTransport(asyncio.Transport):
    """Collects what the server writes to one client."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000)

    def abort(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def timetabled_world(line: Line, start: str = "05:59:00") -> World:
    plan = ServicePlan(small_timetable(), "2026-12-07", hms(start), Perturbations())
    return World(line, plan=plan)


def greet(server: SimServer, level: int) -> list[Message]:
    """A client saying ``level`` in its HELLO: what the server sends it."""
    link = ClientLink(server)
    transport = FakeTransport()
    link.connection_made(transport)
    conn = Connection()
    line = server.world.line
    link.data_received(conn.send(Hello("T", "observer", line.id, line.digest(), protocol=level)))
    conn.receive_data(bytes(transport.data))
    out: list[Message] = []
    while not isinstance(msg := conn.next_event(), NeedData):
        out.append(msg)
    return out


@pytest.mark.parametrize(("theirs", "served"), [(1, 1), (2, 2), (3, 2), (0, 1)])
def test_the_server_serves_the_negotiated_level(demo_line: Line, theirs: int, served: int) -> None:
    world = timetabled_world(demo_line)
    for _ in range(300):
        world.step(1.0)
    server = SimServer(world, ServerSettings(), Journal(None))
    got = greet(server, theirs)
    assert isinstance(got[0], Hello) and got[0].protocol == served
    assert isinstance(got[1], StateSnapshot)
    actuals = [m for m in got if isinstance(m, Actuals)]
    if served == 1:
        assert got[2:] == [] and actuals == []
    else:
        assert actuals and all(m.catch_up for m in actuals) and actuals[-1].last
        assert world.service is not None
        assert [r for m in actuals for r in m.records] == world.service.actuals()


def test_the_catch_up_comes_in_parts_the_last_one_last(
    demo_line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.counterparts.sim.server.ACTUALS_PER_MESSAGE", 7)
    world = timetabled_world(demo_line)
    for _ in range(1800):
        world.step(1.0)
    assert world.service is not None
    day = world.service.actuals()
    assert len(day) > 14
    got = [m for m in greet(SimServer(world, ServerSettings(), Journal(None)), 2)]
    parts = [m for m in got if isinstance(m, Actuals)]
    assert len(parts) == -(-len(day) // 7)
    assert all(len(p.records) <= 7 for p in parts)
    assert [p.last for p in parts] == [False] * (len(parts) - 1) + [True]
    assert [r for p in parts for r in p.records] == day
    assert {p.timetable for p in parts} == {f"small@{small_timetable().digest()}"}


def test_an_empty_day_sends_one_empty_last_part(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=2), service_clock=("2026-12-07", 3600.0))
    got = greet(SimServer(world, ServerSettings(), Journal(None)), 2)
    parts = [m for m in got if isinstance(m, Actuals)]
    assert parts == [Actuals("2026-12-07", "", (), catch_up=True, last=True)]
    snapshot = got[1]
    assert isinstance(snapshot, StateSnapshot)
    assert (snapshot.service_date, snapshot.service_ms) == ("2026-12-07", 3_600_000)


@dataclass(frozen=True)
class FirstReleaseSnapshot:
    """SNAPSHOT as a level-1 client of the first release declared it (no service clock)."""

    seq: int
    time_ms: int = 0


def test_a_first_release_client_ignores_the_service_clock_fields(demo_line: Line) -> None:
    world = timetabled_world(demo_line)
    world.step(1.0)
    _, payload = encode_message(world.snapshot())
    assert b'"service_date":"2026-12-07"' in payload
    old = msgspec.json.decode(payload, type=FirstReleaseSnapshot)
    assert old.seq == world.seq
