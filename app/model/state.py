"""Live line state: device and train records, snapshots, deltas and the client store.

Records are frozen values: a change replaces the record, so a view holding the
old one never sees it mutate underneath it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

from app.model.commands import parse_train_device
from app.model.topology import Direction, Line


class SwitchPosition(StrEnum):
    NORMAL = "normal"
    REVERSE = "reverse"
    MOVING = "moving"
    LOST = "lost"


class Aspect(StrEnum):
    STOP = "stop"
    PROCEED = "proceed"
    PROCEED_DIVERGING = "proceed_diverging"
    DARK = "dark"


class RouteStatus(StrEnum):
    SETTING = "setting"
    SET = "set"


class CouplingState(StrEnum):
    UNCOUPLED = "uncoupled"
    COUPLING = "coupling"
    COUPLED = "coupled"
    UNCOUPLING = "uncoupling"


class CabRole(StrEnum):
    NONE = "none"
    MASTER = "master"
    SLAVE = "slave"


@dataclass(frozen=True, slots=True)
class SectionState:
    id: str
    occupied: bool = False
    route: str = ""
    fault: bool = False
    since_ms: int = 0


@dataclass(frozen=True, slots=True)
class SwitchState:
    """``locked``: single-locked (单锁) by the dispatcher; it cannot be thrown until unlocked.

    (``route`` is the interlocking's own locking by a set route; ``blocked`` is 封锁.)
    New fields go last, with a default: older peers omit them (docs/protocol.md).
    """

    id: str
    position: SwitchPosition = SwitchPosition.NORMAL
    route: str = ""
    blocked: bool = False
    since_ms: int = 0
    locked: bool = False


@dataclass(frozen=True, slots=True)
class SignalState:
    """``closed``: closed (封闭) by the dispatcher: it shows stop and no route is set from it."""

    id: str
    aspect: Aspect = Aspect.STOP
    since_ms: int = 0
    closed: bool = False


@dataclass(frozen=True, slots=True)
class RouteState:
    id: str
    status: RouteStatus
    since_ms: int = 0


@dataclass(frozen=True, slots=True)
class TrainState:
    id: int
    number: str
    section: str
    offset_m: float
    speed_kmh: float
    direction: Direction
    coupling: CouplingState = CouplingState.UNCOUPLED
    cab: CabRole = CabRole.MASTER
    since_ms: int = 0
    #: held (扣车) by the dispatcher: it does not leave its platform until released. Only
    #: state messages carry it; the UDP status record does not (the session keeps it).
    held: bool = False


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The whole line state at sequence number ``seq``."""

    seq: int
    sections: tuple[SectionState, ...] = ()
    switches: tuple[SwitchState, ...] = ()
    signals: tuple[SignalState, ...] = ()
    routes: tuple[RouteState, ...] = ()
    trains: tuple[TrainState, ...] = ()
    time_ms: int = 0
    #: the server's service day (``YYYY-MM-DD``) and time in it (ms from its midnight,
    #: past 24:00 after midnight, docs/timetable.md) when it runs to a timetable;
    #: "" and 0 when it does not. Sent at protocol level 2 (docs/protocol.md).
    service_date: str = ""
    service_ms: int = 0


@dataclass(frozen=True, slots=True)
class StateDelta:
    """What changed since ``seq - 1``. Routes and trains may also disappear."""

    seq: int
    sections: tuple[SectionState, ...] = ()
    switches: tuple[SwitchState, ...] = ()
    signals: tuple[SignalState, ...] = ()
    routes: tuple[RouteState, ...] = ()
    routes_released: tuple[str, ...] = ()
    trains: tuple[TrainState, ...] = ()
    trains_removed: tuple[int, ...] = ()
    time_ms: int = 0
    service_date: str = ""  # as in StateSnapshot
    service_ms: int = 0

    def is_empty(self) -> bool:
        return not (
            self.sections
            or self.switches
            or self.signals
            or self.routes
            or self.routes_released
            or self.trains
            or self.trains_removed
        )


@dataclass(slots=True)
class Changes:
    """What a view must repaint. ``full`` means everything (a snapshot arrived)."""

    full: bool = False
    sections: set[str] = field(default_factory=set)
    switches: set[str] = field(default_factory=set)
    signals: set[str] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    trains: set[int] = field(default_factory=set)
    trains_removed: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return self.full or any(
            (
                self.sections,
                self.switches,
                self.signals,
                self.routes,
                self.trains,
                self.trains_removed,
            )
        )

    def merge(self, other: Changes) -> None:
        self.full |= other.full
        self.sections |= other.sections
        self.switches |= other.switches
        self.signals |= other.signals
        self.routes |= other.routes
        self.trains |= other.trains - other.trains_removed
        self.trains_removed = (self.trains_removed | other.trains_removed) - other.trains
        self.trains -= self.trains_removed


class SequenceGap(Exception):
    """A delta arrived out of order: the store needs a fresh snapshot."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"delta sequence gap: expected {expected}, got {got}")
        self.expected = expected
        self.got = got


class UnknownDevice(Exception):
    """A record names a device that the line topology does not have."""


class LineState:
    """The client's copy of the line state, fed by snapshots, deltas and train status.

    It enforces the sequence rule: a delta must follow the last applied sequence
    number exactly; an old or repeated one is ignored, a gap raises
    :class:`SequenceGap` and every delta after it is refused until a snapshot.
    """

    def __init__(self, line: Line) -> None:
        self.line = line
        self.seq: int | None = None
        self.sections: dict[str, SectionState] = {s.id: SectionState(s.id) for s in line.sections}
        self.switches: dict[str, SwitchState] = {s.id: SwitchState(s.id) for s in line.switches}
        self.signals: dict[str, SignalState] = {s.id: SignalState(s.id) for s in line.signals}
        self.routes: dict[str, RouteState] = {}
        self.trains: dict[int, TrainState] = {}
        self.stale_deltas = 0
        self.unknown_records = 0

    @property
    def synchronised(self) -> bool:
        return self.seq is not None

    def invalidate(self) -> None:
        """Forget the sequence position: only a snapshot is accepted next."""
        self.seq = None

    def apply_snapshot(self, snap: StateSnapshot) -> Changes:
        self._check_ids(snap.sections, snap.switches, snap.signals, snap.routes)
        for sec in snap.sections:
            self.sections[sec.id] = sec
        for sw in snap.switches:
            self.switches[sw.id] = sw
        for sig in snap.signals:
            self.signals[sig.id] = sig
        self.routes = {r.id: r for r in snap.routes}
        self.trains = {t.id: t for t in snap.trains if t.section in self.line.section_by_id}
        self.seq = snap.seq
        return Changes(full=True)

    def apply_delta(self, delta: StateDelta) -> Changes:
        if self.seq is None:
            raise SequenceGap(-1, delta.seq)
        if delta.seq <= self.seq:
            self.stale_deltas += 1
            return Changes()
        if delta.seq != self.seq + 1:
            expected = self.seq + 1
            self.seq = None
            raise SequenceGap(expected, delta.seq)
        self._check_ids(delta.sections, delta.switches, delta.signals, delta.routes)
        ch = Changes()
        for sec in delta.sections:
            self.sections[sec.id] = sec
            ch.sections.add(sec.id)
        for sw in delta.switches:
            self.switches[sw.id] = sw
            ch.switches.add(sw.id)
        for sig in delta.signals:
            self.signals[sig.id] = sig
            ch.signals.add(sig.id)
        for route in delta.routes:
            self.routes[route.id] = route
            ch.routes.add(route.id)
        for rid in delta.routes_released:
            if self.routes.pop(rid, None) is not None:
                ch.routes.add(rid)
        for train in delta.trains:
            ch.merge(self.apply_train(train))
        for tid in delta.trains_removed:
            if self.trains.pop(tid, None) is not None:
                ch.trains_removed.add(tid)
                ch.trains.discard(tid)
        self.seq = delta.seq
        return ch

    def apply_train(self, train: TrainState) -> Changes:
        """Apply one train record (from a delta or a UDP status datagram)."""
        ch = Changes()
        if train.section not in self.line.section_by_id:
            self.unknown_records += 1
            return ch
        if self.trains.get(train.id) != train:
            self.trains[train.id] = train
            ch.trains.add(train.id)
        return ch

    def _check_ids(
        self,
        sections: tuple[SectionState, ...],
        switches: tuple[SwitchState, ...],
        signals: tuple[SignalState, ...],
        routes: tuple[RouteState, ...],
    ) -> None:
        line = self.line
        for kind, records, known in (
            ("section", sections, line.section_by_id),
            ("switch", switches, line.switch_by_id),
            ("signal", signals, line.signal_by_id),
            ("route", routes, line.route_by_id),
        ):
            for rec in records:
                if rec.id not in known:
                    self.unknown_records += 1
                    raise UnknownDevice(f"{kind} {rec.id!r} is not in line {line.id}")

    def zone_of(self, device: str) -> str | None:
        """The control zone commanding ``device``, trains included.

        A switch, signal or route: :meth:`Line.zone_of_device`. A train
        (``train:<id>``): the zone of the section it occupies now, by
        :meth:`Line.zone_of_section`. None when the device or the train is unknown.
        """
        train_id = parse_train_device(device)
        if train_id is None:
            return self.line.zone_of_device(device)
        train = self.trains.get(train_id)
        return None if train is None else self.line.zone_of_section(train.section)

    def to_json(self) -> dict[str, object]:
        """A plain, JSON-ready view of the whole state (``dispatcher-cli state``)."""
        return {
            "line": self.line.id,
            "seq": self.seq,
            "sections": [asdict(s) for s in self.sections.values()],
            "switches": [asdict(s) for s in self.switches.values()],
            "signals": [asdict(s) for s in self.signals.values()],
            "routes": [asdict(r) for r in self.routes.values()],
            "trains": [asdict(t) for t in sorted(self.trains.values(), key=lambda t: t.id)],
        }
