#!/usr/bin/env python3
"""Generate ``demo-weekday.yaml``: a weekday on the demo line (S01..S23), ~05:30-23:30.

Run ``python resources/timetables/generate_demo_timetable.py [OUTPUT]`` from the
repository's root; without OUTPUT it rewrites ``demo-weekday.yaml`` next to this script.
The output is deterministic (``tests/unit/timetable/test_demo_timetable.py`` checks that
the committed file is exactly what this script writes).

Run times are the simulator's own (``app/counterparts/sim``): each leg is the time a
train needs, with the line's top speed and ``ServiceSettings``' acceleration and
braking, over the real track between the two stopping points (``STOP_MARGIN_M`` short of
each platform section's end), plus :data:`RECOVERY` and rounded up to 5 s. A terminal
turnback (platform -> turnback track -> reverse -> other platform) is timed the same
way, with the simulator's turnback dwell.

The plan:

* Down trips (S01 -> S23) leave S01 at the headway of the hour (:data:`HEADWAYS`);
* each turns back at S23 into an up trip after a layover that makes up half of what the
  unit's round trip lacks to a whole number of headways (the other half it waits at
  S01: a unit standing long at a terminal platform keeps the next one in the turnback
  track, and the one after that at the arrival platform);
* at S01 each departure takes the unit that turned back there if it can make it (FIFO:
  one turnback track) without waiting much more than a headway; otherwise a unit
  enters service from the depot (``from_depot``), and a unit with no departure to take
  runs in (``to_depot``): before and after the peaks units enter and leave;
* up trips from S23 before the first unit turns there come from the depot; down trips
  arriving at S23 after the last up departure run in there.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.config import load_line  # noqa: E402
from app.counterparts.sim.running import STOP_MARGIN_M  # noqa: E402
from app.counterparts.sim.units import ServiceSettings  # noqa: E402
from app.model.topology import Direction, Line, SwitchLeg, TrackKind  # noqa: E402

HERE = Path(__file__).resolve().parent
LINE_FILE = ROOT / "resources" / "lines" / "demo-line.yaml"
OUTPUT = HERE / "demo-weekday.yaml"

#: (from, headway) in service-day seconds: the headway of departures from S01 from then on
HEADWAYS = (
    (5 * 3600 + 30 * 60, 480),  # early: 8 min
    (6 * 3600 + 30 * 60, 360),  # 6 min
    (7 * 3600, 180),  # morning peak: 3 min
    (9 * 3600, 360),  # 6 min
    (10 * 3600, 420),  # midday: 7 min
    (16 * 3600, 360),  # 6 min
    (17 * 3600, 180),  # evening peak: 3 min
    (19 * 3600 + 30 * 60, 360),  # 6 min
    (21 * 3600, 480),  # late: 8 min
)
FIRST_S = 5 * 3600 + 30 * 60
LAST_DEPARTURE_S = 22 * 3600 + 50 * 60
RECOVERY = 0.09  # the recovery margin on every run (share of the pure run time)
DWELL_S = 30  # planned dwell at intermediate stops
ORIGIN_DWELL_S = 30  # the least a unit stands at its origin before leaving
CLEAR_S = 75  # after a departure, until the next unit can stand at that platform
MIN_HEADWAY_S = 180  # the least headway the simulator sustains (docs/timetable.md)
TURNBACK_FREE_S = 40  # a turned unit frees the turnback track this long before it stands ready
DEPOT_LEAD_S = 120  # a unit from the depot stands ready this long before it leaves


def ceil5(seconds: float) -> int:
    return int(math.ceil(seconds / 5.0) * 5)


def run_time(distance: float, vmax: float, accel: float, brake: float) -> float:
    """Standstill to standstill over ``distance`` m: accelerate, cruise, brake."""
    ramp = vmax * vmax / (2 * accel) + vmax * vmax / (2 * brake)
    if distance >= ramp:
        return distance / vmax + vmax / (2 * accel) + vmax / (2 * brake)
    peak = math.sqrt(2 * distance * accel * brake / (accel + brake))
    return peak / accel + peak / brake


class Track:
    """Distances along the demo line's routes, as a train runs them."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.signal_at = {(s.section, s.direction): s.id for s in line.signals}
        self.signal_section = {s.id: s.section for s in line.signals}
        self.routes_from: dict[str, list[tuple[str, ...]]] = {}
        for r in line.routes:
            straight = all(s.position is SwitchLeg.NORMAL for s in r.switches)
            entry = self.routes_from.setdefault(r.entry, [])
            entry.insert(0 if straight else len(entry), r.sections)
        self.platform_section = {p.id: p.section for p in line.platforms}

    def length(self, section: str) -> float:
        return self.line.section_by_id[section].length_m

    def path(self, section: str, direction: Direction, until: str) -> list[str]:
        """The sections after ``section`` up to and including ``until``, straight on."""
        out: list[str] = []
        while section != until:
            signal = self.signal_at[(section, direction)]
            sections = self.routes_from[signal][0]
            out.extend(sections)
            section = sections[-1]
            if len(out) > 50:
                raise ValueError(f"no way from {section} to {until}")
        return out

    def leg_m(self, a: str, b: str, direction: Direction) -> float:
        """Stopping point at platform section ``a`` to the one at ``b``."""
        return sum(self.length(s) for s in self.path(a, direction, b))

    def turn_m(self, platform: str, direction: Direction) -> tuple[float, float]:
        """From a terminal platform's stopping point to the turnback track's end, and
        from there, reversed, to the stopping point of the platform the other way."""
        signal = self.signal_at[(platform, direction)]
        into = self.routes_from[signal][0]
        turnback = into[-1]
        assert self.line.section_by_id[turnback].kind is TrackKind.TURNBACK, turnback
        # STOP_MARGIN_M left of the platform, the route, STOP_MARGIN_M short of its end
        first = sum(self.length(s) for s in into)
        back = self.routes_from[self.signal_at[(turnback, direction.opposite)]][0]
        # reversed STOP_MARGIN_M from the turnback's far end, then the route back
        second = self.length(turnback) - 2 * STOP_MARGIN_M + sum(self.length(s) for s in back)
        return first, second


