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
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from app.model.commands import parse_train_device
from app.model.state import (
    Aspect,
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
from app.sim.interlocking import Interlocking, Refused, SetRoute, SwitchMachine

Record = SectionState | SwitchState | SignalState | RouteState

STOP_MARGIN_M = 8.0
LOOKAHEAD_SECTIONS = 4


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


class World:
    def __init__(self, line: Line, settings: ServiceSettings | None = None) -> None:
        self.line = line
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
        self._place_trains(self.settings.trains)
        self.interlocking.occupied = self.occupancy()
        # Raw records compare by content; the stamped copies carry since-when.
        self._raw = self._records()
        self._published: dict[tuple[str, str], Record] = dict(self._raw)
        self._published_trains: dict[int, TrainState] = {
            t.id: self.train_state(t) for t in self.trains.values()
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
            occupied.add(t.section)
            covered = t.travelled_m
            for prev in t.trail:
                if covered >= self.train_length:
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
        sec = self.line.section_by_id[t.section]
        offset = t.travelled_m if t.entry_end == 0 else sec.length_m - t.travelled_m
        return TrainState(
            t.id,
            t.number,
            t.section,
            round(max(0.0, min(sec.length_m, offset)), 2),
            round(t.speed_ms * 3.6, 1),
            t.direction,
            held=t.held,
        )

    def snapshot(self) -> StateSnapshot:
        recs = list(self._published.values())
        return StateSnapshot(
            seq=self.seq,
            sections=tuple(r for r in recs if isinstance(r, SectionState)),
            switches=tuple(r for r in recs if isinstance(r, SwitchState)),
            signals=tuple(r for r in recs if isinstance(r, SignalState)),
            routes=tuple(r for r in recs if isinstance(r, RouteState)),
            trains=tuple(self.train_state(t) for t in self.trains.values()),
            time_ms=int(self.now * 1000),
        )

    def publish(self) -> StateDelta | None:
        """The changes since the last publish, as the next numbered delta (or None)."""
        current = self._records()
        now_ms = int(self.now * 1000)
        changed: list[Record] = []
        for key, rec in current.items():
            if self._raw.get(key) != rec:
                stamped = dataclasses.replace(rec, since_ms=now_ms)
                self._published[key] = stamped
                changed.append(stamped)
        released = [key for key in self._raw if key[0] == "route" and key not in current]
        for key in released:
            del self._published[key]
        trains = {}
        for t in self.trains.values():
            st = self.train_state(t)
            old = self._published_trains.get(t.id)
            if old is None or (old.section, old.direction, old.number, old.held) != (
                st.section,
                st.direction,
                st.number,
                st.held,
            ):
                trains[t.id] = st
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
            time_ms=now_ms,
        )

    # -- time -------------------------------------------------------------------

    def step(self, dt: float) -> None:
        self.now += dt
        self._auto_route_setting()
        for train in self.trains.values():
            self._move(train, dt)
        self.interlocking.step(self.now, self.occupancy())

    def _signal_ahead(self, t: SimTrain) -> str | None:
        return self._signal_at.get((t.section, t.direction))

    def _auto_route_setting(self) -> None:
        il = self.interlocking
        for t in self.trains.values():
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

    def _move(self, t: SimTrain, dt: float) -> None:
        s = self.settings
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

    # -- replication ----------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything a standby needs to carry on exactly where this world is."""
        il = self.interlocking
        return {
            "now": self.now,
            "seq": self.seq,
            "faults": sorted(self.faults),
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
        """Hold train ``train:<id>`` (扣车); returns False if it was held already."""
        train = self._train(device)
        if train.held:
            return False
        train.held = True
        return True

    def release_train(self, device: str) -> bool:
        """Release a held train (放行); returns False if it was not held."""
        train = self._train(device)
        if not train.held:
            return False
        train.held = False
        return True
