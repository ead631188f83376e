"""A big generated day for ``bench traingraph``: a line of N stations, a plan of M
trips worked by U units back and forth, and each stop's actual times (a delay that
walks from stop to stop, an incident now and then, recovery at the turnbacks).

Everything is made in code from a seed: the same arguments give the same day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.model.topology import Direction, Line, Platform, Station, TrainSpec
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.model import DayType, Stop, Timetable, Trip, Working

FIRST_S = 5 * 3600 + 30 * 60
RUN_S = 25  # between two stations
DWELL_S = 11
TURNBACK_S = 180


def big_line(stations: int) -> Line:
    made = []
    platforms = []
    km = 0.0
    rng = random.Random(7)
    for i in range(stations):
        sid = f"S{i + 1:03d}"
        down, up = f"P{i + 1:03d}D", f"P{i + 1:03d}U"
        made.append(
            Station(
                sid, f"站{i + 1:03d}", f"Station {i + 1:03d}", round(km, 2), km * 100, (down, up)
            )
        )
        platforms += [Platform(down, sid, Direction.DOWN, ""), Platform(up, sid, Direction.UP, "")]
        km += rng.uniform(0.4, 0.7)
    return Line(
        "BIG",
        "基准线",
        "Bench line",
        "Asia/Shanghai",
        TrainSpec(),
        tuple(made),
        tuple(platforms),
        (),
        (),
        (),
        (),
        (),
        (),
    )


@dataclass(frozen=True, slots=True)
class Event:
    at_ms: int
    actual: Actual


def big_day(line: Line, trips: int, units: int, seed: int = 1) -> tuple[Timetable, list[Event]]:
    """The plan and every actual event of the day, in time order."""
    stations = sorted(line.stations, key=lambda s: s.km)
    n = len(stations)
    trip_s = (n - 1) * RUN_S + n * DWELL_S
    cycle_s = 2 * (trip_s + TURNBACK_S)
    rng = random.Random(seed)
    made: list[Trip] = []
    workings: list[Working] = []
    events: list[Event] = []
    per_unit = [trips // units + (1 if u < trips % units else 0) for u in range(units)]
    for u in range(units):
        start = FIRST_S + round(u * cycle_s / units)
        direction = Direction.DOWN if u % 2 == 0 else Direction.UP
        service = f"{u + 1:02d}"
        numbers: list[str] = []
        delay = 0.0
        for k in range(per_unit[u]):
            number = f"{u + 1:02d}{k + 1:03d}"
            run = stations if direction is Direction.DOWN else stations[::-1]
            stops: list[Stop] = []
            t = start
            for order, s in enumerate(run):
                platform = s.platforms[0 if direction is Direction.DOWN else 1]
                stop = Stop(s.id, platform, t, t + DWELL_S)
                stops.append(stop)
                # the delay walks: a little late on most runs, an incident now and then
                delay = max(-90.0, delay + rng.gauss(0.6, 4.0))
                if rng.random() < 0.0004:
                    delay += rng.uniform(180, 480)
                for kind, planned in (
                    (ActualKind.ARRIVE, stop.arrive_s),
                    (ActualKind.DEPART, stop.depart_s),
                ):
                    at = round((planned + delay) * 1000)
                    actual = Actual(number, order, s.id, platform, kind, at, planned * 1000, u + 1)
                    events.append(Event(at, actual))
                t += DWELL_S + RUN_S
            made.append(Trip(number, service, direction, tuple(stops)))
            numbers.append(number)
            delay = max(0.0, delay - TURNBACK_S * 0.6)  # the turnback absorbs some
            start = stops[-1].depart_s + TURNBACK_S
            direction = Direction.UP if direction is Direction.DOWN else Direction.DOWN
        workings.append(Working(service, u + 1, tuple(numbers)))
    made.sort(key=lambda t: (t.start_s, t.number))
    events.sort(key=lambda e: e.at_ms)
    return Timetable("bench-day", line.id, DayType.WEEKDAY, tuple(made), tuple(workings)), events


class Feed:
    """The day's events into a store as service time advances."""

    def __init__(self, store: ActualsStore, events: list[Event]) -> None:
        self.store = store
        self.events = events
        self.next = 0

    def until(self, now_ms: int) -> int:
        """Record every event up to ``now_ms``; how many were recorded."""
        n = 0
        events, store = self.events, self.store
        while self.next < len(events) and events[self.next].at_ms <= now_ms:
            store.record(events[self.next].actual)
            self.next += 1
            n += 1
        return n
