"""What the train graph draws, prepared once: each trip's planned and actual lines
as polygons in world units (x: service-day seconds, y: km), cached.

The planned line of a trip is made once. Its actual line is made from the day's
store (``app/timetable/actuals.py``) and made again only when the store says the
trip changed (``take_changed_trips``), split in runs of one lateness class each
(``app/timetable/delays.py``: on time, early, late; and late beyond a second
threshold, "severe") so that a painter draws each run in its colour. A window in
time finds its trips by bisection over the trips' starts (culling).
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPolygonF, QStaticText

from app.model.topology import Direction
from app.timetable.actuals import NONE, ActualsStore
from app.timetable.delays import Punctuality, classify
from app.timetable.model import Timetable, Trip, TripKind
from ui.traingraph_lod import FIRST_LEVEL, LAST_LEVEL, Points, simplify
from ui.traingraph_window import StationAxis


class Lateness(StrEnum):
    """How an actual run is coloured: the delay classes plus a severe lateness."""

    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"
    SEVERE = "severe"


def lateness(delay_s: float, on_time_s: float, severe_s: float) -> Lateness:
    cls = classify(delay_s, on_time_s)
    if cls is Punctuality.LATE:
        return Lateness.SEVERE if delay_s > severe_s else Lateness.LATE
    if cls is Punctuality.EARLY:
        return Lateness.EARLY
    return Lateness.ON_TIME


@dataclass
class TripLines:
    """One trip's lines: planned (one polyline), actual (runs by lateness)."""

    number: str
    down: bool
    empty: bool
    start_s: float
    end_s: float
    planned: QPolygonF
    #: the planned line's points (hit tests, labels, levels of detail)
    planned_points: Points
    actual: list[tuple[Lateness, QPolygonF]] = field(default_factory=list)
    actual_points: Points = field(default_factory=Points)
    #: the actual runs: each lateness class and its first and last index in actual_points
    actual_runs: list[tuple[Lateness, int, int]] = field(default_factory=list)
    #: the lines at each level of detail (traingraph_lod.py), made when first drawn
    planned_lod: dict[int, QPolygonF] = field(default_factory=dict)
    actual_lod: dict[int, list[tuple[Lateness, QPolygonF]]] = field(default_factory=dict)
    #: the lateness at its last actual event (None: no actual yet)
    last: Lateness | None = None
    last_delay_s: float = 0.0
    label: QStaticText | None = None
    #: the events a finished trip has (an arrival and a departure at each stop drawn)
    events_total: int = 0

    def label_text(self) -> QStaticText:
        if self.label is None:
            self.label = QStaticText(self.number)
            self.label.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
        return self.label


def _polygon(points: Points, indices: Iterable[int]) -> QPolygonF:
    t, km = points.t, points.km
    return QPolygonF([QPointF(t[i], km[i]) for i in indices])


