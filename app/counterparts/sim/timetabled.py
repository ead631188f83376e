"""The simulator running to a timetable (运行图): each unit works its working's trips.

A :class:`TimetableRunner` is the world's ``service`` (``running.py``'s hooks). It
knows, for every unit in service, the trip it runs (the unit's train number is the trip
number) and the stop it is at or heading to, and:

- **at start** places the unit of every working active at the service-day time the
  world starts at, at the platform of its next planned departure (the earliest first;
  a unit whose platform is taken waits, as a unit from the depot does, until it is
  free);
- **enters units into service**: a working that starts later brings its unit from the
  depot. Simplified: the depot is not modelled; the unit appears, standing ready, at
  its first trip's origin platform at the time the plan has it ready there (that stop's
  arrival), as soon as that platform is free, and has run no depot move;
- **at each platform** records the arrival, and lets the unit go no earlier than the
  planned departure and after at least :attr:`min_dwell_s` (plus a random extra dwell
  up to ``dwell_spread_s``); the departure is recorded when it starts to move;
- **at a trip's destination**, once the unit leaves, it runs the working's next trip
  (the turnback on the way); after the working's last trip the unit leaves service
  where it stands (removed from the world: the run to the depot is not modelled);
- **perturbs**: each leg's top speed lowered by a random factor up to
  ``run_spread_pct`` %, and incidents (:class:`Incident`): a unit standing still for a
  while wherever it is, a section that may not be entered.

Every arrival and departure becomes an :class:`~app.timetable.actuals.Actual`, kept in
the day's :class:`~app.timetable.actuals.ActualsStore`, and in the order they happened
(:attr:`TimetableRunner.order`: stop index * 2 + kind, no object per event) for the
server to send and the standby to mirror.
"""

from __future__ import annotations

import random
import re
from array import array
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from app.counterparts.sim.interlocking import Interlocking
from app.counterparts.sim.running import STOP_MARGIN_M
from app.counterparts.sim.units import ServiceSettings, SimTrain
from app.model.topology import Direction, Line, Section
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.model import Stop, Timetable, Trip
from app.timetable.times import TimeFormatError, parse_service_time

#: The shortest dwell at a platform, whatever the plan (s).
MIN_DWELL_S = 20.0

_KINDS = (ActualKind.ARRIVE, ActualKind.DEPART)


class IncidentKind(StrEnum):
    #: a unit stands still where it is (a fault on board)
    STUCK = "stuck"
    #: a section may not be entered (an obstruction)
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Incident:
    """``kind`` on ``target`` (a unit id for STUCK, a section id for BLOCK) from service-day
    second ``at_s`` for ``minutes``."""

    kind: IncidentKind
    target: str
    at_s: int
    minutes: float

    @property
    def until_s(self) -> float:
        return self.at_s + self.minutes * 60

    def active(self, now_s: float) -> bool:
        return self.at_s <= now_s < self.until_s


_INCIDENT = re.compile(r"^(stuck|block):([A-Za-z0-9_]+)@([0-9:]+)\+([0-9]+(?:\.[0-9]+)?)$")


def parse_incident(text: str) -> Incident:
    """``stuck:UNIT@HH:MM+MIN`` or ``block:SECTION@HH:MM+MIN``; ValueError saying why."""
    m = _INCIDENT.match(text.strip())
    if m is None:
        raise ValueError(f"expected stuck:UNIT@HH:MM+MIN or block:SECTION@HH:MM+MIN, got {text!r}")
    kind, target, at, minutes = m.groups()
    try:
        at_s = parse_service_time(at)
    except TimeFormatError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if kind == IncidentKind.STUCK and not target.isdigit():
        raise ValueError(f"{text!r}: a stuck incident names a unit number")
    return Incident(IncidentKind(kind), target, at_s, float(minutes))


def plan_units(timetable: Timetable) -> dict[str, int]:
    """The unit of each working (by service): its own, or for the unrostered ones (unit
    0) the numbers after the largest rostered unit and 100, in file order: never one a
    working already has."""
    free = max([99, *(w.unit for w in timetable.workings)]) + 1
    units: dict[str, int] = {}
    for w in timetable.workings:
        if w.unit:
            units[w.service] = w.unit
        else:
            units[w.service], free = free, free + 1
    return units