@dataclass
class Plan:
    """Run times of the line, in whole seconds (recovery included)."""

    stations: list[str]
    platforms: dict[tuple[str, Direction], str]
    legs: dict[Direction, list[int]]  # run time from stop i to stop i+1 in running order
    turn_s: dict[str, int]  # terminal -> arrival at its platform to standing ready the other way

    def trip_s(self, direction: Direction) -> int:
        return sum(self.legs[direction]) + DWELL_S * (len(self.stations) - 2)


def make_plan(line: Line) -> Plan:
    s = ServiceSettings()
    vmax = line.train.max_speed_kmh / 3.6
    track = Track(line)
    stations = [st.id for st in sorted(line.stations, key=lambda st: st.km)]
    platforms = {(p.station, p.direction): p.id for p in line.platforms}
    legs: dict[Direction, list[int]] = {}
    for direction in (Direction.DOWN, Direction.UP):
        order = stations if direction is Direction.DOWN else stations[::-1]
        secs = [track.platform_section[platforms[(st, direction)]] for st in order]
        legs[direction] = [
            ceil5(
                run_time(track.leg_m(a, b, direction), vmax, s.accel_ms2, s.brake_ms2)
                * (1 + RECOVERY)
            )
            for a, b in itertools.pairwise(secs)
        ]
    turn_s = {}
    for station, direction in ((stations[-1], Direction.DOWN), (stations[0], Direction.UP)):
        into, back = track.turn_m(
            track.platform_section[platforms[(station, direction)]], direction
        )
        pure = (
            run_time(into, vmax, s.accel_ms2, s.brake_ms2)
            + s.turnback_s
            + run_time(back, vmax, s.accel_ms2, s.brake_ms2)
        )
        # the dwell at the arrival platform, then the move with its recovery margin
        turn_s[station] = DWELL_S + ceil5(pure * (1 + RECOVERY) + 2 * 3.0)  # + two switch moves
    return Plan(stations, platforms, legs, turn_s)


def headway_at(t: int) -> int:
    h = HEADWAYS[0][1]
    for start, value in HEADWAYS:
        if t >= start:
            h = value
    return h


