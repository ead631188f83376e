"""The line file: YAML → :class:`app.model.topology.Line`, with the semantic checks.

The YAML keys are the dataclass field names and enums are written as their string
values. ``Station.platforms`` is *not* written in the file: it is derived from the
``platforms`` list (the platforms naming the station, in file order). See
``docs/configuration.md`` for the full schema.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

from msgspec import Meta

from app.config.loader import Document, Id, Positive, Text, compose, read_text, unique
from app.model.topology import (
    ControlZone,
    Direction,
    Line,
    Link,
    Platform,
    Route,
    Section,
    Signal,
    Station,
    Switch,
    SwitchLeg,
    SwitchSetting,
    TrackKind,
    TrainSpec,
)

T = TypeVar("T")
DEFAULT_TIMEZONE = "Asia/Shanghai"


@functools.cache
def _known_timezones() -> frozenset[str]:
    try:
        return frozenset(zoneinfo.available_timezones())
    except OSError:  # pragma: no cover - unreadable tz database
        return frozenset()


class TimeZoneName(str):
    """An IANA time zone name, checked against the system's tz database if it has one."""

    __slots__ = ()

    @classmethod
    def parse(cls, name: str) -> TimeZoneName:
        known = _known_timezones()
        # Without a tz database (a bare Windows install) there is nothing to check against.
        if known and name not in known:
            raise ValueError(
                f"unknown time zone {name!r} (expected an IANA name like Asia/Shanghai)"
            )
        return cls(name)


# -- the line file, declared once: each key's type, default and bounds -------------------
#
# The keys are the field names of app.model.topology (which knows nothing of files);
# these classes say what a file may hold, msgspec reads them (app/config/loader.py)
# and line_from_document builds the topology from them.

_TRAIN = TrainSpec()
_DEFAULT_TIMEZONE = TimeZoneName(DEFAULT_TIMEZONE)
_Ids = Annotated[tuple[Id, ...], unique(".")]


@dataclass(frozen=True, slots=True)
class TrainEntry:
    cars: Annotated[int, Meta(ge=1, le=20, description="cars per train")] = _TRAIN.cars
    length_m: Annotated[Positive, Meta(description="train length, metres")] = _TRAIN.length_m
    max_speed_kmh: Annotated[Positive, Meta(description="line speed")] = _TRAIN.max_speed_kmh


@dataclass(frozen=True, slots=True)
class StationEntry:
    id: Id
    name_zh: Text
    name_en: Text
    km: Annotated[float, Meta(ge=0, description="chainage of the station centre")]
    x: float


@dataclass(frozen=True, slots=True)
class PlatformEntry:
    id: Id
    station: Id
    direction: Direction
    section: Id


@dataclass(frozen=True, slots=True)
class SectionEntry:
    id: Id
    kind: TrackKind
    length_m: Annotated[Positive, Meta(description="physical length, metres")]
    x0: float
    x1: float
    y0: float
    y1: float
    station: Id | None = None


@dataclass(frozen=True, slots=True)
class LinkEntry:
    a: Id
    b: Id


@dataclass(frozen=True, slots=True)
class SwitchEntry:
    id: Id
    zone: Id
    root: Id
    normal: Id
    reverse: Id
    x: float
    y: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalEntry:
    id: Id
    zone: Id | None = None
    section: Id
    direction: Direction
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class SwitchSettingEntry:
    switch: Id
    position: SwitchLeg


@dataclass(frozen=True, slots=True)
class RouteEntry:
    id: Id
    entry: Id
    exit: Id
    sections: Annotated[_Ids, Meta(min_length=1)]
    switches: Annotated[tuple[SwitchSettingEntry, ...], unique("switch")] = ()