def check_incidents(incidents: tuple[Incident, ...], line: Line, timetable: Timetable) -> None:
    """ValueError naming the first incident about a unit the plan has not, or a section
    the line has not."""
    units = set(plan_units(timetable).values())
    for i in incidents:
        if i.kind is IncidentKind.STUCK and int(i.target) not in units:
            raise ValueError(f"{i.kind}:{i.target}: the timetable has no unit {i.target}")
        if i.kind is IncidentKind.BLOCK and i.target not in line.section_by_id:
            raise ValueError(f"{i.kind}:{i.target}: the line has no section {i.target}")


@dataclass(frozen=True, slots=True)
class Perturbations:
    """What makes the running differ from the plan (none by default)."""

    dwell_spread_s: float = 0.0
    run_spread_pct: float = 0.0
    incidents: tuple[Incident, ...] = ()
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """A world's timetable: the plan, the service date, the service-day second the world
    starts at, and the perturbations."""

    timetable: Timetable
    service_date: str
    start_s: float
    perturbations: Perturbations = Perturbations()


@dataclass(slots=True)
class UnitRun:
    """Where a unit is in its working: trip ``trip_i`` of the working, stop ``order`` of
    that trip (the one it stands at when ``standing``, else the next it will call at)."""

    service: str
    trip_i: int
    order: int
    standing: bool = False
    factor: float = 1.0  # this leg's top speed, as a share of the line's


class WorldSide(Protocol):
    """What the runner needs of its world (:class:`~app.counterparts.sim.world.World`)."""

    line: Line
    now: float
    settings: ServiceSettings
    trains: dict[int, SimTrain]
    interlocking: Interlocking

    def occupancy(self) -> set[str]: ...

    @staticmethod
    def _entry_end(sec: Section, direction: Direction) -> int: ...


