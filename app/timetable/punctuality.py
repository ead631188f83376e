"""Punctuality figures (准点率) from the day's actuals: the share of departures within
±1, ±2 and ±5 minutes of the plan, for the whole day, per station and per hour of the
service day, with the counts they come from (Qt-free; ``docs/timetable.md``).

What counts is a passenger departure: the departure of a service trip from any of its
stops but its destination (leaving the destination is a move to the turnback or the
depot; an empty trip carries no one). A departure counts once it has an actual; one
still to come, or never reported, is in ``planned`` but in no share. An hour is the
hour of the service day the departure was *planned* in (24 and 25 past midnight), so
that a late train counts against the hour the passengers were told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from app.timetable.actuals import NONE, ActualsStore
from app.timetable.model import TripKind
from app.timetable.times import format_service_time

#: The windows (either side of the plan) the figures count departures within.
WINDOWS_S: Final = (60, 120, 300)
_HOUR_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class Figures:
    """Departures in one scope (the day, a station, an hour)."""

    #: passenger departures the plan has here
    planned: int
    #: of them, the ones with an actual departure
    departures: int
    #: of those, how many left within each window (the report's ``windows_s``) either side
    within: tuple[int, ...]
    #: the mean deviation of those departures, seconds (late > 0); None without any
    mean_delay_s: float | None

    def shares(self) -> tuple[float | None, ...]:
        """The share (0..1) of departures within each window; None without departures."""
        if not self.departures:
            return tuple(None for _ in self.within)
        return tuple(n / self.departures for n in self.within)


@dataclass(frozen=True, slots=True)
class StationFigures:
    station: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class HourFigures:
    #: the hour of the service day (5: 05:00-06:00; 24: 00:00-01:00 the night after)
    hour: int
    figures: Figures


@dataclass(frozen=True, slots=True)
class PunctualityReport:
    timetable: str
    service_date: str
    windows_s: tuple[int, ...]
    overall: Figures
    #: in the order of the ``stations`` given, else by first call in the plan
    stations: tuple[StationFigures, ...]
    #: each hour with a planned passenger departure, in order
    hours: tuple[HourFigures, ...]


class _Tally:
    """Running counts of one scope."""

    __slots__ = ("delay_ms", "departures", "planned", "within")

    def __init__(self, windows: int) -> None:
        self.planned = 0
        self.departures = 0
        self.within = [0] * windows
        self.delay_ms = 0

    def add(self, delay_ms: int | None, windows_ms: Sequence[int]) -> None:
        self.planned += 1
        if delay_ms is None:
            return
        self.departures += 1
        self.delay_ms += delay_ms
        off = abs(delay_ms)
        for k, window in enumerate(windows_ms):
            if off <= window:
                self.within[k] += 1

    def figures(self) -> Figures:
        mean = self.delay_ms / self.departures / 1000 if self.departures else None
        return Figures(self.planned, self.departures, tuple(self.within), mean)


def punctuality(
    store: ActualsStore,
    stations: Sequence[str] | None = None,
    windows_s: Sequence[int] = WINDOWS_S,
) -> PunctualityReport:
    """The day's punctuality from ``store``. ``stations``: the order to list them in
    (the line's); stations the plan calls at but the list lacks follow it."""
    timetable = store.timetable
    windows_ms = [w * 1000 for w in windows_s]
    n = len(windows_ms)
    overall = _Tally(n)
    by_station: dict[str, _Tally] = {s: _Tally(n) for s in stations or ()}
    by_hour: dict[int, _Tally] = {}
    depart, planned = store.depart, store.planned_depart
    for trip in timetable.trips:
        if trip.kind is not TripKind.SERVICE:
            continue
        first = timetable.first_stop[trip.number]
        for i in range(first, first + len(trip.stops) - 1):  # not the destination
            actual = depart[i]
            delay = None if actual == NONE else actual - planned[i]
            station = trip.stops[i - first].station
            overall.add(delay, windows_ms)
            tally = by_station.get(station)
            if tally is None:
                tally = by_station[station] = _Tally(n)
            tally.add(delay, windows_ms)
            hour = planned[i] // _HOUR_MS
            tally = by_hour.get(hour)
            if tally is None:
                tally = by_hour[hour] = _Tally(n)
            tally.add(delay, windows_ms)
    return PunctualityReport(
        timetable=timetable.id,
        service_date=store.service_date,
        windows_s=tuple(windows_s),
        overall=overall.figures(),
        stations=tuple(StationFigures(s, t.figures()) for s, t in by_station.items()),
        hours=tuple(HourFigures(h, by_hour[h].figures()) for h in sorted(by_hour)),
    )


def figures_dict(figures: Figures, windows_s: Sequence[int]) -> dict[str, Any]:
    """One scope's figures as JSON-ready data (shares rounded to 4 places)."""
    return {
        "planned": figures.planned,
        "departures": figures.departures,
        "within": {str(w): n for w, n in zip(windows_s, figures.within, strict=True)},
        "share": {
            str(w): None if s is None else round(s, 4)
            for w, s in zip(windows_s, figures.shares(), strict=True)
        },
        "mean_delay_s": None if figures.mean_delay_s is None else round(figures.mean_delay_s, 1),
    }


def report_dict(report: PunctualityReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (``json.dumps`` takes it as it is)."""
    windows = report.windows_s
    return {
        "timetable": report.timetable,
        "service_date": report.service_date,
        "windows_s": list(windows),
        "overall": figures_dict(report.overall, windows),
        "stations": [
            {"station": s.station, **figures_dict(s.figures, windows)} for s in report.stations
        ],
        "hours": [
            {
                "hour": h.hour,
                "from": format_service_time(h.hour * 3600, with_seconds=False),
                **figures_dict(h.figures, windows),
            }
            for h in report.hours
        ],
    }