@dataclass(frozen=True, slots=True)
class ZoneEntry:
    id: Id
    name_zh: Text
    name_en: Text
    stations: _Ids = ()
    switches: _Ids = ()
    signals: _Ids = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LineEntry:
    id: Id
    name_zh: Text
    name_en: Text
    timezone: Annotated[TimeZoneName, Meta(description="IANA time zone of the line")] = (
        _DEFAULT_TIMEZONE
    )
    train: TrainEntry = TrainEntry()
    stations: Annotated[tuple[StationEntry, ...], Meta(min_length=1), unique("id")]
    platforms: Annotated[tuple[PlatformEntry, ...], unique("id")]
    sections: Annotated[tuple[SectionEntry, ...], Meta(min_length=1), unique("id")]
    links: tuple[LinkEntry, ...] = ()
    switches: Annotated[tuple[SwitchEntry, ...], unique("id")] = ()
    signals: Annotated[tuple[SignalEntry, ...], unique("id")] = ()
    routes: Annotated[tuple[RouteEntry, ...], unique("id")] = ()
    zones: Annotated[tuple[ZoneEntry, ...], unique("id")] = ()


@dataclass(frozen=True, slots=True)
class LineFile:
    """A line file: ``line:`` at the top."""

    line: LineEntry


def _model(cls: Callable[..., T], entry: Any, **extra: Any) -> T:
    """The topology object ``cls`` with the fields of ``entry`` (and ``extra``)."""
    return cls(**{f.name: getattr(entry, f.name) for f in fields(entry)} | extra)


def load_line(path: str | Path) -> Line:
    """Load and check a line file; raises :class:`ConfigError` on the first problem."""
    return parse_line(read_text(path), str(path))


def parse_line(text: str, file: str = "<string>") -> Line:
    """Like :func:`load_line`, from text; ``file`` is only used in error messages."""
    return line_from_document(compose(text, file))


def line_from_document(doc: Document) -> Line:
    entry = doc.read(LineFile).line
    platforms = tuple(_model(Platform, p) for p in entry.platforms)
    line = Line(
        id=entry.id,
        name_zh=entry.name_zh,
        name_en=entry.name_en,
        timezone=str(entry.timezone),
        train=_model(TrainSpec, entry.train),
        stations=tuple(
            _model(Station, st, platforms=tuple(p.id for p in platforms if p.station == st.id))
            for st in entry.stations
        ),
        platforms=platforms,
        sections=tuple(_model(Section, s) for s in entry.sections),
        links=tuple(_model(Link, link) for link in entry.links),
        switches=tuple(_model(Switch, sw) for sw in entry.switches),
        signals=tuple(_model(Signal, sig) for sig in entry.signals),
        routes=tuple(
            _model(Route, r, switches=tuple(_model(SwitchSetting, s) for s in r.switches))
            for r in entry.routes
        ),
        zones=tuple(_model(ControlZone, z) for z in entry.zones),
    )
    _Checker(doc, line).run()
    return line


