"""Train graph: a day of 1 000 trips over 100 stations, 60 trains reporting live, offscreen.

``python -m bench traingraph [--quick] [--frames N] [--rounds N] [--stations N]
[--trips N] [--trains N]``

A line of 100 stations and a day of 1 000 trips worked by 60 units back and forth
are generated in code (``bench/traingraph_day.py``); the day's actuals are fed into
an :class:`ActualsStore` up to the middle of the day, then, frame by frame, the feed moves on two
service seconds a frame (the 60 trains' arrivals and departures as they come) while
the graph view (:class:`ui.traingraph.TrainGraphCanvas`, 1920x1080) takes the news
(``refresh``: only the trips changed) and repaints.

Measured per frame: the repaint (paint and flush, wall and the thread's CPU time) in
two views, the whole day and three hours about now; ``graph_paint_ratio`` is the
worse view's p95 over the 16.7 ms frame budget (target <= 1.0). Zoom and scroll:
gestures of Ctrl+wheel steps in and out about now and of scroll steps, each step
with its repaint (``graph_zoom_ratio``: the base layer stretched under the exact
live layer), and after each gesture the frame painted whole at the new window
(``settle_p95_ms``, what the view shows 150 ms after the last step). The store's
memory: its arrays, in bytes and per planned stop. ``graph_lod_warm_s``: making
every level of detail (the view does it in idle moments once open).

Baseline, interleaved in the same process on the same store: the same day painted
the naive way: every segment of every trip, planned and actual, worked out from the
plan and the store and drawn by ``drawLine`` each frame, without culling or cached
paths.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication

from app.model.topology import Direction
from app.timetable.actuals import NONE, ActualsStore
from bench.traingraph_day import Feed, big_day, big_line
from ui import style
from ui.traingraph import TrainGraphCanvas
from ui.traingraph_data import lateness
from ui.traingraph_geometry import LATENESS_COLOUR, Layout, pen

BUDGET_MS = 16.7
STEP_MS = 2000  # service time a frame


@dataclass(frozen=True, slots=True)
class Options:
    frames: int
    rounds: int
    stations: int
    trips: int
    trains: int


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench traingraph", description=(__doc__ or "").split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="short run, for CI")
    p.add_argument("--frames", type=int, help="frames per view per variant per round (60)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (3)")
    p.add_argument("--stations", type=int, default=100, help="stations (100)")
    p.add_argument("--trips", type=int, default=1000, help="trips (1000)")
    p.add_argument("--trains", type=int, default=60, help="units working them (60)")
    a = p.parse_args(argv)
    if a.stations < 2 or a.trips < 1 or not 1 <= a.trains <= a.trips:
        p.error("need --stations >= 2, --trips >= 1, 1 <= --trains <= --trips")
    return Options(
        frames=a.frames or (15 if a.quick else 60),
        rounds=a.rounds or (1 if a.quick else 3),
        stations=a.stations,
        trips=a.trips,
        trains=a.trains,
    )


class NaiveCanvas(TrainGraphCanvas):
    """The baseline: the same widget, painted segment by segment from the plan and the
    store every frame, every trip of the day, no cache, no culling."""

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            paint_naive(p, self)
        finally:
            p.end()


def paint_naive(p: QPainter, canvas: TrainGraphCanvas) -> None:
    lay = Layout.of(QRectF(canvas.rect()))
    m = canvas.mapping()
    p.fillRect(canvas.rect(), style.BACKGROUND)
    p.fillRect(lay.plot, style.STATION_BAND)
    p.setClipRect(lay.plot)
    km = canvas.axis.km_of
    store = canvas.store
    stops = canvas.timetable.stops
    down, up = pen(style.GRAPH_PLANNED_DOWN, 1), pen(style.GRAPH_PLANNED_UP, 1)
    for trip in canvas.timetable.trips:
        p.setPen(down if trip.direction is Direction.DOWN else up)
        prev: tuple[float, float] | None = None
        for stop in trip.stops:
            y = m.y(km[stop.station])
            for t in (stop.arrive_s, stop.depart_s):
                x = m.x(t)
                if prev is not None:
                    p.drawLine(QLineF(prev[0], prev[1], x, y))
                prev = (x, y)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    pens = {cls: pen(colour, 2.6) for cls, colour in LATENESS_COLOUR.items()}
    for trip in canvas.timetable.trips:
        prev = None
        for i in store.trip_range(trip.number):
            y = m.y(km[stops[i].stop.station])
            for at, planned in (
                (store.arrive[i], store.planned_arrive[i]),
                (store.depart[i], store.planned_depart[i]),
            ):
                if at == NONE:
                    continue
                x = m.x(at / 1000)
                if prev is not None:
                    delay = (at - planned) / 1000
                    p.setPen(pens[lateness(delay, 60, 300)])
                    p.drawLine(QLineF(prev[0], prev[1], x, y))
                prev = (x, y)


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, work: Callable[[], object]) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        work()
        self.wall.append((time.perf_counter() - t0) * 1000)
        self.cpu.append((time.thread_time() - c0) * 1000)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Now:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def scroll_part(canvas: TrainGraphCanvas, part: float) -> None:
    canvas.scroll_by(canvas.time_window.span_s * part, gesture=True)


def step_and_paint(step: Callable[[], None], canvas: TrainGraphCanvas) -> None:
    step()
    canvas.repaint()


def store_bytes(store: ActualsStore) -> int:
    arrays = (store.planned_arrive, store.planned_depart, store.arrive, store.depart, store.unit)
    return sum(sys.getsizeof(a) for a in arrays) + sys.getsizeof(store.last_index)


def rss_bytes() -> int:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def run(argv: list[str]) -> dict[str, Any]:
    opts = parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    t0 = time.perf_counter()
    line = big_line(opts.stations)
    timetable, events = big_day(line, opts.trips, opts.trains)
    store = ActualsStore(timetable, "2026-12-07")
    feed = Feed(store, events)
    first_s, last_s = timetable.span_s()
    now = Now((first_s + last_s) // 2 * 1000)  # mid-day
    feed.until(now.ms)
    generated_s = time.perf_counter() - t0

    rss0 = rss_bytes()
    t0 = time.perf_counter()
    ours = TrainGraphCanvas(line, timetable, store, now, str, english=True)
    build_s = time.perf_counter() - t0
    cache_rss = rss_bytes() - rss0
    naive = NaiveCanvas(line, timetable, store, now, str, english=True)
    variants: dict[str, TrainGraphCanvas] = {"ours": ours, "baseline": naive}
    for c in variants.values():
        c.timer.stop()  # the bench drives the ticks
        c.resize(1920, 1080)
        c.show()
    app.processEvents()
    # the levels of detail, made in idle moments once the view is open
    t0 = time.perf_counter()
    ours.data.warm(600)
    warm_s = time.perf_counter() - t0

    paint: dict[tuple[str, str], Samples] = {}
    zoom: dict[str, Samples] = {name: Samples() for name in variants}
    settle: dict[str, Samples] = {name: Samples() for name in variants}
    refresh = Samples()
    live_events = 0
    for _ in range(opts.rounds):
        for name, canvas in variants.items():
            for view in ("day", "3h"):
                if view == "day":
                    canvas.fit_to_line()
                else:
                    canvas.show_time(now.ms / 1000 - 2 * 3600, 3 * 3600)
                samples = paint.setdefault((name, view), Samples())
                canvas.repaint()  # the first frame of a view is not the steady state
                for _ in range(opts.frames):
                    now.ms += STEP_MS
                    live_events += feed.until(now.ms)
                    if name == "ours":
                        refresh.time(canvas.data.refresh)
                    else:
                        canvas.data.refresh()
                    samples.time(canvas.repaint)
            # zoom and scroll about now, each step with its frame
            canvas.fit_to_line()
            canvas.repaint()
            anchor = now.ms / 1000
            gestures: list[list[Callable[[], None]]] = [
                [partial(canvas.zoom, 0.8, anchor, gesture=True)] * 6,
                [partial(canvas.zoom, 0.8, anchor, gesture=True)] * 6,
                [partial(scroll_part, canvas, 0.1)] * 8,
                [partial(scroll_part, canvas, -0.1)] * 8,
                [partial(canvas.zoom, 1.25, anchor, gesture=True)] * 12,
            ]
            for gesture in gestures:
                for step in gesture:
                    zoom[name].time(partial(step_and_paint, step, canvas))
                # the gesture over: the frame painted whole at the new window
                settle[name].time(partial(step_and_paint, canvas.settle, canvas))

    running = sum(1 for t in timetable.trips if t.start_s * 1000 <= now.ms <= t.end_s * 1000)
    figures: dict[str, Any] = {
        "stations": opts.stations,
        "trips": len(timetable.trips),
        "trains": opts.trains,
        "running_at_end": running,
        "planned_stops": store.size,
        "live_events": live_events,
        "budget_ms": BUDGET_MS,
        "generated_s": round(generated_s, 2),
        "graph_build_ms": round(build_s * 1000, 1),
        "graph_lod_warm_s": round(warm_s, 2),
        "graph_cache_rss_bytes": cache_rss,
        "store_bytes": store_bytes(store),
        "store_bytes_per_stop": round(store_bytes(store) / max(1, store.size), 2),
        "refresh_p95_ms": round(pct(refresh.wall, 95), 3),
    }
    for name in variants:
        prefix = "" if name == "ours" else "baseline_"
        for view in ("day", "3h"):
            s = paint[(name, view)]
            figures[f"{prefix}paint_{view}_p50_ms"] = round(pct(s.wall, 50), 2)
            figures[f"{prefix}paint_{view}_p95_ms"] = round(pct(s.wall, 95), 2)
            figures[f"{prefix}paint_{view}_cpu_p95_ms"] = round(pct(s.cpu, 95), 2)
        figures[f"{prefix}paint_p95_ms"] = max(
            figures[f"{prefix}paint_day_p95_ms"], figures[f"{prefix}paint_3h_p95_ms"]
        )
        figures[f"{prefix}zoom_p95_ms"] = round(pct(zoom[name].wall, 95), 2)
        figures[f"{prefix}zoom_cpu_p95_ms"] = round(pct(zoom[name].cpu, 95), 2)
        figures[f"{prefix}settle_p95_ms"] = round(pct(settle[name].wall, 95), 2)
    figures["graph_paint_ratio"] = round(figures["paint_p95_ms"] / BUDGET_MS, 3)
    figures["graph_zoom_ratio"] = round(figures["zoom_p95_ms"] / BUDGET_MS, 3)
    figures["baseline_graph_paint_ratio"] = round(figures["baseline_paint_p95_ms"] / BUDGET_MS, 3)
    figures["baseline_graph_zoom_ratio"] = round(figures["baseline_zoom_p95_ms"] / BUDGET_MS, 3)
    figures["paint_p95_vs_baseline"] = round(
        figures["paint_p95_ms"] / figures["baseline_paint_p95_ms"], 3
    )
    figures["zoom_p95_vs_baseline"] = round(
        figures["zoom_p95_ms"] / figures["baseline_zoom_p95_ms"], 3
    )
    for c in variants.values():
        c.close()

    print(
        f"{len(timetable.trips)} trips over {opts.stations} stations ({store.size} planned stops), "
        f"{opts.trains} units, {live_events} events fed live; 1920x1080 offscreen, "
        f"{opts.rounds} x {opts.frames} frames per view"
    )
    print(f"{'':<10}{'day p95':>10}{'3h p95':>10}{'day cpu':>10}{'zoom p95':>10}{'settle':>10}")
    for name in variants:
        pre = "" if name == "ours" else "baseline_"
        print(
            f"{name:<10}{figures[pre + 'paint_day_p95_ms']:>8.2f}ms"
            f"{figures[pre + 'paint_3h_p95_ms']:>8.2f}ms"
            f"{figures[pre + 'paint_day_cpu_p95_ms']:>8.2f}ms{figures[pre + 'zoom_p95_ms']:>8.2f}ms"
            f"{figures[pre + 'settle_p95_ms']:>8.2f}ms"
        )
    print(
        f"budget {BUDGET_MS} ms: graph_paint_ratio {figures['graph_paint_ratio']}, "
        f"graph_zoom_ratio {figures['graph_zoom_ratio']} (targets <= 1.0); ours / baseline: "
        f"paint {figures['paint_p95_vs_baseline']}, zoom {figures['zoom_p95_vs_baseline']}"
    )
    print(
        f"store: {figures['store_bytes']} bytes, {figures['store_bytes_per_stop']} per planned "
        f"stop; refresh (changed trips only) p95 {figures['refresh_p95_ms']} ms"
    )
    return figures
