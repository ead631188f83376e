"""The simulated line: trains running a service over the interlocking.

Time is passed in (``step(dt)``), never read from a clock, so tests can run it
faster than real time and get the same answers every run.

Trains run on sight of signals: a train may only pass a signal that shows
proceed, stops at every platform for its dwell, and reverses at the end of a
turnback track. Automatic route setting (ARS) asks the interlocking for the
straightest route from the signal ahead of each train, except from a signal the
dispatcher has closed. A train the dispatcher holds (扣车) does not leave its
platform once its dwell is over; a held train on the way stops at its next
platform as usual and stays there, until released.

Trains are made of units (one 6-car train set each; a ``SimTrain`` is a unit).
Two units standing still end to end on the same track may be coupled (联挂)
into one consist: the front unit carries the consist (``consist`` lists its
units front to back), the others ride with it (``carried_by``) and report
positions one unit length apart behind its head. Coupling and uncoupling (解编)
take ``couple_s``; a consist stands still meanwhile. The front unit's cab is
the master; a turnback reverses the order and moves the master to the new
front. Coupling faults (flicker, disagreeing units, two masters, no master,
lost reports) are injected into the *reports* (:meth:`World.unit_reports`), not
into the consist itself: the world keeps the truth, the reports lie.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.counterparts.sim.interlocking import Interlocking, Refused, SetRoute, SwitchMachine
from app.model.commands import parse_train_device
from app.model.state import (
    Aspect,
    CabRole,
    CouplingState,
    RouteState,
    RouteStatus,
    SectionState,
    SignalState,
    StateDelta,
    StateSnapshot,
    SwitchPosition,
    SwitchState,
    TrainState,
)
from app.model.topology import Direction, Line, Section, SwitchLeg, TrackKind
from app.model.track import TrackGraph

Record = SectionState | SwitchState | SignalState | RouteState

STOP_MARGIN_M = 8.0
LOOKAHEAD_SECTIONS = 4
#: how close (m) two units must stand, end to end, to be coupled
COUPLE_RANGE_M = 30.0
#: the gap a unit keeps to the tail of a unit ahead of it on the same section (m)
FOLLOW_GAP_M = 1.0
#: how far behind the unit ahead the second unit of a starting pair stands (m)
PAIR_GAP_M = 1.0
#: faults that can be injected into a consist's coupling reports
COUPLING_FAULTS = ("flicker", "disagree", "dual_master", "no_master", "lost", "none")
_CYCLE = ("uncoupled", "coupling", "coupled", "uncoupling")


@dataclass(frozen=True, slots=True)
class UnitReport:
    """What one unit reports this cycle (after any injected fault)."""

    train: TrainState
    consist: int
    index: int
    count: int
    coupling: CouplingState
    cab: CabRole


@dataclass(slots=True)
class CouplingFault:
    kind: str
    until: float = 0.0  # simulated time it ends (0: until cleared)


@dataclass(slots=True)
class SimTrain:
    id: int
    trip: int
    direction: Direction
    section: str
    entry_end: int
    travelled_m: float
    speed_ms: float = 0.0
    dwell_left_s: float = 0.0
    dwelled_in: str = ""
    trail: list[str] = field(default_factory=list)
    held: bool = False
    #: on the unit that carries a consist: its units, front to back (empty: alone)
    consist: list[int] = field(default_factory=list)
    carried_by: int = 0  # the unit carrying this one in a consist (0: none)
    coupling: str = "uncoupled"  # a CouplingState value
    cab: str = "master"  # a CabRole value
    phase_until: float = 0.0  # when coupling or uncoupling is done

    @property
    def number(self) -> str:
        return f"{self.id:02d}{self.trip % 100:02d}"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    trains: int = 20
    dwell_s: float = 30.0
    turnback_s: float = 40.0
    accel_ms2: float = 0.9
    brake_ms2: float = 0.9
    pairs: int = 0  # extra units placed, held, end to end behind the first trains
    couple_s: float = 5.0


class World:
    def __init__(
        self,
        line: Line,
        settings: ServiceSettings | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        """``wall_ms``: the server's wall clock, for each record's since-when (ms since the
        epoch); without it, since-when is simulated time (tests)."""
        self.line = line
        self.wall_ms = wall_ms
        self.settings = settings or ServiceSettings()
        self.graph = TrackGraph(line)
        self.interlocking = Interlocking(line)
        self.now = 0.0
        self.seq = 0
        self.vmax = line.train.max_speed_kmh / 3.6
        self.train_length = line.train.length_m
        self._platform_sections = {p.section for p in line.platforms}
        self._signal_at = {(s.section, s.direction): s.id for s in line.signals}
        self.trains: dict[int, SimTrain] = {}
        self.faults: set[str] = set()
        self.coupling_faults: dict[int, CouplingFault] = {}  # by unit id
        self.report_cycle = 0
        self._place_trains(self.settings.trains)
        self._place_pairs(self.settings.pairs)
        self.interlocking.occupied = self.occupancy()
        # Raw records compare by content; the stamped copies carry since-when.
        self._raw = self._records()
        # Since-when of the records as found at start: the server's start.
        start_ms = wall_ms() if wall_ms is not None else 0
        self._published: dict[tuple[str, str], Record] = {
            key: dataclasses.replace(rec, since_ms=start_ms) for key, rec in self._raw.items()
        }
        self._published_trains: dict[int, TrainState] = {
            t.id: dataclasses.replace(self.train_state(t), since_ms=start_ms)
            for t in self.trains.values()
        }

    # -- set-up -----------------------------------------------------------------

    def _place_trains(self, count: int) -> None:
        """Spread the trains evenly over the platforms, in service order."""
        stations = sorted(self.line.stations, key=lambda s: s.km)
        order = {s.id: i for i, s in enumerate(stations)}
        down = sorted(
            (p for p in self.line.platforms if p.direction is Direction.DOWN),
            key=lambda p: order[p.station],
        )
        up = sorted(
            (p for p in self.line.platforms if p.direction is Direction.UP),
            key=lambda p: -order[p.station],
        )
        loop = down + up
        if not loop or count <= 0:
            return
        count = min(count, len(loop))
        for i in range(count):
            platform = loop[(i * len(loop)) // count]
            sec = self.line.section_by_id[platform.section]
            entry = self._entry_end(sec, platform.direction)
            train = SimTrain(
                id=i + 1,
                trip=1,
                direction=platform.direction,
                section=sec.id,
                entry_end=entry,
                travelled_m=max(0.0, sec.length_m - STOP_MARGIN_M - 1.0),
                dwell_left_s=self.settings.dwell_s * (i % 3 + 1) / 3,
                dwelled_in=sec.id,
            )
            self.trains[train.id] = train

    def _place_pairs(self, pairs: int) -> None:
        """A unit standing, held, just behind each of the first ``pairs`` trains (also held)."""
        first_id = max(self.trains, default=0) + 1
        fronts = sorted(self.trains.values(), key=lambda t: t.id)[: max(0, pairs)]
        for i, front in enumerate(fronts):
            sec, entry, travelled = self._walk_back(
                front.section, front.entry_end, front.travelled_m, self.train_length + PAIR_GAP_M
            )
            front.held = True
            rear = SimTrain(
                id=first_id + i,
                trip=1,
                direction=front.direction,
                section=sec,
                entry_end=entry,
                travelled_m=travelled,
                dwelled_in=sec,
                held=True,
            )
            self.trains[rear.id] = rear

    @staticmethod
    def _entry_end(sec: Section, direction: Direction) -> int:
        increasing = sec.x1 >= sec.x0
        if direction is Direction.DOWN:
            return 0 if increasing else 1
        return 1 if increasing else 0

    # -- state records ------------------------------------------------------------

    def occupancy(self) -> set[str]:
        occupied: set[str] = set()
        for t in self.trains.values():
            if t.carried_by:
                continue  # its carrier's length covers it
            occupied.add(t.section)
            covered = t.travelled_m
            length = self.train_length * max(1, len(t.consist))
            for prev in t.trail:
                if covered >= length:
                    break
                occupied.add(prev)
                covered += self.line.section_by_id[prev].length_m
        return occupied

    def _records(self) -> dict[tuple[str, str], Record]:
        il = self.interlocking
        out: dict[tuple[str, str], Record] = {}
        occupied = il.occupied
        for sec in self.line.sections:
            out["sec", sec.id] = SectionState(
                sec.id, sec.id in occupied, il.section_route.get(sec.id, ""), sec.id in self.faults
            )
        for sw in self.line.switches:
            m = il.switches[sw.id]
            out["sw", sw.id] = SwitchState(sw.id, m.position, m.route, False, locked=m.locked)
        for sig in self.line.signals:
            route = il.signal_clear(sig.id)
            if route is None:
                aspect = Aspect.STOP
            elif any(s.position is SwitchLeg.REVERSE for s in route.switches):
                aspect = Aspect.PROCEED_DIVERGING
            else:
                aspect = Aspect.PROCEED
            out["sig", sig.id] = SignalState(sig.id, aspect, closed=sig.id in il.closed)
        for rid, setr in il.routes.items():
            status = RouteStatus.SETTING if setr.held else RouteStatus.SET
            out["route", rid] = RouteState(rid, status)
        return out

    def train_state(self, t: SimTrain) -> TrainState:
        body = self.trains.get(t.carried_by, t) if t.carried_by else t
        section, entry_end, travelled = self.unit_position(t)
        sec = self.line.section_by_id[section]
        offset = travelled if entry_end == 0 else sec.length_m - travelled
        return TrainState(
            t.id,
            t.number,
            section,
            round(max(0.0, min(sec.length_m, offset)), 2),
            round(body.speed_ms * 3.6, 1),
            body.direction,
            CouplingState(t.coupling),
            CabRole(t.cab),
            held=body.held,
        )

    # -- units and consists -------------------------------------------------------------

    def body(self, t: SimTrain) -> SimTrain:
        """The unit that carries ``t``'s consist (``t`` itself when alone or in front)."""
        return self.trains.get(t.carried_by, t) if t.carried_by else t

    def units_of(self, t: SimTrain) -> list[int]:
        """The unit ids of ``t``'s consist, front to back."""
        body = self.body(t)
        return list(body.consist) if body.consist else [body.id]

    def unit_position(
        self, t: SimTrain, positions: dict[str, str] | None = None
    ) -> tuple[str, int, float]:
        """(section, entry end, metres from it) of the unit's head."""
        body = self.body(t)
        if not body.consist:
            return body.section, body.entry_end, body.travelled_m
        back = body.consist.index(t.id) * self.train_length if t.id in body.consist else 0.0
        if back <= 0:
            return body.section, body.entry_end, body.travelled_m
        return self._walk_back(body.section, body.entry_end, body.travelled_m, back, positions)

    def _walk_back(
        self,
        section: str,
        entry_end: int,
        travelled: float,
        distance: float,
        positions: dict[str, str] | None = None,
    ) -> tuple[str, int, float]:
        """The point ``distance`` m behind a head at (section, entry end, travelled)."""
        if positions is None:
            positions = self.interlocking.positions()
        for _ in range(64):
            if distance <= travelled:
                return section, entry_end, travelled - distance
            distance -= travelled
            join = self.graph.ahead(section, entry_end, positions)
            if join is None:
                return section, entry_end, 0.0
            section, entry_end = join.section, 1 - join.end
            travelled = self.line.section_by_id[section].length_m
        return section, entry_end, 0.0

    def _gap_behind(
        self, ahead: tuple[str, int, float], behind: tuple[str, int, float], limit: float
    ) -> float | None:
        """How far ``behind`` is behind the point ``ahead`` (same direction), up to ``limit``."""
        section, entry_end, travelled = ahead
        positions = self.interlocking.positions()
        gone = 0.0
        for _ in range(16):
            if (section, entry_end) == behind[:2] and behind[2] <= travelled + 0.01:
                gap = gone + travelled - behind[2]
                return gap if gap <= limit else None
            gone += travelled
            if gone > limit:
                return None
            join = self.graph.ahead(section, entry_end, positions)
            if join is None:
                return None
            section, entry_end = join.section, 1 - join.end
            travelled = self.line.section_by_id[section].length_m
        return None

    def snapshot(self) -> StateSnapshot:
        recs = list(self._published.values())
        return StateSnapshot(
            seq=self.seq,
            sections=tuple(r for r in recs if isinstance(r, SectionState)),
            switches=tuple(r for r in recs if isinstance(r, SwitchState)),
            signals=tuple(r for r in recs if isinstance(r, SignalState)),
            routes=tuple(r for r in recs if isinstance(r, RouteState)),
            trains=tuple(self._stamped(t) for t in self.trains.values()),
            time_ms=int(self.now * 1000),
        )

    def _stamped(self, t: SimTrain) -> TrainState:
        """The train now, with since-when its published state last changed."""
        published = self._published_trains.get(t.id)
        since_ms = published.since_ms if published is not None else self._since_now()
        return dataclasses.replace(self.train_state(t), since_ms=since_ms)

    def _since_now(self) -> int:
        return self.wall_ms() if self.wall_ms is not None else int(self.now * 1000)

    def publish(self) -> StateDelta | None:
        """The changes since the last publish, as the next numbered delta (or None)."""
        current = self._records()
        since_ms = self._since_now()
        changed: list[Record] = []
        for key, rec in current.items():
            if self._raw.get(key) != rec:
                stamped = dataclasses.replace(rec, since_ms=since_ms)
                self._published[key] = stamped
                changed.append(stamped)
        released = [key for key in self._raw if key[0] == "route" and key not in current]
        for key in released:
            del self._published[key]
        trains = {}
        for t in self.trains.values():
            st = self.train_state(t)
            old = self._published_trains.get(t.id)
            if old is None or (
                old.section,
                old.direction,
                old.number,
                old.held,
                old.coupling,
                old.cab,
            ) != (st.section, st.direction, st.number, st.held, st.coupling, st.cab):
                st = dataclasses.replace(st, since_ms=since_ms)
                trains[t.id] = st
            else:
                st = dataclasses.replace(st, since_ms=old.since_ms)
            self._published_trains[t.id] = st
        removed = [tid for tid in self._published_trains if tid not in self.trains]
        for tid in removed:
            del self._published_trains[tid]
        self._raw = current
        if not (changed or released or trains or removed):
            return None
        self.seq += 1
        return StateDelta(
            seq=self.seq,
            sections=tuple(r for r in changed if isinstance(r, SectionState)),
            switches=tuple(r for r in changed if isinstance(r, SwitchState)),
            signals=tuple(r for r in changed if isinstance(r, SignalState)),
            routes=tuple(r for r in changed if isinstance(r, RouteState)),
            routes_released=tuple(key[1] for key in released),
            trains=tuple(trains.values()),
            trains_removed=tuple(removed),
            time_ms=int(self.now * 1000),
        )

    # -- time -------------------------------------------------------------------

    def step(self, dt: float) -> None:
        self.now += dt
        self._coupling_phases()
        self._auto_route_setting()
        for train in self.trains.values():
            if not train.carried_by:
                self._move(train, dt)
        self.interlocking.step(self.now, self.occupancy())

    def _signal_ahead(self, t: SimTrain) -> str | None:
        return self._signal_at.get((t.section, t.direction))

    def _auto_route_setting(self) -> None:
        il = self.interlocking
        for t in self.trains.values():
            if t.carried_by:
                continue
            sig = self._signal_ahead(t)
            if sig is None or sig in il.closed or il.signal_clear(sig) is not None:
                continue
            routes = il.routes_from(sig)
            if any(r.id in il.routes for r in routes):
                continue
            for route in routes:
                try:
                    il.set_route(route, self.now)
                except Refused:  # not now; try the next one, or again next step
                    continue
                break

    def _authority_m(self, t: SimTrain) -> tuple[float, bool]:
        """Distance the train may run, and whether it ends at a turnback buffer."""
        il = self.interlocking
        positions = il.positions()
        sec = self.line.section_by_id[t.section]
        dist = sec.length_m - t.travelled_m
        section, entry = sec, t.entry_end
        first = True
        ahead = self._unit_ahead_m(t)
        if ahead is not None and ahead < dist - STOP_MARGIN_M:
            return max(0.0, ahead), False
        for _ in range(LOOKAHEAD_SECTIONS):
            if section.id in self._platform_sections and (
                not first
                or t.dwelled_in != section.id
                # held: one that stopped here does not start off (once past its stopping
                # point it has left, and the hold takes effect at the next platform)
                or (t.held and t.travelled_m <= section.length_m - STOP_MARGIN_M + 0.5)
            ):
                return max(0.0, dist - STOP_MARGIN_M), False
            signal = self._signal_at.get((section.id, t.direction))
            if signal is not None and il.signal_clear(signal) is None:
                buffer = section.kind is TrackKind.TURNBACK and not il.routes_from(signal)
                return max(0.0, dist - STOP_MARGIN_M), buffer
            join = self.graph.ahead(section.id, 1 - entry, positions)
            if join is None:
                return max(0.0, dist - STOP_MARGIN_M), section.kind is TrackKind.TURNBACK
            if join.section in il.occupied and join.section != t.section:
                return max(0.0, dist - STOP_MARGIN_M), False
            section, entry = self.line.section_by_id[join.section], join.end
            dist += section.length_m
            first = False
        return dist, False

    def _unit_ahead_m(self, t: SimTrain) -> float | None:
        """Room to the nearest end of another consist's unit ahead on ``t``'s own section.

        Trains never enter an occupied section, but units of a starting pair, or
        the two halves of a consist just uncoupled, share one.
        """
        own = set(self.units_of(t))
        length = self.line.section_by_id[t.section].length_m
        positions = self.interlocking.positions()
        best: float | None = None
        for other in self.trains.values():
            if other.id in own:
                continue
            head = self.unit_position(other, positions)
            tail = self._walk_back(*head, self.train_length, positions)
            for sec_id, entry_end, travelled in (head, tail):
                if sec_id != t.section:
                    continue
                pos = travelled if entry_end == t.entry_end else length - travelled
                if pos > t.travelled_m:
                    room = pos - t.travelled_m - FOLLOW_GAP_M
                    best = room if best is None else min(best, room)
        return best

    def _move(self, t: SimTrain, dt: float) -> None:
        s = self.settings
        if t.coupling in ("coupling", "uncoupling"):
            t.speed_ms = 0.0  # a consist being coupled or split stands still
            return
        if t.dwell_left_s > 0:
            t.dwell_left_s = max(0.0, t.dwell_left_s - dt)
            return
        authority, at_buffer = self._authority_m(t)
        if authority <= 0.05 and t.speed_ms <= 0.05:
            t.speed_ms = 0.0
            if t.section in self._platform_sections and t.dwelled_in != t.section:
                t.dwelled_in = t.section
                t.dwell_left_s = s.dwell_s
            elif at_buffer:
                self._reverse(t)
            return
        target = min(self.vmax, math.sqrt(2 * s.brake_ms2 * max(0.0, authority)))
        if t.speed_ms < target:
            t.speed_ms = min(target, t.speed_ms + s.accel_ms2 * dt)
        else:
            t.speed_ms = target
        run = min(t.speed_ms * dt, authority)
        self._advance(t, run)

    def _advance(self, t: SimTrain, run: float) -> None:
        positions = self.interlocking.positions()
        t.travelled_m += run
        sec = self.line.section_by_id[t.section]
        while t.travelled_m > sec.length_m:
            join = self.graph.ahead(sec.id, 1 - t.entry_end, positions)
            if join is None:
                t.travelled_m = sec.length_m
                t.speed_ms = 0.0
                return
            t.travelled_m -= sec.length_m
            t.trail.insert(0, sec.id)
            del t.trail[3:]
            t.section, t.entry_end = join.section, join.end
            sec = self.line.section_by_id[t.section]

    def _reverse(self, t: SimTrain) -> None:
        sec = self.line.section_by_id[t.section]
        t.direction = t.direction.opposite
        t.entry_end = 1 - t.entry_end
        t.travelled_m = max(0.0, sec.length_m - t.travelled_m)
        t.trail.clear()
        t.trip += 1
        t.dwell_left_s = self.settings.turnback_s
        t.dwelled_in = t.section
        if t.consist:
            # the other end leads now: its cab becomes the master
            t.consist.reverse()
            for i, uid in enumerate(t.consist):
                unit = self.trains[uid]
                unit.cab = "master" if i == 0 else "slave"
                unit.trip = t.trip

    # -- replication ----------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything a standby needs to carry on exactly where this world is."""
        il = self.interlocking
        return {
            "now": self.now,
            "seq": self.seq,
            "faults": sorted(self.faults),
            "coupling_faults": {
                str(uid): [f.kind, f.until] for uid, f in self.coupling_faults.items()
            },
            "trains": [dataclasses.asdict(t) for t in self.trains.values()],
            "switches": {k: dataclasses.asdict(m) for k, m in il.switches.items()},
            "closed_signals": sorted(il.closed),
            "routes": [
                {"id": r.route.id, "since": r.since, "entered": r.entered, "held": r.held}
                for r in il.routes.values()
            ],
            "section_route": dict(il.section_route),
        }

    def restore(self, doc: dict[str, Any]) -> None:
        """Become the world ``doc`` describes (a master's :meth:`export`).

        Sequence numbers are per server: ``doc["seq"]`` is the master's and is not taken.
        """
        il = self.interlocking
        self.now = float(doc["now"])
        self.faults = set(doc["faults"])
        self.coupling_faults = {
            int(uid): CouplingFault(str(kind), float(until))
            for uid, (kind, until) in doc.get("coupling_faults", {}).items()
        }
        self.trains = {}
        for t in doc["trains"]:
            train = SimTrain(**{**t, "direction": Direction(t["direction"])})
            self.trains[train.id] = train
        for sid, m in doc["switches"].items():
            il.switches[sid] = SwitchMachine(
                position=SwitchPosition(m["position"]),
                target=SwitchLeg(m["target"]) if m["target"] else None,
                done_at=m["done_at"],
                route=m["route"],
                since=m["since"],
                locked=bool(m.get("locked", False)),
            )
        il.routes = {
            r["id"]: SetRoute(self.line.route_by_id[r["id"]], r["since"], r["entered"], r["held"])
            for r in doc["routes"]
        }
        il.section_route = dict(doc["section_route"])
        il.closed = set(doc.get("closed_signals", ()))
        il.occupied = self.occupancy()
        # The publishing baseline and sequence numbers stay this world's own:
        # the next publish() sends what the master changed, numbered by us.

    # -- dispatcher commands ------------------------------------------------------

    def switch_position(self, switch: str) -> SwitchPosition:
        return self.interlocking.switches[switch].position

    def _train(self, device: str) -> SimTrain:
        train_id = parse_train_device(device)
        train = self.trains.get(train_id) if train_id is not None else None
        if train is None:
            raise Refused("unknown_device", f"no train {device} on this line")
        return train

    def hold_train(self, device: str) -> bool:
        """Hold train ``train:<id>`` (扣车); returns False if it was held already.

        A unit of a consist holds the whole consist."""
        train = self.body(self._train(device))
        if train.held:
            return False
        train.held = True
        return True

    def release_train(self, device: str) -> bool:
        """Release a held train (放行); returns False if it was not held."""
        train = self.body(self._train(device))
        if not train.held:
            return False
        train.held = False
        return True

    # -- coupling (联挂) and uncoupling (解编) ---------------------------------------------

    def couple_train(self, device: str) -> str:
        """Couple unit ``train:<id>`` with the unit standing end to end with it.

        Both must be alone, stopped, running the same way, within
        :data:`COUPLE_RANGE_M` of each other on the same track. Returns the
        partner's id as text; raises :class:`Refused` otherwise.
        """
        unit = self._train(device)
        if unit.carried_by or unit.consist or unit.coupling != "uncoupled":
            raise Refused(
                "already_coupled", f"train {unit.number} is in a consist ({unit.coupling})"
            )
        if unit.speed_ms > 0.05:
            raise Refused("not_stopped", f"train {unit.number} is moving")
        head = self.unit_position(unit)
        tail = self._walk_back(*head, self.train_length)
        found: tuple[float, SimTrain, bool] | None = None  # (gap, partner, partner is ahead)
        for other in self.trains.values():
            if (
                other.id == unit.id
                or other.carried_by
                or other.consist
                or other.coupling != "uncoupled"
                or other.direction is not unit.direction
                or other.speed_ms > 0.05
            ):
                continue
            o_head = self.unit_position(other)
            o_tail = self._walk_back(*o_head, self.train_length)
            for gap, ahead in (
                (self._gap_behind(o_tail, head, COUPLE_RANGE_M), True),
                (self._gap_behind(tail, o_head, COUPLE_RANGE_M), False),
            ):
                if gap is not None and (found is None or gap < found[0]):
                    found = (gap, other, ahead)
        if found is None:
            raise Refused(
                "no_partner",
                f"no stopped unit stands end to end with train {unit.number} "
                f"within {COUPLE_RANGE_M:g} m",
            )
        _, partner, partner_ahead = found
        front, rear = (partner, unit) if partner_ahead else (unit, partner)
        front.consist = [front.id, rear.id]
        rear.carried_by = front.id
        rear.speed_ms = front.speed_ms = 0.0
        rear.trail.clear()
        front.held = front.held or rear.held
        rear.held = False
        for u, cab in ((front, "master"), (rear, "slave")):
            u.coupling = "coupling"
            u.cab = cab
        front.phase_until = self.now + self.settings.couple_s
        return str(partner.id)

    def uncouple_train(self, device: str) -> str:
        """Split the consist of unit ``train:<id>`` (解编): it must be coupled and stopped."""
        unit = self._train(device)
        body = self.body(unit)
        if not body.consist:
            raise Refused("not_coupled", f"train {unit.number} is not in a consist")
        if body.coupling != "coupled":
            raise Refused(
                "coupling_in_progress", f"the consist of train {unit.number} is {body.coupling}"
            )
        if body.speed_ms > 0.05:
            raise Refused("not_stopped", f"the consist of train {unit.number} is moving")
        for uid in body.consist:
            self.trains[uid].coupling = "uncoupling"
        body.phase_until = self.now + self.settings.couple_s
        return ""

    def _coupling_phases(self) -> None:
        for uid, fault in list(self.coupling_faults.items()):
            if fault.until and self.now >= fault.until:
                del self.coupling_faults[uid]
        for body in list(self.trains.values()):
            if not body.consist or body.phase_until <= 0 or self.now < body.phase_until:
                continue
            body.phase_until = 0.0
            if body.coupling == "coupling":
                for uid in body.consist:
                    self.trains[uid].coupling = "coupled"
            elif body.coupling == "uncoupling":
                self._split(body)

    def _split(self, body: SimTrain) -> None:
        units = [self.trains[uid] for uid in body.consist]
        places = {u.id: self.unit_position(u) for u in units}
        held = body.held
        body.consist = []
        for i, u in enumerate(units):
            section, entry_end, travelled = places[u.id]
            u.section, u.entry_end, u.travelled_m = section, entry_end, travelled
            u.direction = body.direction
            u.carried_by = 0
            u.speed_ms = 0.0
            u.coupling, u.cab = "uncoupled", "master"
            u.held = held
            if i > 0:
                u.trail = []
                u.dwelled_in = section
                u.dwell_left_s = self.settings.dwell_s

    # -- fault injection into the coupling reports ------------------------------------

    def inject_fault(self, device: str, arg: str) -> str:
        """Make the reports of ``train:<id>``'s consist lie: ``KIND[:SECONDS]``.

        Kinds: flicker (the coupling state alternates every cycle), disagree (the
        last unit reports another state than the others), dual_master, no_master,
        lost (no reports at all), none (clears). SECONDS ends it by itself.
        """
        unit = self._train(device)
        kind, _, seconds = arg.partition(":")
        if kind not in COUPLING_FAULTS:
            raise Refused(
                "bad_argument", f"fault {kind!r} is not one of {', '.join(COUPLING_FAULTS)}"
            )
        try:
            duration = float(seconds) if seconds else 0.0
        except ValueError:
            duration = -1.0
        if not (duration >= 0 and math.isfinite(duration)):
            raise Refused("bad_argument", f"fault duration {seconds!r} is not seconds >= 0")
        if kind == "disagree" and len(self.units_of(unit)) < 2:
            raise Refused("bad_argument", "disagree needs a consist of two units or more")
        if kind == "none":
            return "" if self.coupling_faults.pop(unit.id, None) else "no fault was injected"
        until = self.now + duration if duration else 0.0
        self.coupling_faults[unit.id] = CouplingFault(kind, until)
        return ""

    def _fault_of(self, units: list[int]) -> str:
        for uid in units:
            fault = self.coupling_faults.get(uid)
            if fault is None:
                continue
            if fault.until and self.now >= fault.until:
                del self.coupling_faults[uid]
                continue
            return fault.kind
        return ""

    def unit_reports(self) -> list[UnitReport]:
        """Every unit's report for this cycle, faults applied; lost ones left out."""
        self.report_cycle += 1
        out: list[UnitReport] = []
        for t in self.trains.values():
            if t.carried_by:
                continue
            units = self.units_of(t)
            fault = self._fault_of(units)
            if fault == "lost":
                continue
            count = len(units)
            for index, uid in enumerate(units):
                unit = self.trains[uid]
                coupling, cab = unit.coupling, unit.cab
                other = _CYCLE[(_CYCLE.index(coupling) + 1) % len(_CYCLE)]
                if (fault == "flicker" and self.report_cycle % 2) or (
                    fault == "disagree" and index == count - 1
                ):
                    coupling = other
                elif fault == "dual_master":
                    cab = "master"
                elif fault == "no_master":
                    cab = "slave"
                out.append(
                    UnitReport(
                        self.train_state(unit),
                        t.id,
                        index,
                        count,
                        CouplingState(coupling),
                        CabRole(cab),
                    )
                )
        return out
