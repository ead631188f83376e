"""The simulated line: trains running a service over the interlocking.

Time is passed in (``step(dt)``), never read from a clock, so tests can run it
faster than real time and get the same answers every run.

:class:`World` holds the line's state and publishes it (snapshots, numbered deltas),
places the trains at start, takes the dispatcher's holds, and exports and restores
itself for replication to the standby. Its other parts, each in its own module:

- ``units.py``: trains are made of units (one 6-car train set each; a
  :class:`SimTrain` is a unit), and where a unit stands on the track;
- ``running.py``: trains run on sight of signals, stop at platforms, reverse at
  turnbacks; automatic route setting; the dispatcher's holds (扣车) and closed signals;
- ``consists.py``: coupling (联挂) and uncoupling (解编), and each unit's coupling
  report, where injected faults lie (the world keeps the truth, the reports lie).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from app.counterparts.sim.consists import (
    COUPLE_RANGE_M,
    COUPLING_FAULTS,
    Consists,
    CouplingFault,
    UnitReport,
)
from app.counterparts.sim.interlocking import Interlocking, SetRoute, SwitchMachine
from app.counterparts.sim.running import FOLLOW_GAP_M, LOOKAHEAD_SECTIONS, STOP_MARGIN_M, Running
from app.counterparts.sim.timetabled import ServicePlan, TimetableRunner
from app.counterparts.sim.units import ServiceSettings, SimTrain, UnitGeometry
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
from app.model.topology import Direction, Line, Section, SwitchLeg
from app.model.track import TrackGraph

__all__ = [
    "COUPLE_RANGE_M",
    "COUPLING_FAULTS",
    "DEVICE_FAULTS",
    "FOLLOW_GAP_M",
    "LOOKAHEAD_SECTIONS",
    "PAIR_GAP_M",
    "STOP_MARGIN_M",
    "CouplingFault",
    "Record",
    "ServiceSettings",
    "SimTrain",
    "UnitGeometry",
    "UnitReport",
    "World",
]

Record = SectionState | SwitchState | SignalState | RouteState

#: how far behind the unit ahead the second unit of a starting pair stands (m)
PAIR_GAP_M = 1.0

#: The device faults the world can carry, named by the alarm kind that reports each
#: (``app/counterparts/sim/alarms/catalogue.py``): a switch that lost its position (its
#: record says ``lost``), a signal whose lamp failed (``dark``), a section that shows a
#: fault occupancy (``fault``). The alarm sources inject them here and raise their alarms
#: from what the world then serves, so an alarm and the device's state always agree.
DEVICE_FAULTS = ("switch_lost", "signal_lamp", "section_fault")


class World(Running, Consists):
    """The line's state and its trains; :meth:`step` moves time on, :meth:`publish` tells
    what changed. Its parts: ``units.py`` (where units stand), ``running.py`` (trains and
    ARS), ``consists.py`` (coupling and the units' reports)."""

    def __init__(
        self,
        line: Line,
        settings: ServiceSettings | None = None,
        wall_ms: Callable[[], int] | None = None,
        plan: ServicePlan | None = None,
        service_clock: tuple[str, float] = ("", 0.0),
    ) -> None:
        """``wall_ms``: the server's wall clock, for each record's since-when (ms since the
        epoch); without it, since-when is simulated time (tests).

        ``plan``: run to a timetable (``timetabled.py``) instead of the turnback loop of
        ``settings.trains`` trains; its service date and start make the service clock.
        ``service_clock``: without a plan, the service date and the service-day second
        at start that snapshots and deltas carry."""
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
        self.faults: set[str] = set()  # sections showing a fault occupancy
        self.dark_signals: set[str] = set()  # signals whose lamp failed
        self.coupling_faults: dict[int, CouplingFault] = {}  # by unit id
        self.report_cycle = 0
        self.service: TimetableRunner | None = None
        self.service_date, self.service_start_s = service_clock
        if plan is not None:
            self.service_date, self.service_start_s = plan.service_date, plan.start_s
            self.service = TimetableRunner(self, plan)
            self.service.place_at_start()
        else:  # the turnback loop (``settings.trains`` and ``pairs``: not with a plan)
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
            position = SwitchPosition.LOST if sw.id in self.lost_switches else m.position
            out["sw", sw.id] = SwitchState(sw.id, position, m.route, False, locked=m.locked)
        for sig in self.line.signals:
            route = il.signal_clear(sig.id)
            if sig.id in self.dark_signals:
                aspect = Aspect.DARK
            elif route is None:
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
            service_date=self.service_date,
            service_ms=self.service_ms,
        )

    @property
    def service_ms(self) -> int:
        """The service clock: ms of the service day now (0: no service clock)."""
        if not self.service_date:
            return 0
        return round((self.service_start_s + self.now) * 1000)

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
            service_date=self.service_date,
            service_ms=self.service_ms,
        )

    # -- time -------------------------------------------------------------------

    def step(self, dt: float) -> None:
        self.now += dt
        if self.service is not None:
            self.service.step()
        self._coupling_phases()
        self._auto_route_setting()
        for train in self.trains.values():
            if not train.carried_by:
                self._move(train, dt)
        self.interlocking.step(self.now, self.occupancy())

    # -- replication ----------------------------------------------------------------

    def export(self, actuals_from: int = 0) -> dict[str, Any]:
        """Everything a standby needs to carry on exactly where this world is; of the
        day's actuals, those from number ``actuals_from`` on (0: all)."""
        il = self.interlocking
        return {
            "service_clock": [self.service_date, self.service_start_s],
            "service": self.service.export(actuals_from) if self.service is not None else None,
            "now": self.now,
            "seq": self.seq,
            "faults": sorted(self.faults),
            "lost_switches": sorted(self.lost_switches),
            "dark_signals": sorted(self.dark_signals),
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
        if "service_clock" in doc:
            date, start = doc["service_clock"]
            self.service_date, self.service_start_s = str(date), float(start)
        if self.service is not None and doc.get("service") is not None:
            self.service.restore(doc["service"])
        self.faults = set(doc["faults"])
        self.lost_switches = set(doc.get("lost_switches", ()))
        self.dark_signals = set(doc.get("dark_signals", ()))
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

    # -- device faults ------------------------------------------------------------

    @property
    def lost_switches(self) -> set[str]:
        """Switches without a position (表示丢失): served as lost, and the interlocking
        sets no route over them."""
        return self.interlocking.lost

    @lost_switches.setter
    def lost_switches(self, switches: set[str]) -> None:
        self.interlocking.lost = set(switches)

    def _fault_set(self, kind: str) -> tuple[set[str], Mapping[str, object]]:
        """The set holding ``kind`` of fault, and the line's devices it may name."""
        line = self.line
        sets: dict[str, tuple[set[str], Mapping[str, object]]] = {
            "switch_lost": (self.lost_switches, line.switch_by_id),
            "signal_lamp": (self.dark_signals, line.signal_by_id),
            "section_fault": (self.faults, line.section_by_id),
        }
        if kind not in sets:
            raise ValueError(f"not a device fault: {kind!r} (one of {DEVICE_FAULTS})")
        return sets[kind]

    def set_device_fault(self, kind: str, device: str, present: bool) -> None:
        """Put a device fault (:data:`DEVICE_FAULTS`) on ``device``, or take it away; the
        next :meth:`publish` serves the device's state with it."""
        faults, devices = self._fault_set(kind)
        if device not in devices:
            raise ValueError(f"{kind}: no such device {device!r}")
        if present:
            faults.add(device)
        else:
            faults.discard(device)

    def device_faults(self) -> set[tuple[str, str]]:
        """Every device fault the world carries now, as (kind, device)."""
        return {(kind, d) for kind in DEVICE_FAULTS for d in self._fault_set(kind)[0]}

    # -- dispatcher commands ------------------------------------------------------

    def switch_position(self, switch: str) -> SwitchPosition:
        return self.interlocking.switches[switch].position

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
