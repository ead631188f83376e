"""The day's actual running (实绩): each arrival and departure, against its plan.

An :class:`Actual` is one event as the server reports it (``docs/protocol.md``,
ACTUAL). :class:`ActualsStore` keeps a day's worth, columnar and preallocated from
the plan: one slot per planned stop (``Timetable.stops``), an arrival and a
departure time in each, in ``array`` columns made once. Recording writes two
integers; nothing is allocated per record (the field notes' lesson, mission.md item
10: the old client allocated and freed one object per arrival/departure record).
An event for a stop the plan does not have is counted (``unplanned``), never stored
as if it were planned.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, TextIO

from msgspec import Meta

from app.timetable.model import Timetable
from app.timetable.times import MAX_SERVICE_S, format_service_time

#: "No time recorded" in a column.
NONE: Final = -(1 << 62)
#: The bounds of an actual's fields on the wire: what the columns can hold (a unit id in
#: 32 bits, times within the service day and a day either side, a stop number).
_MS = Meta(ge=-(MAX_SERVICE_S + 1) * 1000, le=2 * (MAX_SERVICE_S + 1) * 1000)
_ORDER = Meta(ge=0, le=100_000)
_UNIT = Meta(ge=0, le=(1 << 31) - 1)

#: The columns of a day's CSV (:meth:`ActualsStore.write_csv`, ``archive.py``).
COLUMNS: Final = (
    "service_date",
    "trip",
    "order",
    "station",
    "platform",
    "planned_arrive",
    "arrive",
    "arrive_delay_s",
    "planned_depart",
    "depart",
    "depart_delay_s",
)


class ActualKind(StrEnum):
    ARRIVE = "arrive"
    DEPART = "depart"


@dataclass(frozen=True, slots=True)
class Actual:
    """One actual arrival or departure: ``trip``'s stop number ``order`` (0: its
    origin) at ``station`` on ``platform``, by unit ``unit``, at ``at_ms`` against
    ``planned_ms`` (both ms of the service day, ``times.py``)."""

    trip: str
    order: Annotated[int, _ORDER]
    station: str
    platform: str
    kind: ActualKind
    at_ms: Annotated[int, _MS]
    planned_ms: Annotated[int, _MS]
    unit: Annotated[int, _UNIT] = 0

    @property
    def delay_ms(self) -> int:
        return self.at_ms - self.planned_ms


@dataclass(frozen=True, slots=True)
class StopTimes:
    """A planned stop and what happened there (``None``: not yet)."""

    index: int
    trip: str
    order: int
    station: str
    platform: str
    planned_arrive_ms: int
    planned_depart_ms: int
    arrive_ms: int | None
    depart_ms: int | None


class ActualsStore:
    """The day's actuals for ``timetable``, one slot per planned stop."""

    def __init__(self, timetable: Timetable, service_date: str = "") -> None:
        self.timetable = timetable
        self.service_date = service_date
        n = len(timetable.stops)
        self.size = n
        self.planned_arrive = array("q", (p.stop.arrive_s * 1000 for p in timetable.stops))
        self.planned_depart = array("q", (p.stop.depart_s * 1000 for p in timetable.stops))
        self.arrive = array("q", [NONE]) * n
        self.depart = array("q", [NONE]) * n
        self.unit = array("i", [0]) * n
        self.recorded = 0  # events stored
        self.unplanned = 0  # events for a stop the plan does not have
        self.generation = 0  # grows with every stored event: views redraw on change
        #: the last stop index each unit was recorded at (its trip and place now)
        self.last_index: dict[int, int] = {}
        self._dirty: set[str] = set()

    def clear(self, service_date: str = "") -> None:
        """A new service day: every slot empty again (the arrays are kept)."""
        for i in range(self.size):
            self.arrive[i] = NONE
            self.depart[i] = NONE
            self.unit[i] = 0
        self.service_date = service_date
        self.recorded = 0
        self.unplanned = 0
        self.generation += 1
        self.last_index.clear()
        self._dirty = set(self.timetable.trip_by_number)

    def has(self, actual: Actual) -> bool:
        """Whether ``actual`` is kept already, at the same time (a copy from the other
        network, or a catch-up telling again what came live)."""
        i = self.timetable.stop_index(actual.trip, actual.order)
        if i is None:
            return False
        column = self.arrive if actual.kind is ActualKind.ARRIVE else self.depart
        return column[i] == actual.at_ms and self.unit[i] == actual.unit

    def record(self, actual: Actual) -> int | None:
        """Keep ``actual``; its stop's index, or None when the plan has no such stop."""
        i = self.timetable.stop_index(actual.trip, actual.order)
        if i is None:
            self.unplanned += 1
            return None
        column = self.arrive if actual.kind is ActualKind.ARRIVE else self.depart
        if column[i] == NONE:
            self.recorded += 1
        column[i] = actual.at_ms
        self.unit[i] = actual.unit
        if actual.unit:
            self.last_index[actual.unit] = i
        self.generation += 1
        self._dirty.add(actual.trip)
        return i

    def take_changed_trips(self) -> set[str]:
        """The trips with new actuals since the last call (a view redraws only them)."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    def times(self, index: int) -> StopTimes:
        p = self.timetable.stops[index]
        a, d = self.arrive[index], self.depart[index]
        return StopTimes(
            index,
            p.trip,
            p.order,
            p.stop.station,
            p.stop.platform,
            self.planned_arrive[index],
            self.planned_depart[index],
            None if a == NONE else a,
            None if d == NONE else d,
        )

    def trip_range(self, trip: str) -> range:
        """The indices of ``trip``'s stops (empty: no such trip)."""
        first = self.timetable.first_stop.get(trip)
        if first is None:
            return range(0)
        return range(first, first + len(self.timetable.trip_by_number[trip].stops))

    def actuals(self) -> Iterator[Actual]:
        """Every stored event, as the server sent it (in plan order, arrival first)."""
        for p in self.timetable.stops:
            i = p.index
            for kind, column, planned in (
                (ActualKind.ARRIVE, self.arrive, self.planned_arrive),
                (ActualKind.DEPART, self.depart, self.planned_depart),
            ):
                if column[i] != NONE:
                    yield Actual(
                        p.trip,
                        p.order,
                        p.stop.station,
                        p.stop.platform,
                        kind,
                        column[i],
                        planned[i],
                        self.unit[i],
                    )

    def last_delay_ms(self, unit: int) -> tuple[int, int] | None:
        """(stop index, delay in ms) at ``unit``'s last recorded event: its departure
        there if it has left, else its arrival; None when nothing is known."""
        i = self.last_index.get(unit)
        if i is None:
            return None
        if self.depart[i] != NONE:
            return i, self.depart[i] - self.planned_depart[i]
        return i, self.arrive[i] - self.planned_arrive[i]

    def write_csv(self, out: TextIO) -> int:
        """The day's planned stops with their actuals as CSV (one row a stop); the
        number of rows written. Times are service-day ``HH:MM:SS``; delays seconds."""
        w = csv.writer(out, lineterminator="\n")
        w.writerow(COLUMNS)
        rows = 0
        for p in self.timetable.stops:
            t = self.times(p.index)
            w.writerow(
                [
                    self.service_date,
                    t.trip,
                    t.order,
                    t.station,
                    t.platform,
                    _hms(t.planned_arrive_ms),
                    _hms(t.arrive_ms),
                    _delay(t.arrive_ms, t.planned_arrive_ms),
                    _hms(t.planned_depart_ms),
                    _hms(t.depart_ms),
                    _delay(t.depart_ms, t.planned_depart_ms),
                ]
            )
            rows += 1
        return rows


def _hms(ms: int | None) -> str:
    return "" if ms is None else format_service_time(ms // 1000)


def _delay(ms: int | None, planned: int) -> str:
    return "" if ms is None else str(round((ms - planned) / 1000))
