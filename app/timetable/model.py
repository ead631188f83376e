"""The plan: trips, their stops, the workings that make a unit's day (Qt-free).

Names follow railML 3's timetable subschema where it has one: a *trip* (railML's
``trainPart`` run as one journey, 车次) runs one way from an origin to a destination
and has a *stop* (``ocpTT``) at each station on its way, with planned arrival and
departure on a platform track; a *working* (railML's ``rostering`` block / 表号,
the service or run number) chains the trips one unit works through the day, from a
depot run out to a depot run in, with turnbacks between. The day type (weekday,
weekend) says which days the plan is for.

Every planned stop of the day has one number, its place in :attr:`Timetable.stops`
(the trips in file order, each trip's stops in running order): the actuals store
(``actuals.py``) keeps the day's actuals in arrays indexed by it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from app.model.topology import Direction
from app.timetable.times import CHANGEOVER_S


class DayType(StrEnum):
    WEEKDAY = "weekday"
    WEEKEND = "weekend"


class TripKind(StrEnum):
    #: carries passengers, stops where the plan says
    SERVICE = "service"
    #: no passengers: a run to or from the depot, or a positioning move
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class Stop:
    """A planned call: at ``station`` on ``platform`` from ``arrive_s`` to ``depart_s``
    (service-day seconds, ``times.py``). At a trip's origin ``arrive_s`` is when the
    unit stands ready at the platform; at its destination ``depart_s`` is when it
    leaves for the turnback or the depot."""

    station: str
    platform: str
    arrive_s: int
    depart_s: int

    @property
    def dwell_s(self) -> int:
        return self.depart_s - self.arrive_s


@dataclass(frozen=True, slots=True)
class Trip:
    """One journey one way (车次): ``number`` is unique in the day."""

    number: str
    service: str  # the working (表号) it belongs to
    direction: Direction
    stops: tuple[Stop, ...]
    kind: TripKind = TripKind.SERVICE

    @property
    def origin(self) -> str:
        return self.stops[0].station

    @property
    def destination(self) -> str:
        return self.stops[-1].station

    @property
    def start_s(self) -> int:
        return self.stops[0].depart_s

    @property
    def end_s(self) -> int:
        return self.stops[-1].arrive_s


@dataclass(frozen=True, slots=True)
class Working:
    """A unit's day (表号): its trips in order, turning back between them.

    ``unit`` is the train unit rostered to it (the simulator's unit id; 0 when none
    is). ``from_depot``: the day begins with the unit leaving the depot for the first
    trip's origin; ``to_depot``: it ends with the unit running in after the last."""

    service: str
    unit: int
    trips: tuple[str, ...]
    from_depot: bool = True
    to_depot: bool = True


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One planned call of the day, with its trip: :attr:`Timetable.stops` entries."""

    index: int  # its place in Timetable.stops
    trip: str
    order: int  # its place in the trip (0: the origin)
    stop: Stop


@dataclass(frozen=True)
class Timetable:
    """A day's plan. ``changeover_s``: when this service day hands over to the next
    (clock time of day, ``times.CHANGEOVER_S`` by default)."""

    id: str
    line_id: str
    day_type: DayType
    trips: tuple[Trip, ...]
    workings: tuple[Working, ...]
    changeover_s: int = CHANGEOVER_S
    trip_by_number: Mapping[str, Trip] = field(init=False, repr=False, compare=False)
    working_by_service: Mapping[str, Working] = field(init=False, repr=False, compare=False)
    #: every planned stop of the day, trips in file order, stops in running order
    stops: tuple[PlannedStop, ...] = field(init=False, repr=False, compare=False)
    #: the index in :attr:`stops` of each trip's first stop
    first_stop: Mapping[str, int] = field(init=False, repr=False, compare=False)
    _digest: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "trip_by_number", {t.number: t for t in self.trips})
        set_(self, "working_by_service", {w.service: w for w in self.workings})
        stops: list[PlannedStop] = []
        first: dict[str, int] = {}
        for trip in self.trips:
            first[trip.number] = len(stops)
            for order, stop in enumerate(trip.stops):
                stops.append(PlannedStop(len(stops), trip.number, order, stop))
        set_(self, "stops", tuple(stops))
        set_(self, "first_stop", first)

    def stop_index(self, trip: str, order: int) -> int | None:
        """The day-wide index of ``trip``'s stop number ``order`` (None: no such stop)."""
        first = self.first_stop.get(trip)
        if first is None or not 0 <= order < len(self.trip_by_number[trip].stops):
            return None
        return first + order

    def next_trip(self, trip: str) -> str | None:
        """The trip the same unit works after ``trip`` (None: it runs in, or no such trip)."""
        t = self.trip_by_number.get(trip)
        if t is None:
            return None
        w = self.working_by_service.get(t.service)
        if w is None:
            return None
        i = w.trips.index(trip) if trip in w.trips else -1
        return w.trips[i + 1] if 0 <= i < len(w.trips) - 1 else None

    def span_s(self) -> tuple[int, int]:
        """The first departure and the last arrival of the day (service-day seconds)."""
        if not self.trips:
            return (0, 0)
        return (min(t.start_s for t in self.trips), max(t.end_s for t in self.trips))

    def label(self) -> str:
        """The plan as the wire names it: ``<id>@<digest>`` (ACTUALS ``timetable``)."""
        return f"{self.id}@{self.digest()}"

    def digest(self) -> str:
        """A short content digest: a workstation and a server compare it to know they
        run the same plan. Worked out once (the plan is frozen)."""
        if not self._digest:
            object.__setattr__(self, "_digest", self._work_out_digest())
        return self._digest

    def _work_out_digest(self) -> str:
        doc = {
            "id": self.id,
            "line": self.line_id,
            "day_type": str(self.day_type),
            "changeover_s": self.changeover_s,
            "trips": [asdict(t) for t in self.trips],
            "workings": [asdict(w) for w in self.workings],
        }
        raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]