class _Checker:
    """Cross-reference and structure checks on the values read from a line file."""

    def __init__(self, doc: Document, line: Line) -> None:
        self.doc = doc
        self.stations = line.stations
        self.platforms = line.platforms
        self.sections = line.sections
        self.links = line.links
        self.switches = line.switches
        self.signals = line.signals
        self.routes = line.routes
        self.zones = line.zones
        self.signal_by_id = line.signal_by_id

    def run(self) -> None:
        self.check_stations()
        self.check_sections()
        self.check_platforms()
        self.check_links()
        self.check_switches()
        self.check_signals()
        self.check_zones()
        self.check_routes()
        self.check_connected()

    # -- helpers --------------------------------------------------------------

    def ref(self, path: str, value: str | None, kind: str) -> None:
        """``value`` must be the id of an object in ``line.<kind>``."""
        if value is not None and value not in self.doc.ids.get(f"line.{kind}", {}):
            noun = kind.rstrip("s") if kind != "switches" else "switch"
            raise self.doc.error(path, f"unknown {noun} {value!r}: not defined in line.{kind}")

    # -- checks ---------------------------------------------------------------

    def check_stations(self) -> None:
        for i in range(1, len(self.stations)):
            prev, st = self.stations[i - 1], self.stations[i]
            if st.km <= prev.km:
                raise self.doc.error(
                    f"line.stations[{i}].km",
                    f"km must increase along the line: {st.km:g} is not greater than "
                    f"{prev.km:g} (station {prev.id})",
                )

    def check_sections(self) -> None:
        for i, sec in enumerate(self.sections):
            if sec.x1 <= sec.x0:
                raise self.doc.error(
                    f"line.sections[{i}].x1",
                    f"x1 ({sec.x1:g}) must be greater than x0 ({sec.x0:g}); "
                    "a diagonal keeps x0 < x1 and lets y0/y1 show its slope",
                )
            self.ref(f"line.sections[{i}].station", sec.station, "stations")

    def check_platforms(self) -> None:
        for i, plat in enumerate(self.platforms):
            self.ref(f"line.platforms[{i}].station", plat.station, "stations")
            self.ref(f"line.platforms[{i}].section", plat.section, "sections")

    def check_links(self) -> None:
        seen: dict[frozenset[str], int] = {}
        for i, link in enumerate(self.links):
            self.ref(f"line.links[{i}].a", link.a, "sections")
            self.ref(f"line.links[{i}].b", link.b, "sections")
            if link.a == link.b:
                raise self.doc.error(f"line.links[{i}].b", f"links section {link.a!r} to itself")
            pair = frozenset((link.a, link.b))
            if pair in seen:
                first = f"line.links[{seen[pair]}]"
                raise self.doc.error(
                    f"line.links[{i}]",
                    f"duplicate link {link.a}-{link.b} "
                    f"(first at line {self.doc.line_of(first)}, {first})",
                )
            seen[pair] = i

    def check_switches(self) -> None:
        for i, sw in enumerate(self.switches):
            base = f"line.switches[{i}]"
            self.ref(f"{base}.zone", sw.zone, "zones")
            for leg in ("root", "normal", "reverse"):
                self.ref(f"{base}.{leg}", getattr(sw, leg), "sections")
            if len({sw.root, sw.normal, sw.reverse}) != 3:
                raise self.doc.error(
                    base,
                    f"switch {sw.id!r}: root, normal and reverse must be three different "
                    f"sections, got {sw.root}, {sw.normal}, {sw.reverse}",
                )

    def check_signals(self) -> None:
        switch_ids = self.doc.ids.get("line.switches", {})
        for i, sig in enumerate(self.signals):
            base = f"line.signals[{i}]"
            self.ref(f"{base}.section", sig.section, "sections")
            self.ref(f"{base}.zone", sig.zone, "zones")
            if sig.id in switch_ids:
                raise self.doc.error(
                    f"{base}.id",
                    f"signal id {sig.id!r} is also a switch id ({switch_ids[sig.id]}); "
                    "device ids must be unique across switches and signals",
                )

    def check_zones(self) -> None:
        listed: dict[str, tuple[str, str]] = {}  # device -> (zone id, path of the listing)
        for i, zone in enumerate(self.zones):
            base = f"line.zones[{i}]"
            for j, station in enumerate(zone.stations):
                self.ref(f"{base}.stations[{j}]", station, "stations")
            for kind, devices in (("switches", zone.switches), ("signals", zone.signals)):
                for j, device in enumerate(devices):
                    path = f"{base}.{kind}[{j}]"
                    self.ref(path, device, kind)
                    if device in listed:
                        other_zone, other = listed[device]
                        raise self.doc.error(
                            path,
                            f"{device!r} is already in zone {other_zone!r} "
                            f"(line {self.doc.line_of(other)}, {other}); "
                            "a device belongs to exactly one zone",
                        )
                    listed[device] = (zone.id, path)
        owners: tuple[tuple[str, tuple[Switch | Signal, ...]], ...] = (
            ("switches", self.switches),
            ("signals", self.signals),
        )
        for kind, objs in owners:
            for i, dev in enumerate(objs):
                where = listed.get(dev.id)
                if where is None and (kind == "switches" or dev.zone is not None):
                    raise self.doc.error(
                        f"line.{kind}[{i}].zone",
                        f"{dev.id!r} says zone {dev.zone!r} but is not listed in any zone's {kind}",
                    )
                if where is not None and where[0] != dev.zone:
                    raise self.doc.error(
                        f"line.{kind}[{i}].zone",
                        f"{dev.id!r} says zone {dev.zone!r} but zone {where[0]!r} lists it "
                        f"(line {self.doc.line_of(where[1])}, {where[1]})",
                    )

    def joints(self) -> dict[frozenset[str], list[tuple[str, SwitchLeg] | None]]:
        """Section pair -> how they are joined: ``None`` for a plain link, else (switch, leg)."""
        out: dict[frozenset[str], list[tuple[str, SwitchLeg] | None]] = {}
        for link in self.links:
            out.setdefault(frozenset((link.a, link.b)), []).append(None)
        for sw in self.switches:
            for leg in SwitchLeg:
                out.setdefault(frozenset((sw.root, sw.leg(leg))), []).append((sw.id, leg))
        return out

    def check_routes(self) -> None:
        joints = self.joints()
        for i, route in enumerate(self.routes):
            base = f"line.routes[{i}]"
            self.ref(f"{base}.entry", route.entry, "signals")
            self.ref(f"{base}.exit", route.exit, "signals")
            for j, sec in enumerate(route.sections):
                self.ref(f"{base}.sections[{j}]", sec, "sections")
            for j, setting in enumerate(route.switches):
                self.ref(f"{base}.switches[{j}].switch", setting.switch, "switches")
            entry, exit_ = self.signal_by_id[route.entry], self.signal_by_id[route.exit]
            if entry.id == exit_.id:
                raise self.doc.error(f"{base}.exit", "exit signal must differ from entry signal")
            if entry.direction is not exit_.direction:
                raise self.doc.error(
                    f"{base}.exit",
                    f"exit signal {exit_.id!r} faces {exit_.direction} but entry signal "
                    f"{entry.id!r} faces {entry.direction}",
                )
            if exit_.section != route.sections[-1]:
                raise self.doc.error(
                    f"{base}.sections[{len(route.sections) - 1}]",
                    f"route ends in section {route.sections[-1]!r} but exit signal "
                    f"{exit_.id!r} stands at the end of section {exit_.section!r}",
                )
            self.check_route_path(base, route, entry, joints)

    def check_route_path(
        self,
        base: str,
        route: Route,
        entry: Signal,
        joints: dict[frozenset[str], list[tuple[str, SwitchLeg] | None]],
    ) -> None:
        settings = {s.switch: (j, s.position) for j, s in enumerate(route.switches)}
        used: set[str] = set()
        previous = entry.section
        for j, sec in enumerate(route.sections):
            path = f"{base}.sections[{j}]"
            ways = joints.get(frozenset((previous, sec)), [])
            if not ways:
                what = "the entry signal's section" if j == 0 else "the previous section"
                raise self.doc.error(
                    path, f"section {sec!r} is not joined to {previous!r} ({what})"
                )
            if None not in ways:
                switch, leg = ways[0] or ("", SwitchLeg.NORMAL)
                if switch not in settings:
                    raise self.doc.error(
                        path,
                        f"the route runs {previous} -> {sec} over switch {switch!r} "
                        f"({leg}) but does not list that switch",
                    )
                k, position = settings[switch]
                if position is not leg:
                    raise self.doc.error(
                        f"{base}.switches[{k}].position",
                        f"switch {switch!r} must be {leg} for {previous} -> {sec}, not {position}",
                    )
                used.add(switch)
            previous = sec
        for switch, (k, _) in settings.items():
            if switch not in used:
                raise self.doc.error(
                    f"{base}.switches[{k}].switch",
                    f"the route does not pass over switch {switch!r}",
                )

    def check_connected(self) -> None:
        graph: dict[str, set[str]] = {s.id: set() for s in self.sections}
        for pair in self.joints():
            a, b = tuple(pair)
            graph[a].add(b)
            graph[b].add(a)
        start = self.sections[0].id
        seen = {start}
        queue = deque([start])
        while queue:
            for nxt in graph[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        for i, sec in enumerate(self.sections):
            if sec.id not in seen:
                raise self.doc.error(
                    f"line.sections[{i}]",
                    f"section {sec.id!r} is not connected to the rest of the line "
                    f"(only {len(seen)} of {len(self.sections)} sections are reachable "
                    f"from {start!r} over links and switches)",
                )
