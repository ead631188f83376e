"""The workstation's core against a real simulator pair running the demo weekday, at
60 times real time: the session keeps the day's actuals its master sends (the ones the
master journaled), tells a train stuck by an injected incident as a late-train alarm,
and, when the master is killed, carries on with the standby's catch-up: the day it
keeps is whole, every record in its slot, none lost, none twice."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from app.config.timetable import load_timetable
from app.counterparts.sim.launcher import SimulatorPair
from app.model.topology import Direction, Line
from app.session import DispatcherSession
from app.timetable.actuals import Actual
from app.timetable.times import parse_service_time as hms
from tests.integration.test_timetable_against_sim import SERVICE_DATE, journaled

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO_WEEKDAY = ROOT / "resources" / "timetables" / "demo-weekday.yaml"
START = "07:00"
STUCK_AT = "07:08"


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def test_the_session_keeps_the_day_through_a_failover_and_tells_a_late_train(
    sim_pair: Callable[..., SimulatorPair], demo_line: Line, tmp_path: Path
) -> None:
    plan = load_timetable(DEMO_WEEKDAY, demo_line)
    at = hms(STUCK_AT)
    unit = next(
        w.unit
        for w in plan.workings
        for n in w.trips
        if plan.trip_by_number[n].direction is Direction.DOWN
        and plan.trip_by_number[n].stops[3].depart_s < at < plan.trip_by_number[n].stops[8].arrive_s
    )
    pair = sim_pair(
        "--legacy-commands",
        "--timetable",
        str(DEMO_WEEKDAY),
        "--service-start",
        START,
        "--service-date",
        SERVICE_DATE,
        "--time-scale",
        "60",
        "--incident",
        f"stuck:{unit}@{STUCK_AT}+6",
        "--seed",
        "3",
    )
    session = DispatcherSession(
        demo_line,
        pair.endpoints,
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
        timetable=plan,
        late_alarm_s=180,
    )
    feed = session.service
    store = feed.store
    assert store is not None
    late: list[str] = []
    session.alarm.connect(lambda a: late.append(a.code) if a.active else None)
    told: list[Actual] = []  # what the views and the CLI are told is new
    feed.actuals_changed.connect(lambda news: told.extend(news.fresh))

    async def scenario() -> None:
        session.start()
        try:
            await until(lambda: session.state.synchronised, 15, "no snapshot")
            await until(lambda: store.recorded > 50, 30, "no actuals")
            assert store.service_date == SERVICE_DATE
            now = feed.now_ms()
            assert now is not None and hms(START) * 1000 < now < (hms(START) + 3600) * 1000
            # the stuck train, late by more than 3 min, is an alarm on its unit
            await until(lambda: f"train_late:{unit}" in late, 30, "no late-train alarm")
            # the master dies: the standby's snapshot and catch-up, and on
            os.kill(pair.procs["A"].pid, signal.SIGKILL)
            await until(lambda: session.master.server == "B", 15, "no failover")
            before = store.recorded
            await until(lambda: store.recorded > before + 50, 40, "no actuals from B")
        finally:
            await session.aclose()

    asyncio.run(scenario())
    kept = list(store.actuals())
    # every record kept is one a server journaled, and each journaled one up to the last
    # kept time is kept: nothing lost across the failover, nothing twice (a slot each)
    journal_a = journaled(tmp_path / "journal-A.jsonl")
    journal_b = journaled(tmp_path / "journal-B.jsonl")
    known = {(a.trip, a.order, a.kind): a for a in journal_a + journal_b}
    assert all((a.trip, a.order, a.kind) in known for a in kept)
    assert all(known[(a.trip, a.order, a.kind)].at_ms == a.at_ms for a in kept)
    last = max(a.at_ms for a in kept)
    expected = {k for k, a in known.items() if a.at_ms <= last - 5_000}
    missing = expected - {(a.trip, a.order, a.kind) for a in kept}
    assert not missing, sorted(missing)[:5]
    assert len(kept) == len({(a.trip, a.order, a.kind) for a in kept})
    # each told once, though it comes on both networks and again in the standby's
    # catch-up after the failover
    assert len(told) == len(kept)
    assert sorted(told, key=lambda a: (a.trip, a.order, a.kind)) == sorted(
        kept, key=lambda a: (a.trip, a.order, a.kind)
    )