class TimetableRunner:
    """The units of a world working the timetable (module docstring)."""

    def __init__(
        self, world: WorldSide, plan: ServicePlan, min_dwell_s: float = MIN_DWELL_S
    ) -> None:
        self.world = world
        self.plan = plan
        self.timetable = plan.timetable
        self.perturb = plan.perturbations
        self.min_dwell_s = min_dwell_s
        self.store = ActualsStore(plan.timetable, plan.service_date)
        #: the plan as ACTUALS name it: ``<id>@<digest>``
        self.label = plan.timetable.label()
        #: the day's events in the order they happened: stop index * 2 + kind (0 arrive)
        self.order = array("q")
        self.runs: dict[int, UnitRun] = {}
        #: units waiting to enter service: unit -> (run, ready at service-day s)
        self.pending: dict[int, tuple[UnitRun, float]] = {}
        self.blocked: set[str] = set()
        self.rng = random.Random(self.perturb.seed)
        line = world.line
        self._platform_section = {p.id: p.section for p in line.platforms}
        self._platform_direction = {p.id: p.direction for p in line.platforms}
        self._units = plan_units(self.timetable)
        self._stuck = {
            int(i.target): i for i in self.perturb.incidents if i.kind is IncidentKind.STUCK
        }

    # -- the plan -----------------------------------------------------------------

    @property
    def now_s(self) -> float:
        """The service-day second now."""
        return self.plan.start_s + self.world.now

    def trip_of(self, run: UnitRun) -> Trip:
        w = self.timetable.working_by_service[run.service]
        return self.timetable.trip_by_number[w.trips[run.trip_i]]

    def stop_of(self, run: UnitRun) -> Stop:
        return self.trip_of(run).stops[run.order]

    def unit_of(self, service: str) -> int:
        return self._units[service]

    # -- at start -------------------------------------------------------------------

    def place_at_start(self) -> None:
        """Place the unit of every working active now; queue those that start later."""
        now = self.now_s
        placing: list[tuple[int, int, UnitRun]] = []
        for w in self.timetable.workings:
            unit = self.unit_of(w.service)
            found = self._next_departure(w.service, now)
            if found is None:
                continue  # its day is over
            run, depart_s = found
            first = self.timetable.trip_by_number[w.trips[0]].stops[0]
            if run.trip_i == 0 and run.order == 0 and now < first.arrive_s:
                self.pending[unit] = (run, first.arrive_s)  # from the depot, later
            else:
                placing.append((depart_s, unit, run))
        for _, unit, run in sorted(placing, key=lambda p: (p[0], p[1])):
            if not self._enter(unit, run):
                self.pending[unit] = (run, now)

    def _next_departure(self, service: str, now: float) -> tuple[UnitRun, int] | None:
        """The first stop of ``service``'s day whose departure is not past."""
        w = self.timetable.working_by_service[service]
        for i, number in enumerate(w.trips):
            for order, stop in enumerate(self.timetable.trip_by_number[number].stops):
                if stop.depart_s >= now:
                    return UnitRun(service, i, order), stop.depart_s
        return None

    def _enter(self, unit: int, run: UnitRun) -> bool:
        """Put ``unit`` standing at its run's stop, if that platform is free."""
        world = self.world
        stop = self.stop_of(run)
        section = self._platform_section[stop.platform]
        if section in world.interlocking.occupied or any(
            t.section == section for t in world.trains.values()
        ):
            return False
        sec = world.line.section_by_id[section]
        direction = self._platform_direction[stop.platform]
        train = SimTrain(
            id=unit,
            trip=1,
            direction=direction,
            section=section,
            entry_end=world._entry_end(sec, direction),
            travelled_m=max(0.0, sec.length_m - STOP_MARGIN_M - 1.0),
            dwelled_in=section,
            label=self.trip_of(run).number,
        )
        world.trains[unit] = train
        self.runs[unit] = run
        if run.order == 0 and self.now_s >= stop.arrive_s:
            self._record(unit, run, ActualKind.ARRIVE)  # ready at its origin
        run.standing = True
        train.dwell_left_s = self._dwell(stop)
        world.interlocking.occupied = world.occupancy()
        return True

    # -- each step ------------------------------------------------------------------

    def step(self) -> None:
        """Incidents on and off, units entering and leaving service (before the units move)."""
        now = self.now_s
        self.blocked = {
            i.target
            for i in self.perturb.incidents
            if i.kind is IncidentKind.BLOCK and i.active(now)
        }
        for unit, (run, ready_s) in sorted(self.pending.items(), key=lambda p: p[1][1]):
            if ready_s <= now and self._enter(unit, run):
                del self.pending[unit]
        for unit, run in list(self.runs.items()):
            t = self.world.trains.get(unit)
            if t is None:
                del self.runs[unit]
                continue
            gone = run.standing and t.dwell_left_s <= 0 and not t.held and not self.stopped(t)
            if gone and self._last_stop(run):
                self._record(unit, run, ActualKind.DEPART)
                del self.runs[unit]
                del self.world.trains[unit]  # into the depot

    def _last_stop(self, run: UnitRun) -> bool:
        w = self.timetable.working_by_service[run.service]
        return run.trip_i == len(w.trips) - 1 and run.order == len(self.trip_of(run).stops) - 1

    # -- hooks from running.py ---------------------------------------------------

    def stopped(self, t: SimTrain) -> bool:
        incident = self._stuck.get(t.id)
        return incident is not None and incident.active(self.now_s)

    def speed_factor(self, t: SimTrain) -> float:
        run = self.runs.get(t.id)
        return run.factor if run is not None else 1.0

    def arrived(self, t: SimTrain) -> float:
        """``t`` stopped at a platform: record its arrival, and say how long it dwells."""
        run = self.runs.get(t.id)
        settings = self.world.settings
        if run is None:
            return settings.dwell_s
        stops = self.trip_of(run).stops
        for order in range(run.order, len(stops)):
            if self._platform_section[stops[order].platform] == t.section:
                run.order = order
                run.standing = True
                self._record(t.id, run, ActualKind.ARRIVE)
                return self._dwell(stops[order])
        return settings.dwell_s  # a platform its trip does not call at

    def moving(self, t: SimTrain) -> None:
        """``t`` moves: if it stood at a stop of its trip, it has left it."""
        run = self.runs.get(t.id)
        if run is None or not run.standing:
            return
        self._record(t.id, run, ActualKind.DEPART)
        run.standing = False
        run.order += 1
        if run.order >= len(self.trip_of(run).stops):
            w = self.timetable.working_by_service[run.service]
            if run.trip_i + 1 < len(w.trips):
                run.trip_i += 1
                run.order = 0
                t.label = self.trip_of(run).number
        spread = self.perturb.run_spread_pct / 100
        run.factor = 1.0 / (1.0 + self.rng.uniform(0.0, spread)) if spread > 0 else 1.0

    def _dwell(self, stop: Stop) -> float:
        extra = (
            self.rng.uniform(0.0, self.perturb.dwell_spread_s) if self.perturb.dwell_spread_s else 0
        )
        least = self.min_dwell_s + extra
        return max(least, stop.depart_s - self.now_s)

    # -- the day's actuals ------------------------------------------------------------

    def _record(self, unit: int, run: UnitRun, kind: ActualKind) -> None:
        trip = self.trip_of(run)
        stop = trip.stops[run.order]
        planned = stop.arrive_s if kind is ActualKind.ARRIVE else stop.depart_s
        actual = Actual(
            trip.number,
            run.order,
            stop.station,
            stop.platform,
            kind,
            round(self.now_s * 1000),
            planned * 1000,
            unit,
        )
        index = self.store.record(actual)
        if index is not None:
            self.order.append(index * 2 + _KINDS.index(kind))

    def actual(self, position: int) -> Actual:
        """The day's event number ``position`` (in the order they happened)."""
        code = self.order[position]
        index, k = divmod(code, 2)
        p = self.timetable.stops[index]
        store = self.store
        kind = _KINDS[k]
        at = (store.arrive if k == 0 else store.depart)[index]
        planned = (store.planned_arrive if k == 0 else store.planned_depart)[index]
        return Actual(
            p.trip, p.order, p.stop.station, p.stop.platform, kind, at, planned, store.unit[index]
        )

    def actuals(self, start: int = 0) -> list[Actual]:
        """The day's events from number ``start`` on, in the order they happened."""
        return [self.actual(i) for i in range(start, len(self.order))]

    # -- replication --------------------------------------------------------------

    def export(self, actuals_from: int = 0) -> dict[str, Any]:
        """The runner's state; the events from number ``actuals_from`` on (0: all)."""
        store = self.store
        events = []
        for code in self.order[actuals_from:]:
            index, k = divmod(code, 2)
            at = (store.arrive if k == 0 else store.depart)[index]
            events.append([code, at, store.unit[index]])
        return {
            "runs": {str(u): _run_doc(r) for u, r in self.runs.items()},
            "pending": {str(u): [_run_doc(r), ready] for u, (r, ready) in self.pending.items()},
            "actuals_from": actuals_from,
            "actuals": events,
        }

    def restore(self, doc: dict[str, Any]) -> None:
        """Become the runner ``doc`` describes (a master's :meth:`export`)."""
        self.runs = {int(u): _run_of(r) for u, r in doc["runs"].items()}
        self.pending = {
            int(u): (_run_of(r), float(ready)) for u, (r, ready) in doc["pending"].items()
        }
        start = int(doc["actuals_from"])
        if start == 0:
            self.store.clear(self.plan.service_date)
            del self.order[:]
        elif start > len(self.order):
            return  # a replica missed: the next whole one fills the gap
        for position, (code, at, unit) in enumerate(doc["actuals"], start):
            if position < len(self.order):
                continue  # had it already
            index, k = divmod(int(code), 2)
            p = self.timetable.stops[index]
            stop = p.stop
            planned = stop.arrive_s if k == 0 else stop.depart_s
            actual = Actual(
                p.trip,
                p.order,
                stop.station,
                stop.platform,
                _KINDS[k],
                int(at),
                planned * 1000,
                int(unit),
            )
            if self.store.record(actual) is not None:
                self.order.append(int(code))


def _run_doc(r: UnitRun) -> list[Any]:
    return [r.service, r.trip_i, r.order, r.standing, r.factor]


def _run_of(doc: list[Any]) -> UnitRun:
    service, trip_i, order, standing, factor = doc
    return UnitRun(str(service), int(trip_i), int(order), bool(standing), float(factor))


__all__ = [
    "MIN_DWELL_S",
    "Incident",
    "IncidentKind",
    "Perturbations",
    "ServicePlan",
    "TimetableRunner",
    "UnitRun",
    "WorldSide",
    "check_incidents",
    "parse_incident",
    "plan_units",
]
