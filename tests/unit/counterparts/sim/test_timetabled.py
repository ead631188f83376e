"""The simulator running to a timetable: a small hand-made plan, and the demo weekday."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config.timetable import load_timetable
from app.counterparts.sim.__main__ import build_parser
from app.counterparts.sim.timetable_options import ServicePlanError, service_clock, service_plan
from app.counterparts.sim.timetabled import (
    IncidentKind,
    Perturbations,
    ServicePlan,
    parse_incident,
)
from app.counterparts.sim.world import ServiceSettings, World
from app.model.topology import Direction, Line
from app.timetable.actuals import Actual, ActualKind
from app.timetable.model import DayType, Stop, Timetable, Trip, Working
from app.timetable.times import parse_service_time as hms

ROOT = Path(__file__).resolve().parents[4]
DEMO_WEEKDAY = ROOT / "resources" / "timetables" / "demo-weekday.yaml"
RUN_S = 150  # between stations: generous, the simulator needs 70-110 s
DWELL_S = 30


def trip(number: str, service: str, direction: Direction, ready: int, depart: int) -> Trip:
    ids = [f"S{i:02d}" for i in range(1, 24)]
    if direction is Direction.UP:
        ids.reverse()
    suffix = "D" if direction is Direction.DOWN else "U"
    stops = [Stop(ids[0], f"P{ids[0][1:]}{suffix}", ready, depart)]
    t = depart
    for sid in ids[1:]:
        t += RUN_S
        stops.append(Stop(sid, f"P{sid[1:]}{suffix}", t, t + DWELL_S))
        t += DWELL_S
    return Trip(number, service, direction, tuple(stops))


def small_timetable() -> Timetable:
    """Unit 1: down 06:00, turns at S23 into an up trip; unit 2 from the depot at 06:20."""
    down = trip("01001", "01", Direction.DOWN, hms("05:58:00"), hms("06:00:00"))
    up_ready = down.end_s + DWELL_S + 300  # the turnback, generously
    up = trip("01002", "01", Direction.UP, up_ready, up_ready + 60)
    late = trip("02001", "02", Direction.DOWN, hms("06:18:00"), hms("06:20:00"))
    return Timetable(
        "small",
        "L2",
        DayType.WEEKDAY,
        (down, late, up),
        (Working("01", 1, ("01001", "01002")), Working("02", 2, ("02001",))),
    )


def world_for(
    line: Line, timetable: Timetable, start: str, perturb: Perturbations | None = None
) -> World:
    plan = ServicePlan(timetable, "2026-12-07", hms(start), perturb or Perturbations(seed=7))
    return World(line, plan=plan)


def run(world: World, seconds: float, dt: float = 1.0) -> None:
    for i in range(int(seconds / dt)):
        world.step(dt)
        if i % 50 == 0:
            world.publish()


def actuals(world: World) -> list[Actual]:
    assert world.service is not None
    return world.service.actuals()


def departures(world: World) -> list[Actual]:
    return [a for a in actuals(world) if a.kind is ActualKind.DEPART]


@pytest.fixture(scope="module")
def weekday(demo_line: Line) -> Timetable:
    return load_timetable(DEMO_WEEKDAY, demo_line)


# -- a small plan -----------------------------------------------------------------------


def test_units_are_placed_per_plan_and_numbered_by_their_trip(demo_line: Line) -> None:
    world = world_for(demo_line, small_timetable(), "05:59:00")
    assert set(world.trains) == {1}  # unit 2's working starts later
    t = world.trains[1]
    assert (t.section, t.direction) == ("PD01", Direction.DOWN)
    state = world.snapshot().trains[0]
    assert state.number == "01001"
    snap = world.snapshot()
    assert (snap.service_date, snap.service_ms) == ("2026-12-07", hms("05:59:00") * 1000)


def test_a_unit_runs_its_working_and_leaves_service(demo_line: Line) -> None:
    tt = small_timetable()
    world = world_for(demo_line, tt, "05:59:00")
    run(world, 10 * 60)
    assert 2 not in world.trains  # 06:09: its working starts at 06:18
    run(world, 15 * 60)
    assert world.trains[2].number == "02001"  # in service from the depot
    run(world, 75 * 60)
    assert world.trains[1].number == "01002"  # turned back into its next trip
    run(world, 50 * 60)
    assert world.trains == {}  # both workings done: out of service
    events = actuals(world)
    # every planned stop of the day, arrival and departure, once each (unit 1, placed
    # at its origin after the time it was to stand ready there, arrived as placed)
    assert len(events) == 2 * len(tt.stops)
    assert len({(a.trip, a.order, a.kind) for a in events}) == len(events)
    deps = departures(world)
    assert all(a.at_ms >= a.planned_ms for a in deps), "never before the plan"
    assert all(a.at_ms - a.planned_ms <= 2000 for a in deps), "on time"
    arrivals = [a for a in events if a.kind is ActualKind.ARRIVE]
    assert all(a.at_ms <= a.planned_ms for a in arrivals[1:]), "the plan is generous"
    assert {a.unit for a in events if a.trip == "01002"} == {1}
    assert world.publish() is not None or world.snapshot().trains == ()


def test_a_unit_dwells_at_least_the_minimum_even_when_late(demo_line: Line) -> None:
    tt = small_timetable()
    world = world_for(demo_line, tt, "06:10:00")  # unit 1 placed late, mid-way
    run(world, 30 * 60)
    events = actuals(world)
    by_stop: dict[tuple[str, int], dict[ActualKind, int]] = {}
    for a in events:
        by_stop.setdefault((a.trip, a.order), {})[a.kind] = a.at_ms
    dwells = [d[ActualKind.DEPART] - d[ActualKind.ARRIVE] for d in by_stop.values() if len(d) == 2]
    assert dwells and min(dwells) >= 20_000


# -- the demo weekday --------------------------------------------------------------------


def test_the_demo_weekday_runs_on_time(demo_line: Line, weekday: Timetable) -> None:
    world = world_for(demo_line, weekday, "07:00:00")
    assert world.service is not None
    active = {
        w.service
        for w in weekday.workings
        if weekday.trip_by_number[w.trips[0]].stops[0].arrive_s
        <= hms("07:00:00")
        < weekday.trip_by_number[w.trips[-1]].stops[-1].depart_s
    }
    assert len(world.trains) == len(active)
    run(world, 3600, dt=2.0)
    deps = departures(world)
    assert len(deps) > 500
    on_time = sum(1 for a in deps if abs(a.delay_ms) <= 60_000) / len(deps)
    assert on_time >= 0.99
    assert all(a.delay_ms >= 0 for a in deps)


def test_a_stuck_train_is_late_by_the_incident_and_delays_the_ones_behind(
    demo_line: Line, weekday: Timetable
) -> None:
    probe = world_for(demo_line, weekday, "07:30:00")
    assert probe.service is not None
    runner = probe.service
    # a unit on a down trip in the middle of the line at 07:30
    unit, run_ = next(
        (u, r)
        for u, r in sorted(runner.runs.items())
        if runner.trip_of(r).direction is Direction.DOWN and 5 <= r.order <= 12
    )
    trip_ = runner.trip_of(run_)
    incident = parse_incident(f"stuck:{unit}@07:30+5")
    world = world_for(demo_line, weekday, "07:30:00", Perturbations(incidents=(incident,), seed=7))
    run(world, 40 * 60, dt=2.0)
    deps = departures(world)
    own = [a for a in deps if a.trip == trip_.number]
    late = max(a.delay_ms for a in own)
    assert 4 * 60_000 <= late <= 6 * 60_000 + 30_000
    # the trip behind it on the same platforms is held up too
    station = trip_.stops[run_.order + 2].station
    behind = sorted(
        (a for a in deps if a.station == station and a.trip != trip_.number),
        key=lambda a: a.planned_ms,
    )
    own_planned = next(a.planned_ms for a in own if a.station == station)
    follower = next(a for a in behind if a.planned_ms > own_planned)
    assert follower.delay_ms > 90_000


def test_a_blocked_section_delays_the_trains_that_need_it(
    demo_line: Line, weekday: Timetable
) -> None:
    incident = parse_incident("block:D1011a@07:35+6")
    world = world_for(demo_line, weekday, "07:30:00", Perturbations(incidents=(incident,), seed=7))
    run(world, 30 * 60, dt=2.0)
    late = [a for a in departures(world) if a.station == "S10" and a.delay_ms > 120_000]
    assert late


def test_perturbations_make_delays_but_never_an_early_departure(
    demo_line: Line, weekday: Timetable
) -> None:
    perturb = Perturbations(dwell_spread_s=40, run_spread_pct=15, seed=3)
    world = world_for(demo_line, weekday, "07:00:00", perturb)
    run(world, 30 * 60, dt=2.0)
    deps = departures(world)
    assert all(a.delay_ms >= 0 for a in deps)
    assert max(a.delay_ms for a in deps) > 30_000


def test_the_same_seed_runs_the_same_day(demo_line: Line, weekday: Timetable) -> None:
    perturb = Perturbations(dwell_spread_s=20, run_spread_pct=10, seed=11)
    a = world_for(demo_line, weekday, "08:00:00", perturb)
    b = world_for(demo_line, weekday, "08:00:00", perturb)
    run(a, 600, dt=2.0)
    run(b, 600, dt=2.0)
    assert actuals(a) == actuals(b)


def test_a_standby_restored_from_the_export_has_the_days_actuals(
    demo_line: Line, weekday: Timetable
) -> None:
    master = world_for(demo_line, weekday, "07:00:00")
    standby = world_for(demo_line, weekday, "07:00:00")
    assert master.service is not None and standby.service is not None
    run(master, 300, dt=2.0)
    standby.restore(master.export())  # whole
    sent = len(master.service.order)
    assert actuals(standby) == actuals(master)
    run(master, 300, dt=2.0)
    standby.restore(master.export(actuals_from=sent))  # the new ones only
    assert actuals(standby) == actuals(master)
    assert standby.service.runs == master.service.runs
    assert standby.service_ms == master.service_ms
    # a replica that missed some leaves the standby as it was, until a whole one
    before = actuals(standby)
    run(master, 120, dt=2.0)
    gap = master.export(actuals_from=len(master.service.order))
    run(master, 120, dt=2.0)
    standby.restore(master.export(actuals_from=len(master.service.order) - 1))
    assert actuals(standby)[: len(before)] == before
    standby.restore(gap)
    standby.restore(master.export())
    assert actuals(standby) == actuals(master)


@pytest.mark.parametrize(
    ("text", "kind", "target", "at", "minutes"),
    [
        ("stuck:7@07:30+5", IncidentKind.STUCK, "7", "07:30:00", 5.0),
        ("block:D1011a@17:05:30+2.5", IncidentKind.BLOCK, "D1011a", "17:05:30", 2.5),
    ],
)
def test_incidents_parse(
    text: str, kind: IncidentKind, target: str, at: str, minutes: float
) -> None:
    incident = parse_incident(text)
    assert (incident.kind, incident.target, incident.at_s, incident.minutes) == (
        kind,
        target,
        hms(at),
        minutes,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("stuck:7", "expected stuck:UNIT"),
        ("fire:7@07:30+5", "expected stuck:UNIT"),
        ("stuck:7@25:61+5", "minutes and seconds"),
        ("stuck:A1@07:30+5", "names a unit number"),
    ],
)
def test_a_bad_incident_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_incident(text)


# -- the options -------------------------------------------------------------------------


def test_the_service_clock_defaults_to_the_wall_clock_on_the_service_day(demo_line: Line) -> None:
    # 2026-12-07 01:30 in Shanghai (UTC+8): the night of the 6th's service day, 25:30
    night = 1_796_578_200_000  # 2026-12-06T17:30:00Z
    assert service_clock(demo_line, None, None, now_ms=night) == ("2026-12-06", hms("25:30:00"))
    morning = night + 6 * 3_600_000  # 07:30 on the 7th
    assert service_clock(demo_line, None, None, now_ms=morning) == ("2026-12-07", hms("07:30"))
    given = service_clock(demo_line, hms("08:00"), "2026-01-02", now_ms=night)
    assert given == ("2026-01-02", hms("08:00"))


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--timetable", "nope.yaml"], "nope.yaml"),
        (
            ["--timetable", str(DEMO_WEEKDAY), "--incident", "stuck:999@07:00+5"],
            "--incident stuck:999: the timetable has no unit 999",
        ),
        (
            ["--timetable", str(DEMO_WEEKDAY), "--incident", "block:NOPE@07:00+5"],
            "--incident block:NOPE: the line has no section NOPE",
        ),
        (["--run-spread", "5"], "need --timetable"),
    ],
)
def test_options_that_make_no_plan_say_why(demo_line: Line, argv: list[str], says: str) -> None:
    args = build_parser().parse_args(argv)
    with pytest.raises(ServicePlanError, match=re.escape(says)):
        service_plan(args, demo_line)


def test_the_options_make_the_plan(demo_line: Line) -> None:
    argv = ["--timetable", str(DEMO_WEEKDAY), "--service-start", "07:15", "--seed", "4"]
    argv += ["--service-date", "2026-12-07", "--dwell-spread", "10", "--run-spread", "5"]
    argv += ["--incident", "stuck:3@07:30+4", "--incident", "block:D1011a@08:00+2"]
    plan, clock = service_plan(build_parser().parse_args(argv), demo_line)
    assert plan is not None and clock == ("2026-12-07", float(hms("07:15")))
    assert plan.start_s == hms("07:15") and plan.timetable.id == "demo-weekday"
    p = plan.perturbations
    assert (p.dwell_spread_s, p.run_spread_pct, p.seed, len(p.incidents)) == (10, 5, 4, 2)
    none, clock = service_plan(build_parser().parse_args(["--service-start", "06:00"]), demo_line)
    assert none is None and clock[1] == hms("06:00")


def test_with_a_plan_only_the_plans_units_run(demo_line: Line) -> None:
    plan = ServicePlan(small_timetable(), "2026-12-07", hms("05:59"), Perturbations())
    world = World(demo_line, ServiceSettings(trains=20, pairs=2), plan=plan)
    assert set(world.trains) == {1} and not world.trains[1].held


def test_unrostered_workings_never_take_a_rostered_unit() -> None:
    """A working rostered as unit 101 and unrostered ones after it: each its own unit
    (100 + its index would have given two workings unit 101)."""
    from app.counterparts.sim.timetabled import plan_units
    from app.timetable.model import DayType, Timetable, Working

    plan = Timetable(
        "t",
        "L2",
        DayType.WEEKDAY,
        (),
        (Working("01", 101, ()), Working("02", 0, ()), Working("03", 7, ()), Working("04", 0, ())),
    )
    assert plan_units(plan) == {"01": 101, "02": 102, "03": 7, "04": 103}
