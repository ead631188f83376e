"""Trains are made of units (one 6-car train set each): a :class:`SimTrain` is a unit.

Units coupled into a consist (联挂) ride with the front one, which carries the
consist: ``consist`` lists its units front to back, the others are ``carried_by``
it and stand one unit length apart behind its head. :class:`UnitGeometry` answers
where a unit stands on the track, for the world's other parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.counterparts.sim.interlocking import Interlocking, Refused
from app.model.commands import parse_train_device
from app.model.state import CabRole, CouplingState, TrainState
from app.model.topology import Direction, Line
from app.model.track import TrackGraph


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
    label: str = ""  # the timetable's trip number it runs (empty: none)

    @property
    def number(self) -> str:
        return self.label or f"{self.id:02d}{self.trip % 100:02d}"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    trains: int = 20
    dwell_s: float = 30.0
    turnback_s: float = 40.0
    accel_ms2: float = 0.9
    brake_ms2: float = 0.9
    pairs: int = 0  # extra units placed, held, end to end behind the first trains
    couple_s: float = 5.0


class UnitGeometry:
    """Where units stand: a consist's body, its units, a unit's head, and distances
    along the track (a part of :class:`~app.counterparts.sim.world.World`)."""

    line: Line
    graph: TrackGraph
    interlocking: Interlocking
    trains: dict[int, SimTrain]
    train_length: float

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

    def _train(self, device: str) -> SimTrain:
        train_id = parse_train_device(device)
        train = self.trains.get(train_id) if train_id is not None else None
        if train is None:
            raise Refused.of("no_train", train=device)
        return train
