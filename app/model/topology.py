"""The static line topology, as the engineering configuration describes it.

Every object is frozen: the topology is loaded once and shared by the model,
the simulator and the views. Live state (occupancy, switch positions, aspects,
trains) lives in :mod:`app.model.state`, keyed by the ids defined here.

Geometry: every section has a physical length in metres and a schematic
placement (``x0..x1`` along the line, ``y0..y1`` across it) in abstract
schematic units. The views decide how schematic units map to pixels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Protocol


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


class Direction(StrEnum):
    """Travel direction. ``DOWN`` runs towards increasing chainage (station 1 to N)."""

    DOWN = "down"
    UP = "up"

    @property
    def opposite(self) -> Direction:
        return Direction.UP if self is Direction.DOWN else Direction.DOWN


class TrackKind(StrEnum):
    MAIN = "main"
    CROSSOVER = "crossover"
    TURNBACK = "turnback"
    DEPOT = "depot"


class SwitchLeg(StrEnum):
    NORMAL = "normal"
    REVERSE = "reverse"


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    name_zh: str
    name_en: str
    km: float
    x: float
    platforms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    station: str
    direction: Direction
    section: str


@dataclass(frozen=True, slots=True)
class Section:
    """A track circuit or axle-counter section: the unit of occupancy and route locking."""

    id: str
    kind: TrackKind
    length_m: float
    x0: float
    x1: float
    y0: float
    y1: float
    station: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A plain joint between two sections, with no switch between them."""

    a: str
    b: str


@dataclass(frozen=True, slots=True)
class Switch:
    """A set of points: the ``root`` section continues into ``normal`` or ``reverse``."""

    id: str
    zone: str
    root: str
    normal: str
    reverse: str
    x: float
    y: float

    def leg(self, position: SwitchLeg) -> str:
        return self.normal if position is SwitchLeg.NORMAL else self.reverse


@dataclass(frozen=True, slots=True)
class Signal:
    """A signal governing trains running in ``direction``.

    ``section`` is the section in rear of the signal, where a train waits at it;
    the signal stands at that section's forward end (``x1`` for DOWN, ``x0`` for UP).
    """

    id: str
    zone: str | None
    section: str
    direction: Direction
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class SwitchSetting:
    switch: str
    position: SwitchLeg


@dataclass(frozen=True, slots=True)
class Route:
    """An interlocking route from an entry signal to an exit signal."""

    id: str
    entry: str
    exit: str
    sections: tuple[str, ...]
    switches: tuple[SwitchSetting, ...]


@dataclass(frozen=True, slots=True)
class ControlZone:
    """A control zone (岔区): the switches and signals one authority commands."""

    id: str
    name_zh: str
    name_en: str
    switches: tuple[str, ...]
    signals: tuple[str, ...]
    stations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrainSpec:
    cars: int = 6
    length_m: float = 120.0
    max_speed_kmh: float = 80.0


@dataclass(frozen=True)
class Line:
    """The whole line. Collections are tuples in file order; ``by_id`` maps give lookup."""

    id: str
    name_zh: str
    name_en: str
    timezone: str
    train: TrainSpec
    stations: tuple[Station, ...]
    platforms: tuple[Platform, ...]
    sections: tuple[Section, ...]
    links: tuple[Link, ...]
    switches: tuple[Switch, ...]
    signals: tuple[Signal, ...]
    routes: tuple[Route, ...]
    zones: tuple[ControlZone, ...]
    station_by_id: Mapping[str, Station] = field(init=False, repr=False, compare=False)
    section_by_id: Mapping[str, Section] = field(init=False, repr=False, compare=False)
    switch_by_id: Mapping[str, Switch] = field(init=False, repr=False, compare=False)
    signal_by_id: Mapping[str, Signal] = field(init=False, repr=False, compare=False)
    route_by_id: Mapping[str, Route] = field(init=False, repr=False, compare=False)
    zone_by_id: Mapping[str, ControlZone] = field(init=False, repr=False, compare=False)
    section_index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def index(items: Iterable[_HasId]) -> dict[str, _HasId]:
            return {item.id: item for item in items}

        object.__setattr__(self, "station_by_id", index(self.stations))
        object.__setattr__(self, "section_by_id", index(self.sections))
        object.__setattr__(self, "switch_by_id", index(self.switches))
        object.__setattr__(self, "signal_by_id", index(self.signals))
        object.__setattr__(self, "route_by_id", index(self.routes))
        object.__setattr__(self, "zone_by_id", index(self.zones))
        # Section numbers travel in fixed-size UDP records; both ends derive them
        # from file order, and HELLO compares digests so they cannot disagree.
        object.__setattr__(self, "section_index", {s.id: i for i, s in enumerate(self.sections)})

    def zone_of_device(self, device: str) -> str | None:
        """The control zone commanding a switch, a signal, or a route (its entry signal's)."""
        if device in self.switch_by_id:
            return self.switch_by_id[device].zone
        if device in self.route_by_id:
            device = self.route_by_id[device].entry
        if device in self.signal_by_id:
            return self.signal_by_id[device].zone
        return None

    def zone_of_section(self, section: str) -> str | None:
        """The control zone a section lies in (for commands to the train standing in it).

        Sections belong to no zone in the line file, so it is derived, first match wins:
        the zone holding the section's station; else the zone of a signal standing at
        the section (the section is in its rear); else the zone of a switch whose
        points the section joins; else the zone of the first route through it (its
        entry signal's). None for an unknown section or one matching nothing.
        """
        sec = self.section_by_id.get(section)
        if sec is None:
            return None
        if sec.station is not None:
            for zone in self.zones:
                if sec.station in zone.stations:
                    return zone.id
        for sig in self.signals:
            if sig.section == section and sig.zone:
                return sig.zone
        for sw in self.switches:
            if section in (sw.root, sw.normal, sw.reverse):
                return sw.zone
        for route in self.routes:
            if section in route.sections:
                entry_zone = self.zone_of_device(route.entry)
                if entry_zone:
                    return entry_zone
        return None

    def neighbours(self, section: str) -> list[str]:
        """Sections joined to ``section`` by a plain link or by either leg of a switch."""
        out: list[str] = []
        for link in self.links:
            if link.a == section:
                out.append(link.b)
            elif link.b == section:
                out.append(link.a)
        for sw in self.switches:
            if sw.root == section:
                out.extend((sw.normal, sw.reverse))
            elif section in (sw.normal, sw.reverse):
                out.append(sw.root)
        return out

    def digest(self) -> str:
        """A short stable hash of the topology; client and server must agree on it."""
        body = {
            "id": self.id,
            "sections": [asdict(s) for s in self.sections],
            "links": [asdict(x) for x in self.links],
            "switches": [asdict(s) for s in self.switches],
            "signals": [asdict(s) for s in self.signals],
            "routes": [asdict(r) for r in self.routes],
        }
        raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(raw).hexdigest()[:16]
