"""The punctuality figures the report shows, from the day's actuals store.

A stand-in until ``app/timetable/punctuality.py`` (being written beside this) is
there: :func:`punctuality_figures` is the one function the report calls, and the
one place to swap for the core's. Qt-free.

A departure counts when it has an actual time; it is within ±N minutes when its
deviation from the plan is at most N minutes either way. Stations are in the line's
order (by km); hours are the service-day hour of the planned departure (24 past
midnight).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from app.timetable.actuals import NONE, ActualsStore

#: ±1, ±2, ±5 minutes
THRESHOLDS_S: Final = (60, 120, 300)


@dataclass(frozen=True, slots=True)
class Share:
    """Departures of one group (a station, an hour, the day) and how many of them
    were within each threshold."""

    key: str
    departures: int
    within: tuple[int, ...]

    def share(self, i: int) -> float | None:
        """The share within threshold ``i`` (None: no departure yet)."""
        return self.within[i] / self.departures if self.departures else None


@dataclass(frozen=True, slots=True)
class Figures:
    thresholds_s: tuple[int, ...]
    day: Share
    by_station: tuple[Share, ...]
    by_hour: tuple[Share, ...]


class _Tally:
    __slots__ = ("departures", "within")

    def __init__(self, n: int) -> None:
        self.departures = 0
        self.within = [0] * n

    def add(self, delay_ms: int, limits_ms: tuple[int, ...]) -> None:
        self.departures += 1
        d = abs(delay_ms)
        for i, limit in enumerate(limits_ms):
            if d <= limit:
                self.within[i] += 1

    def share(self, key: str) -> Share:
        return Share(key, self.departures, tuple(self.within))


def punctuality_figures(
    store: ActualsStore,
    station_order: Iterable[str] = (),
    thresholds_s: tuple[int, ...] = THRESHOLDS_S,
) -> Figures:
    """The day's figures so far. ``station_order``: the stations in the order to list
    them (the line's); stations the plan has beyond them come after, in plan order."""
    limits = tuple(t * 1000 for t in thresholds_s)
    n = len(limits)
    day = _Tally(n)
    stations: dict[str, _Tally] = {s: _Tally(n) for s in station_order}
    hours: dict[int, _Tally] = {}
    stops = store.timetable.stops
    depart, planned = store.depart, store.planned_depart
    for i in range(store.size):
        at = depart[i]
        if at == NONE:
            continue
        delay = at - planned[i]
        day.add(delay, limits)
        station = stops[i].stop.station
        tally = stations.get(station)
        if tally is None:
            tally = stations[station] = _Tally(n)
        tally.add(delay, limits)
        hour = planned[i] // 3_600_000
        tally = hours.get(hour)
        if tally is None:
            tally = hours[hour] = _Tally(n)
        tally.add(delay, limits)
    return Figures(
        thresholds_s,
        day.share(""),
        tuple(t.share(s) for s, t in stations.items()),
        tuple(hours[h].share(f"{h:02d}") for h in sorted(hours)),
    )
