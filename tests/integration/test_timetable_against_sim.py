"""A real simulator child running the demo weekday, perturbed, at 60 times real time:
a level-2 client gets the SNAPSHOT, the day's actuals so far, then each new one, and
they are the ones the simulator journaled; a level-1 client gets no ACTUALS at all."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.config.timetable import load_timetable
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.state import StateDelta, StateSnapshot
from app.model.topology import Direction, Line
from app.protocol.connection import Connection
from app.protocol.frames import NeedData
from app.protocol.messages import Actuals, Heartbeat, Hello, Message
from app.timetable.actuals import Actual, ActualKind
from app.timetable.times import parse_service_time as hms

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO_WEEKDAY = ROOT / "resources" / "timetables" / "demo-weekday.yaml"
START = "07:00"
STUCK_AT = "07:20"
SERVICE_DATE = "2026-12-07"


@dataclass
class Client:
    """A bare protocol client on loopback: HELLO at ``level``, heartbeats, every message
    kept in the order it came."""

    line: Line
    level: int
    received: list[Message] = field(default_factory=list)

    async def run(self, host: str, port: int, seconds: float) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        conn = Connection()
        writer.write(
            conn.send(
                Hello(
                    f"T-level{self.level}",
                    "observer",
                    self.line.id,
                    self.line.digest(),
                    protocol=self.level,
                )
            )
        )
        until = time.monotonic() + seconds
        next_ping = 0.0
        try:
            while time.monotonic() < until:
                if time.monotonic() >= next_ping:
                    writer.write(conn.send(Heartbeat(ping_ms=int(time.monotonic() * 1000) or 1)))
                    next_ping = time.monotonic() + 0.3
                try:
                    data = await asyncio.wait_for(reader.read(1 << 20), 0.2)
                except TimeoutError:
                    continue
                assert data, "the simulator closed the connection"
                conn.receive_data(data)
                while not isinstance(msg := conn.next_event(), NeedData):
                    self.received.append(msg)
        finally:
            writer.close()

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.received if isinstance(m, kind)]


def stuck_unit(line: Line) -> int:
    """A unit on a down trip in the middle of the line at STUCK_AT."""
    tt = load_timetable(DEMO_WEEKDAY, line)
    at = hms(STUCK_AT)
    for w in tt.workings:
        for number in w.trips:
            trip = tt.trip_by_number[number]
            if (
                trip.direction is Direction.DOWN
                and trip.stops[6].depart_s < at < trip.stops[10].arrive_s
            ):
                return w.unit
    raise AssertionError("no unit mid-line at the incident's time")


def journaled(path: Path) -> list[Actual]:
    out = []
    for text in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(text)
        if entry.get("record") != "actual":
            continue
        assert entry["service_date"] == SERVICE_DATE
        out.append(
            Actual(
                entry["trip"],
                entry["order"],
                entry["station"],
                entry["platform"],
                ActualKind(entry["kind"]),
                entry["at_ms"],
                entry["planned_ms"],
                entry["unit"],
            )
        )
    return out


def test_actuals_over_the_protocol_match_the_simulators_journal(
    start_sim: Callable[..., SimulatorProcess], demo_line: Line, tmp_path: Path
) -> None:
    unit = stuck_unit(demo_line)
    sim = start_sim(
        "--timetable",
        str(DEMO_WEEKDAY),
        "--service-start",
        START,
        "--service-date",
        SERVICE_DATE,
        "--time-scale",
        "60",
        "--dwell-spread",
        "15",
        "--run-spread",
        "8",
        "--incident",
        f"stuck:{unit}@{STUCK_AT}+5",
        "--seed",
        "5",
    )
    endpoint = sim.endpoints[0]
    level2 = Client(demo_line, 2)
    level1 = Client(demo_line, 1)

    async def main() -> None:
        await asyncio.sleep(4)  # some of the day has happened: a catch-up to send
        await asyncio.gather(
            level2.run(endpoint.host, endpoint.port, 56),  # about a simulated hour
            level1.run(endpoint.host, endpoint.port, 10),
        )

    asyncio.run(main())
    sim.stop()

    # level 2: HELLO at 2, SNAPSHOT with the service clock, the catch-up, then live
    hello = level2.received[0]
    assert isinstance(hello, Hello) and hello.protocol == 2
    snapshot = level2.received[1]
    assert isinstance(snapshot, StateSnapshot)
    assert snapshot.service_date == SERVICE_DATE
    assert hms(START) * 1000 < snapshot.service_ms < (hms(START) + 600) * 1000
    numbers = {t.number for t in snapshot.trains}
    assert numbers and all(len(n) == 5 and n.isdigit() for n in numbers)  # trip numbers
    actuals = level2.of(Actuals)
    catch_up = [m for m in actuals if m.catch_up]
    assert catch_up and catch_up[-1].last and all(not m.last for m in catch_up[:-1])
    first_live = level2.received.index(catch_up[-1]) + 1
    assert not any(isinstance(m, StateDelta) for m in level2.received[2:first_live])
    live = [m for m in actuals if not m.catch_up]
    assert all(m.service_date == SERVICE_DATE for m in actuals)
    assert {m.timetable.split("@")[0] for m in actuals} == {"demo-weekday"}
    caught = [r for m in catch_up for r in m.records]
    streamed = [r for m in live for r in m.records]
    assert caught, "the first simulated minutes' actuals come as the catch-up"
    assert len(streamed) > 500  # about an hour of the day, live
    deltas = level2.of(StateDelta)
    assert deltas and all(d.service_date == SERVICE_DATE for d in deltas)
    assert deltas[-1].service_ms > hms(START) * 1000 + 40 * 60_000

    # exactly what the simulator journaled, in the same order
    journal = journaled(tmp_path / "journal-0.jsonl")
    received = caught + streamed
    assert received == journal[: len(received)]

    # perturbed: late trains, the stuck one by about the incident; never early away
    departures = [a for a in received if a.kind is ActualKind.DEPART]
    assert all(a.delay_ms >= 0 for a in departures)
    own = [a for a in departures if a.unit == unit]
    assert max(a.delay_ms for a in own) >= 4 * 60_000
    assert sum(1 for a in departures if a.delay_ms > 60_000 and a.unit != unit) > 3

    # level 1: HELLO at 1, SNAPSHOT and DELTAs, no ACTUALS
    hello1 = level1.received[0]
    assert isinstance(hello1, Hello) and hello1.protocol == 1
    assert isinstance(level1.received[1], StateSnapshot)
    assert level1.of(StateDelta)
    assert level1.of(Actuals) == []