def fmt(t: int) -> str:
    h, rest = divmod(t, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


@dataclass
class TripPlan:
    direction: Direction
    stops: list[tuple[str, str, int, int]]  # station, platform, arrive, depart
    number: str = ""
    service: str = ""
    before: TripPlan | None = None  # the trip the same unit ran before (None: depot)
    after: TripPlan | None = None

    @property
    def start(self) -> int:
        return self.stops[0][3]

    @property
    def end(self) -> int:
        return self.stops[-1][2]


def make_trip(plan: Plan, direction: Direction, ready: int, depart: int) -> TripPlan:
    order = plan.stations if direction is Direction.DOWN else plan.stations[::-1]
    stops = []
    t = depart
    for i, st in enumerate(order):
        platform = plan.platforms[(st, direction)]
        if i == 0:
            stops.append((st, platform, ready, depart))
            continue
        t += plan.legs[direction][i - 1]
        last = i == len(order) - 1
        stops.append((st, platform, t, t + DWELL_S))
        if not last:
            t += DWELL_S
    return TripPlan(direction, stops)


@dataclass
class Terminal:
    """Departures from one terminal, and the units that turned back there."""

    arrivals: list[TripPlan] = field(default_factory=list)  # trips ending here, in order
    last_departure: int = -(10**9)


def take_unit(
    plan: Plan, terminal: Terminal, station: str, slot: int
) -> tuple[TripPlan | None, int]:
    """The trip whose unit leaves at ``slot`` (None: one from the depot), and when it
    stands ready."""
    while terminal.arrivals:
        cand = terminal.arrivals[0]
        ready = max(cand.end + plan.turn_s[station], terminal.last_departure + CLEAR_S)
        if ready + ORIGIN_DWELL_S > slot:
            break  # cannot make it (turning, or behind the unit standing there)
        terminal.arrivals.pop(0)
        h = headway_at(slot)
        if slot - ready - ORIGIN_DWELL_S > min(h + 30, 2 * h - 180):
            continue  # too long a wait: it runs in
        # It leaves the turnback track about TURNBACK_FREE_S before it stands ready; a
        # unit arriving before then could not go on into it: that one runs in.
        while terminal.arrivals and terminal.arrivals[0].end + DWELL_S < ready - TURNBACK_FREE_S:
            terminal.arrivals.pop(0)
        return cand, ready
    return None, max(slot - DEPOT_LEAD_S, terminal.last_departure + CLEAR_S)


def build(line: Line) -> list[TripPlan]:
    plan = make_plan(line)
    first, last = plan.stations[0], plan.stations[-1]
    t_down, t_up = plan.trip_s(Direction.DOWN), plan.trip_s(Direction.UP)
    trips: list[TripPlan] = []
    s01 = Terminal()
    slots = []
    t = FIRST_S
    while t <= LAST_DEPARTURE_S:
        slots.append(t)
        t += headway_at(t)
    ups_from_s23: list[TripPlan] = []
    s23_last = -(10**9)
    for slot in slots:
        before, ready = take_unit(plan, s01, first, slot)
        down = make_trip(plan, Direction.DOWN, ready, slot)
        s01.last_departure = slot
        down.before = before
        if before is not None:
            before.after = down
        trips.append(down)
        # its turn at S23: a round trip of a whole number of headways
        h = headway_at(slot)
        least = (
            t_down + plan.turn_s[last] + ORIGIN_DWELL_S + t_up + plan.turn_s[first] + ORIGIN_DWELL_S
        )
        extra = ((-least) % h) // 2  # half here, the rest waited at S01
        ready = max(down.end + plan.turn_s[last], s23_last + CLEAR_S)
        up_depart = max(
            down.end + plan.turn_s[last] + ORIGIN_DWELL_S + extra,
            ready + ORIGIN_DWELL_S,
            s23_last + min(h, MIN_HEADWAY_S),
        )
        if up_depart > LAST_DEPARTURE_S:
            continue  # runs in at S23
        s23_last = up_depart
        up = make_trip(plan, Direction.UP, ready, up_depart)
        up.before, down.after = down, up
        ups_from_s23.append(up)
        s01.arrivals.append(up)
    # up trips from S23 before the first unit turns there: from the depot
    first_turned = ups_from_s23[0].start
    h0 = headway_at(FIRST_S)
    t = first_turned - h0
    while t >= FIRST_S:
        trips.append(make_trip(plan, Direction.UP, t - DEPOT_LEAD_S, t))
        t -= h0
    trips.extend(ups_from_s23)
    return number(trips)


def number(trips: list[TripPlan]) -> list[TripPlan]:
    """Services (表号) by their first departure, trips numbered within each: SS + NNN."""
    heads = sorted((t for t in trips if t.before is None), key=lambda t: (t.start, t.direction))
    for i, head in enumerate(heads, 1):
        service = f"{i:02d}"
        n = 0
        trip: TripPlan | None = head
        while trip is not None:
            n += 1
            trip.service = service
            trip.number = f"{service}{n:03d}"
            trip = trip.after
    return sorted(trips, key=lambda t: (t.start, t.direction, t.number))


def render(line: Line, trips: list[TripPlan]) -> str:
    out = [
        "# GENERATED FILE - do not edit by hand.",
        "# Written by resources/timetables/generate_demo_timetable.py; to change the demo",
        "# weekday, edit that script and regenerate with:",
        "#   python resources/timetables/generate_demo_timetable.py",
        "# Check it with:  dispatcher-hmi --check-config (with the timetable configured)",
        "# Format: docs/timetable.md. Run times are the simulator's own, with a recovery margin.",
        "",
        "timetable:",
        "  id: demo-weekday",
        f"  line: {line.id}",
        "  day_type: weekday",
        '  changeover: "03:00"',
        "  trips:",
    ]
    for t in trips:
        out.append(f'    - number: "{t.number}"')
        out.append(f'      service: "{t.service}"')
        out.append(f"      direction: {t.direction.value}")
        out.append("      stops:")
        for station, platform, arrive, depart in t.stops:
            out.append(f'        - [{station}, {platform}, "{fmt(arrive)}", "{fmt(depart)}"]')
    out.append("  workings:")
    heads = sorted((t for t in trips if t.before is None), key=lambda t: t.service)
    for unit, head in enumerate(heads, 1):
        numbers = []
        trip: TripPlan | None = head
        while trip is not None:
            numbers.append(f'"{trip.number}"')
            trip = trip.after
        out.append(
            f'    - {{service: "{head.service}", unit: {unit}, from_depot: true, to_depot: true, '
            f"trips: [{', '.join(numbers)}]}}"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    line = load_line(LINE_FILE)
    text = render(line, build(line))
    target = Path(argv[1]) if len(argv) > 1 else OUTPUT
    target.write_text(text, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
