"""The timetable file: YAML -> :class:`app.timetable.model.Timetable`, checked against
its line.

The keys are declared once below (type, default, bounds, meaning) and read by the
configuration's own machinery (``loader.py``: composed with marks, converted by
msgspec, every error a :class:`ConfigError` with file:line:column and key path). What
msgspec cannot see is checked here against the line (``_Checker``), each error at the
value it is about. The format and the rules are in ``docs/timetable.md``.

A day's file holds some 16 000 stops: it is composed by libyaml when PyYAML has it
(ten times faster than the pure-Python parser, the same nodes and marks); a file
libyaml refuses is composed again by the pure-Python parser, so that a syntax error
reads as it does in any other configuration file.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from msgspec import Meta
from yaml.nodes import ScalarNode

from app.config.errors import ConfigError
from app.config.loader import Document, Id, Text, compose, read_text, unique
from app.model.topology import Direction, Line, Platform
from app.timetable.model import DayType, Stop, Timetable, Trip, TripKind, Working
from app.timetable.times import DAY_S, TimeFormatError, format_service_time, parse_service_time

# -- the timetable file, declared once ------------------------------------------------

#: A stop as the file writes it: ``[station, platform, arrive, depart]``.
StopEntry = Annotated[
    tuple[Text, ...],
    Meta(min_length=4, max_length=4, description="[station, platform, arrive, depart]"),
]
#: The largest unit id (the actuals store keeps units in 32-bit signed columns).
MAX_UNIT = 2_147_483_647


def _about(description: str) -> Meta:
    return Meta(description=description)


@dataclass(frozen=True, slots=True, kw_only=True)
class TripEntry:
    number: Annotated[Id, _about("the trip number (车次), unique in the day")]
    service: Annotated[Id, _about("the working (表号) the trip belongs to")]
    direction: Annotated[Direction, _about("down: increasing chainage; up: decreasing")]
    kind: Annotated[TripKind, _about("service: carries passengers; empty: no passengers")] = (
        TripKind.SERVICE
    )
    stops: Annotated[
        tuple[StopEntry, ...], Meta(min_length=2), _about("the calls in running order")
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkingEntry:
    service: Annotated[Id, _about("the service (run) number, 表号")]
    unit: Annotated[int, Meta(ge=0, le=MAX_UNIT), _about("the unit rostered (0: none)")] = 0
    from_depot: Annotated[bool, _about("the day begins with a run out of the depot")] = True
    to_depot: Annotated[bool, _about("the day ends with a run into the depot")] = True
    trips: Annotated[
        tuple[Id, ...], Meta(min_length=1), unique("."), _about("its trips, in running order")
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimetableEntry:
    id: Annotated[Id, _about("the timetable's id")]
    line: Annotated[Id, _about("the id of the line it runs on")]
    day_type: Annotated[DayType, _about("the days it is for")] = DayType.WEEKDAY
    changeover: Annotated[Text, _about("clock time the service day hands over (HH:MM)")] = "03:00"
    trips: Annotated[tuple[TripEntry, ...], Meta(min_length=1), unique("number")]
    workings: Annotated[tuple[WorkingEntry, ...], Meta(min_length=1), unique("service")]


@dataclass(frozen=True, slots=True)
class TimetableFile:
    """A timetable file: ``timetable:`` at the top."""

    timetable: TimetableEntry


# -- reading ---------------------------------------------------------------------------


def load_timetable(path: str | Path, line: Line) -> Timetable:
    """Load a timetable file and check it against ``line``; raises :class:`ConfigError`
    at the first problem.

    The plan is frozen and a day's file takes a good part of a second to read: the
    same file unchanged (its path, size and modification time) against the same line
    is read once per process (the HMI's start checks it, builds its session and starts
    the demo's servers from it)."""
    try:
        st = Path(path).stat()
    except OSError:
        return parse_timetable(read_text(path), line, str(path))  # read_text says why
    return _load_once(str(path), st.st_size, st.st_mtime_ns, line)


@functools.lru_cache(maxsize=4)
def _load_once(path: str, _size: int, _mtime_ns: int, line: Line) -> Timetable:
    return parse_timetable(read_text(path), line, path)


def parse_timetable(text: str, line: Line, file: str = "<string>") -> Timetable:
    """Like :func:`load_timetable`, from text; ``file`` is only used in error messages."""
    return timetable_from_document(compose_fast(text, file), line)


def compose_fast(text: str, file: str) -> Document:
    """``loader.compose`` by libyaml when it is there; whatever libyaml refuses (a syntax
    error, an escape it does not take) goes to ``loader.compose``, which says why in
    the configuration's words (or accepts it as any other file would be)."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            root = yaml.compose(text, Loader=fast)
        except (yaml.YAMLError, RecursionError):
            root = None
        # Only a "\u" or "\U" escape can make a lone surrogate: loader.compose checks them.
        if root is not None and "\\u" not in text and "\\U" not in text:
            return Document(file, root)
    return compose(text, file)


def timetable_from_document(doc: Document, line: Line) -> Timetable:
    """The timetable of a composed document, checked against ``line``."""
    try:
        entry = doc.read(TimetableFile).timetable
    except ConfigError as exc:
        raise _with_hint(doc, exc) from None
    return _Checker(doc, line, entry).run()


_TIME_PATH = re.compile(r"timetable\.(changeover|trips\[\d+\]\.stops\[\d+\]\[[23]\])")
_STOP_PATH = re.compile(r"timetable\.trips\[\d+\]\.stops\[\d+\]")


def _with_hint(doc: Document, exc: ConfigError) -> ConfigError:
    """msgspec's refusal, with what the timetable's reader knows more: an unquoted
    ``15:28:00`` is a number to YAML 1.1 (base 60), and what a stop holds."""
    node = doc.nodes.get(exc.path)
    hint = ""
    if (
        _TIME_PATH.fullmatch(exc.path)
        and isinstance(node, ScalarNode)
        and ":" in str(node.value)
        and str(node.tag).endswith((":int", ":float"))
    ):
        hint = f'; quote times ("{node.value}"): unquoted, YAML reads them as base-60 numbers'
    elif _STOP_PATH.fullmatch(exc.path):
        hint = "; a stop is [station, platform, arrive, depart]"
    if not hint:
        return exc
    return ConfigError(exc.file, exc.line, exc.column, exc.path, exc.message + hint)


class _Checker:
    """What msgspec cannot see: references into the line, times, order, the workings."""

    def __init__(self, doc: Document, line: Line, entry: TimetableEntry) -> None:
        self.doc = doc
        self.line = line
        self.entry = entry
        self.platforms: dict[str, Platform] = {p.id: p for p in line.platforms}
        self.km = {s.id: s.km for s in line.stations}
        self.units: dict[int, int] = {}  # unit -> the working (index) it works

    def run(self) -> Timetable:
        entry = self.entry
        if entry.line != self.line.id:
            raise self.doc.error(
                "timetable.line",
                f"the timetable is for line {entry.line!r} but the line file is {self.line.id!r}",
            )
        changeover_s = self.changeover()
        trips = tuple(self.trip(i, t, changeover_s) for i, t in enumerate(entry.trips))
        by_number = {t.number: t for t in trips}
        self.check_membership(trips)
        workings = tuple(self.working(k, w, by_number) for k, w in enumerate(entry.workings))
        return Timetable(
            id=entry.id,
            line_id=entry.line,
            day_type=entry.day_type,
            trips=trips,
            workings=workings,
            changeover_s=changeover_s,
        )

    # -- helpers --------------------------------------------------------------

    def time(self, path: str, text: str) -> int:
        try:
            return parse_service_time(text)
        except TimeFormatError as exc:
            raise self.doc.error(path, str(exc)) from None

    def changeover(self) -> int:
        path = "timetable.changeover"
        seconds = self.time(path, self.entry.changeover)
        if seconds >= DAY_S:
            raise self.doc.error(
                path,
                f"the changeover is a clock time of day (00:00 to 23:59:59), "
                f"got {self.entry.changeover!r}",
            )
        return seconds

    # -- trips ----------------------------------------------------------------

    def trip(self, i: int, entry: TripEntry, changeover_s: int) -> Trip:
        base = f"timetable.trips[{i}]"
        direction = entry.direction
        stops: list[Stop] = []
        previous: Stop | None = None
        for j, (station, platform, arrive, depart) in enumerate(entry.stops):
            at = f"{base}.stops[{j}]"
            km = self.km.get(station)
            if km is None:
                raise self.doc.error(
                    f"{at}[0]", f"unknown station {station!r}: not in line {self.line.id}"
                )
            plat = self.platforms.get(platform)
            if plat is None:
                raise self.doc.error(
                    f"{at}[1]", f"unknown platform {platform!r}: not in line {self.line.id}"
                )
            if plat.station != station:
                raise self.doc.error(
                    f"{at}[1]",
                    f"platform {platform!r} is at station {plat.station!r}, not {station!r}",
                )
            if plat.direction is not direction:
                raise self.doc.error(
                    f"{at}[1]",
                    f"platform {platform!r} serves {plat.direction} trains; "
                    f"trip {entry.number} runs {direction}",
                )
            arrive_s = self.time(f"{at}[2]", arrive)
            depart_s = self.time(f"{at}[3]", depart)
            self.in_day(f"{at}[2]", arrive_s, changeover_s)
            self.in_day(f"{at}[3]", depart_s, changeover_s)
            if depart_s < arrive_s:
                raise self.doc.error(
                    f"{at}[3]", f"departs at {depart} before it arrives at {arrive}"
                )
            if previous is not None:
                self.after(at, entry, previous, station, km, arrive, arrive_s)
            previous = Stop(station, platform, arrive_s, depart_s)
            stops.append(previous)
        return Trip(entry.number, entry.service, direction, tuple(stops), entry.kind)

    def after(
        self,
        at: str,
        entry: TripEntry,
        previous: Stop,
        station: str,
        km: float,
        arrive: str,
        arrive_s: int,
    ) -> None:
        """The stop at ``at`` follows ``previous`` in the trip's direction and time."""
        before = self.km[previous.station]
        ahead = km > before if entry.direction is Direction.DOWN else km < before
        if not ahead:
            way = "increasing" if entry.direction is Direction.DOWN else "decreasing"
            raise self.doc.error(
                f"{at}[0]",
                f"station {station} (km {km:g}) does not follow {previous.station} "
                f"(km {before:g}) on {entry.direction} trip {entry.number}: its stations run "
                f"by {way} km",
            )
        if arrive_s < previous.depart_s:
            raise self.doc.error(
                f"{at}[2]",
                f"arrives at {arrive}, before it departs from {previous.station} at "
                f"{format_service_time(previous.depart_s)}",
            )

    def in_day(self, path: str, seconds: int, changeover_s: int) -> None:
        """A time of the service day runs from its changeover to the next day's."""
        if seconds < changeover_s:
            later = format_service_time(seconds + DAY_S)
            raise self.doc.error(
                path,
                f"{format_service_time(seconds)} is before the service day begins "
                f"(changeover {format_service_time(changeover_s, with_seconds=False)}); "
                f"past midnight, write {later}",
            )
        if seconds >= changeover_s + DAY_S:
            raise self.doc.error(
                path,
                f"{format_service_time(seconds)} is past the next service day's changeover "
                f"({format_service_time(changeover_s + DAY_S, with_seconds=False)})",
            )

    # -- workings -------------------------------------------------------------

    def check_membership(self, trips: tuple[Trip, ...]) -> None:
        """Every trip is listed by the working its ``service`` names."""
        listed = {w.service: set(w.trips) for w in self.entry.workings}
        for i, trip in enumerate(trips):
            found = listed.get(trip.service)
            if found is None:
                raise self.doc.error(
                    f"timetable.trips[{i}].service",
                    f"trip {trip.number} names working {trip.service!r}, which is not in "
                    "timetable.workings",
                )
            if trip.number not in found:
                raise self.doc.error(
                    f"timetable.trips[{i}].number",
                    f"trip {trip.number} is in no working: working {trip.service!r} "
                    "does not list it",
                )

    def working(self, k: int, entry: WorkingEntry, by_number: dict[str, Trip]) -> Working:
        base = f"timetable.workings[{k}]"
        previous: Trip | None = None
        for m, number in enumerate(entry.trips):
            at = f"{base}.trips[{m}]"
            trip = by_number.get(number)
            if trip is None:
                raise self.doc.error(at, f"unknown trip {number!r}: not in timetable.trips")
            if trip.service != entry.service:
                raise self.doc.error(
                    at,
                    f"trip {number} belongs to working {trip.service!r}, not {entry.service!r}",
                )
            if previous is not None:
                self.turnback(at, previous, trip)
            previous = trip
        if entry.unit:
            self.unit_once(k, entry)
        return Working(entry.service, entry.unit, entry.trips, entry.from_depot, entry.to_depot)

    def turnback(self, at: str, previous: Trip, trip: Trip) -> None:
        """``trip`` follows ``previous`` in one unit's day."""
        if trip.start_s < previous.start_s:
            raise self.doc.error(
                at,
                f"trip {trip.number} (starts {format_service_time(trip.start_s)}) is listed "
                f"after trip {previous.number} (starts "
                f"{format_service_time(previous.start_s)}): a working's trips run in time order",
            )
        if trip.origin != previous.destination:
            raise self.doc.error(
                at,
                f"trip {trip.number} starts at {trip.origin} but the unit ends trip "
                f"{previous.number} at {previous.destination}",
            )
        if trip.start_s < previous.end_s:
            raise self.doc.error(
                at,
                f"trip {trip.number} departs at {format_service_time(trip.start_s)}, before "
                f"the unit arrives from trip {previous.number} at "
                f"{format_service_time(previous.end_s)}",
            )

    def unit_once(self, k: int, entry: WorkingEntry) -> None:
        """A unit works one working a day (0, unrostered, any number)."""
        j = self.units.setdefault(entry.unit, k)
        if j != k:
            first = f"timetable.workings[{j}].unit"
            raise self.doc.error(
                f"timetable.workings[{k}].unit",
                f"unit {entry.unit} already works {self.entry.workings[j].service!r} "
                f"(line {self.doc.line_of(first)}, {first}); 0 leaves a working unrostered",
            )