class GraphData:
    """The day's trips as lines, the index to cull them, the actuals kept current."""

    def __init__(
        self,
        axis: StationAxis,
        timetable: Timetable,
        store: ActualsStore,
        *,
        on_time_s: float = 60.0,
        severe_s: float = 300.0,
    ) -> None:
        self.axis = axis
        self.timetable = timetable
        self.store = store
        self.on_time_s = on_time_s
        self.severe_s = severe_s
        trips = sorted(timetable.trips, key=lambda t: (t.start_s, t.number))
        self.lines: list[TripLines] = [self._planned(t) for t in trips]
        self.by_number: dict[str, TripLines] = {t.number: t for t in self.lines}
        self.starts: list[float] = [t.start_s for t in self.lines]
        self.longest_s = max((t.end_s - t.start_s for t in self.lines), default=0.0)
        #: the usual speed of a line on the graph (km a second): its slope
        speeds = sorted(
            abs(t.planned_points.km[-1] - t.planned_points.km[0]) / (t.end_s - t.start_s)
            for t in self.lines
            if len(t.planned_points) > 1 and t.end_s > t.start_s
        )
        self.typical_km_per_s = speeds[len(speeds) // 2] if speeds else 0.01
        self.generation = -1
        #: the trips under way: some actuals, not all (drawn live, over the base layer)
        self.running: set[str] = set()
        #: the trips finished since the view last took them (it draws them into its base)
        self.settled: list[str] = []
        #: a finished trip's lines changed, or went: the view paints its base again
        self.base_stale = False
        self.px_per_km = 0.0  # the levels of detail's scale down (set_px_per_km)
        self._warm_at = 0
        #: the trips whose actual lines the last :meth:`refresh` made again
        self.rebuilt: set[str] = set()
        self.refresh()

    # -- building ------------------------------------------------------------------------

    def _planned(self, trip: Trip) -> TripLines:
        km_of = self.axis.km_of
        points = Points()
        for stop in trip.stops:
            km = km_of.get(stop.station)
            if km is None:  # a station the line does not draw
                continue
            points.add(stop.arrive_s, km)
            if stop.depart_s != stop.arrive_s:
                points.add(stop.depart_s, km)
        start = points.t[0] if points else float(trip.start_s)
        end = points.t[-1] if points else float(trip.end_s)
        return TripLines(
            trip.number,
            trip.direction is Direction.DOWN,
            trip.kind is TripKind.EMPTY,
            start,
            end,
            _polygon(points, range(len(points))),
            points,
            events_total=2 * sum(1 for stop in trip.stops if stop.station in km_of),
        )

    def _actual(self, lines: TripLines) -> None:
        store, km_of = self.store, self.axis.km_of
        stops = self.timetable.stops
        points = Points()
        classes: list[Lateness] = []  # each point's lateness
        severe, on_time = self.severe_s, self.on_time_s
        finished = False  # its last stop reached: a trip under way when the server
        # started never records its first stops, and is done all the same
        for i in store.trip_range(lines.number):
            km = km_of.get(stops[i].stop.station)
            if km is None:
                continue
            finished = store.arrive[i] != NONE or store.depart[i] != NONE
            for at, planned in (
                (store.arrive[i], store.planned_arrive[i]),
                (store.depart[i], store.planned_depart[i]),
            ):
                if at != NONE:
                    points.add(at / 1000, km)
                    delay = (at - planned) / 1000
                    classes.append(lateness(delay, on_time, severe))
                    lines.last_delay_s = delay
        n = len(points)
        before = len(lines.actual_points)
        was_running = lines.number in self.running
        if before and (not was_running or n < before):
            # a finished trip changed, or actuals went (a new day): what the base layer
            # holds of it is wrong, not only short
            self.base_stale = True
        lines.actual_points = points
        lines.actual_lod = {}
        lines.last = classes[-1] if classes else None
        if 0 < n < lines.events_total and not finished:
            self.running.add(lines.number)
        else:
            self.running.discard(lines.number)
            if n and (was_running or not before):  # newly finished: into the base
                self.settled.append(lines.number)
        # runs of one class: a segment takes the class of the event it ends at
        runs: list[tuple[Lateness, int, int]] = []
        for k in range(1, n):
            cls = classes[k]
            if runs and runs[-1][0] is cls:
                runs[-1] = (cls, runs[-1][1], k)
            else:
                runs.append((cls, k - 1, k))
        lines.actual_runs = runs
        lines.actual = [(cls, _polygon(points, range(lo, hi + 1))) for cls, lo, hi in runs]

    def refresh(self) -> set[str]:
        """Make again the actual lines of the trips the store changed since the last
        call; the trips made again (empty when nothing changed)."""
        if self.store.generation == self.generation:
            self.rebuilt = set()
            return self.rebuilt
        first = self.generation == -1
        self.generation = self.store.generation
        changed = self.store.take_changed_trips()
        if first:  # a view opened mid-day: every trip's actuals so far
            changed = set(self.by_number)
        rebuilt = set()
        for number in changed:
            lines = self.by_number.get(number)
            if lines is not None:
                self._actual(lines)
                rebuilt.add(number)
        self.rebuilt = rebuilt
        return rebuilt

    # -- levels of detail ----------------------------------------------------------------

    def set_px_per_km(self, px_per_km: float) -> bool:
        """The scale down the levels of detail are made for: when it changed by more
        than a tenth, they are dropped (to be made again); True then."""
        if self.px_per_km and abs(px_per_km / self.px_per_km - 1) <= 0.1:
            return False
        self.px_per_km = px_per_km
        for lines in self.lines:
            lines.planned_lod.clear()
            lines.actual_lod.clear()
        self._warm_at = 0
        return True

    def at_level(
        self, lines: TripLines, level: int | None
    ) -> tuple[QPolygonF, list[tuple[Lateness, QPolygonF]]]:
        """``lines``' planned line and actual runs at ``level`` (None: every point)."""
        if level is None:
            return lines.planned, lines.actual
        planned = lines.planned_lod.get(level)
        if planned is None:
            planned = self._simplified(
                lines.planned_points, 0, len(lines.planned_points) - 1, level, lines.planned
            )
            lines.planned_lod[level] = planned
        actual = lines.actual_lod.get(level)
        if actual is None:
            actual = [
                (cls, self._simplified(lines.actual_points, lo, hi, level, whole))
                for (cls, lo, hi), (_, whole) in zip(lines.actual_runs, lines.actual, strict=True)
            ]
            lines.actual_lod[level] = actual
        return planned, actual

    def _simplified(
        self, points: Points, lo: int, hi: int, level: int, whole: QPolygonF
    ) -> QPolygonF:
        """``points[lo..hi]`` at ``level``; ``whole`` itself when little would go (the
        finer levels share the polygon instead of holding a copy)."""
        if hi - lo < 2:
            return whole
        kept = simplify(points, lo, hi, level, self.px_per_km)
        if len(kept) * 4 >= (hi - lo + 1) * 3:
            return whole
        return _polygon(points, kept)

    def warm(self, budget_s: float) -> bool:
        """Make the levels of detail not made yet, for ``budget_s`` seconds at most
        (from an idle timer); True when every trip has every level."""
        deadline = time.perf_counter() + budget_s
        levels = range(FIRST_LEVEL, LAST_LEVEL + 1)
        while self._warm_at < len(self.lines):
            lines = self.lines[self._warm_at]
            for level in levels:
                self.at_level(lines, level)
            self._warm_at += 1
            if time.perf_counter() > deadline:
                break
        return self._warm_at >= len(self.lines)

    # -- reading -------------------------------------------------------------------------

    def visible(self, t0: float, t1: float) -> Iterator[TripLines]:
        """The trips whose planned or actual line may cross ``[t0, t1]``; an actual
        line runs late, so a trip is kept while its actual line may still be in it."""
        lo = bisect.bisect_left(self.starts, t0 - self.longest_s - 3600)
        hi = bisect.bisect_right(self.starts, t1)
        for lines in self.lines[lo:hi]:
            end = lines.end_s
            if lines.actual_points:
                end = max(end, lines.actual_points.t[-1])
            if end >= t0 and min(lines.start_s, _first_t(lines)) <= t1:
                yield lines

    def hit(
        self, t_s: float, km: float, px_per_s: float, px_per_km: float, tolerance_px: float
    ) -> str | None:
        """The trip whose line (actual first, then planned) passes nearest the point
        (``t_s``, ``km``), within ``tolerance_px`` pixels; None when none does."""
        tol_s = tolerance_px / px_per_s
        best: tuple[float, str] | None = None
        for lines in self.visible(t_s - tol_s, t_s + tol_s):
            for points in (lines.actual_points, lines.planned_points):
                d = _distance_px(points, t_s, km, px_per_s, px_per_km, tol_s)
                if d <= tolerance_px and (best is None or d < best[0]):
                    best = (d, lines.number)
        return best[1] if best else None


def _first_t(lines: TripLines) -> float:
    return lines.actual_points.t[0] if lines.actual_points else lines.start_s


def _distance_px(
    points: Points,
    t_s: float,
    km: float,
    sx: float,
    sy: float,
    tol_s: float,
) -> float:
    """The distance in pixels from (t_s, km) to the polyline ``points``."""
    best = math.inf
    px, py = t_s * sx, km * sy
    for (ta, ka), (tb, kb) in itertools.pairwise(zip(points.t, points.km, strict=True)):
        if max(ta, tb) < t_s - tol_s or min(ta, tb) > t_s + tol_s:
            continue
        ax, ay, bx, by = ta * sx, ka * sy, tb * sx, kb * sy
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        u = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
        best = min(best, math.hypot(ax + u * dx - px, ay + u * dy - py))
    return best
