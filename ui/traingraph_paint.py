"""Painting the train graph (运行图) with one QPainter: the widget and the exports share it.

The area (``traingraph_geometry.Layout``): a time band on top, the station names on
the left, the legend along the bottom, a title band above all (exports), the plot in
the rest. In the plot, in this order: the time grid (hours strong, finer steps as
the zoom allows), a rule per station, the planned lines (thin: down and up in two
muted hues, empty runs dotted), the actual lines (thick, each run in its lateness
colour), the trip numbers (``traingraph_marks.py``), the highlighted trip (a halo
and its lines again), the now line.

A frame is two layers. The *base* (:func:`paint_base`) holds all that does not move
while the window stays: the grid, the stations, every planned line, the actual
lines of the trips not running, their numbers; the widget keeps it in a pixmap.
The *live* layer (:func:`paint_live`) is painted over it each frame: the running
trips' actual lines and numbers at their heads, the highlight, the now line. A trip
that finishes is drawn into the kept base (:func:`paint_actual`).

The lines are drawn straight from the cached polygons (``traingraph_data.py``) in
world units through the painter's transform with cosmetic pens; only the trips that
cross the window are drawn. ``fast`` (the screen): the lines at the level of detail
of the scale (``traingraph_lod.py``) and thick lines as one-pixel passes a pixel
apart (a wide pen's stroker costs ten times as much); else (paper, pictures) every
point and real wide pens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPolygonF, QTransform

from ui import style
from ui.traingraph_data import GraphData, Lateness, TripLines
from ui.traingraph_geometry import LATENESS_COLOUR, Layout, Mapping, Scene, pen
from ui.traingraph_lod import level_for
from ui.traingraph_marks import Taken, halo_colour, labels, legend, now_line, title
from ui.traingraph_window import clock_text, ticks_for

Translate = Callable[[str], str]
Drawn = tuple[QPolygonF, list[tuple[Lateness, QPolygonF]]]


class Frame:
    """One frame's geometry and level of detail."""

    def __init__(
        self, rect: QRectF, data: GraphData, scene: Scene, scale: float, fast: bool
    ) -> None:
        self.rect = rect
        self.lay = Layout.of(rect, scale, title=scene.title is not None)
        axis = data.axis
        self.m = Mapping(scene.t0, scene.t1, axis.km0, axis.km1, self.lay.plot, self.lay.pad)
        self.scale = scale
        self.fast = fast
        self.level: int | None = None
        if fast:
            data.set_px_per_km(self.m.sy)
            self.level = level_for(self.m.sx)
        # thick lines as one-pixel passes a pixel apart: across the lines' usual slope
        # (steep: side by side; flat: one above the other; else both)
        slope = data.typical_km_per_s * self.m.sy / self.m.sx
        self.passes: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1))
        if slope > 2.5:
            self.passes = ((0, 0), (1, 0))
        elif slope < 0.4:
            self.passes = ((0, 0), (0, 1))


def paint_graph(
    p: QPainter,
    rect: QRectF,
    data: GraphData,
    scene: Scene,
    tr: Translate,
    station_name: Callable[[str], str],
    scale: float = 1.0,
    *,
    fast: bool = False,
) -> int:
    """The whole graph of ``data`` for ``scene`` in ``rect`` in one go; the trips drawn."""
    frame = Frame(rect, data, scene, scale, fast)
    drawn, taken = paint_base(p, frame, data, scene, tr, station_name, skip=())
    paint_live(p, frame, data, scene, [], taken)
    return drawn


def paint_base(
    p: QPainter,
    frame: Frame,
    data: GraphData,
    scene: Scene,
    tr: Translate,
    station_name: Callable[[str], str],
    skip: Collection[str],
) -> tuple[int, Taken]:
    """The base layer: everything but the actual lines and numbers of the trips in
    ``skip`` (the running ones) and the live marks; the trips drawn and the label
    cells taken."""
    lay, m = frame.lay, frame.m
    p.fillRect(frame.rect, style.BACKGROUND)
    p.fillRect(lay.plot, style.STATION_BAND)
    _grid(p, m, lay)
    _stations(p, m, lay, data, station_name)
    trips = list(data.visible(scene.t0, scene.t1))
    p.save()
    p.setClipRect(lay.plot)
    drawn = [data.at_level(t, frame.level) for t in trips]
    _planned(p, frame, trips, drawn)
    settled = [(t, d) for t, d in zip(trips, drawn, strict=True) if t.number not in skip]
    _actual(p, frame, [d for _, d in settled])
    p.restore()
    taken: Taken = set()
    if scene.labels:
        p.save()
        p.setClipRect(lay.plot)
        labels(p, m, [t for t, _ in settled], taken, None, frame.scale)
        p.restore()
    legend(p, lay, tr)
    if scene.title is not None:
        title(p, lay, scene.title)
    return len(trips), taken


def paint_actual(p: QPainter, frame: Frame, data: GraphData, trips: list[TripLines]) -> None:
    """``trips``' actual lines over what is there (a trip that finished, into the base)."""
    p.save()
    p.setClipRect(frame.lay.plot)
    _actual(p, frame, [data.at_level(t, frame.level) for t in trips])
    p.restore()


def paint_live(
    p: QPainter,
    frame: Frame,
    data: GraphData,
    scene: Scene,
    running: list[TripLines],
    taken: Taken,
) -> None:
    """Over the base: the ``running`` trips' actual lines and numbers (at their heads),
    the highlighted trip, the now line."""
    lay, m = frame.lay, frame.m
    p.save()
    p.setClipRect(lay.plot)
    _actual(p, frame, [data.at_level(t, frame.level) for t in running])
    hi = data.by_number.get(scene.highlight) if scene.highlight else None
    if hi is not None:
        _highlight(p, frame, hi)
    if scene.labels:
        labels(p, m, running, set(taken), scene.highlight, frame.scale, at_head=True)
        if hi is not None and hi not in running:
            labels(p, m, [hi], set(), scene.highlight, frame.scale)
    p.restore()
    if scene.now_s is not None and scene.t0 <= scene.now_s <= scene.t1:
        now_line(p, m, lay, scene.now_s)


def _grid(p: QPainter, m: Mapping, lay: Layout) -> None:
    ticks = ticks_for(m.sx)
    # rules as one-pixel rectangles: a fill is several times cheaper than a line
    top, bottom = lay.plot.top(), lay.plot.bottom()
    t = math.ceil(m.t0 / ticks.minor_s) * ticks.minor_s
    p.setFont(style.font(8))
    fm = QFontMetricsF(p.font())
    while t <= m.t1:
        x = m.x(t)
        colour = style.GRAPH_GRID_MAJOR if t % ticks.major_s == 0 else style.GRAPH_GRID_MINOR
        p.fillRect(QRectF(round(x), top, lay.scale, bottom - top), colour)
        if t % ticks.label_s == 0:
            text = clock_text(t)
            w = fm.horizontalAdvance(text)
            p.setPen(style.TEXT_SECONDARY if t % 3600 == 0 else style.TEXT_MUTED)
            x_text = min(max(x - w / 2, lay.time_band.left()), lay.time_band.right() - w)
            p.drawText(QPointF(x_text, lay.time_band.bottom() - 6 * lay.scale), text)
        t += ticks.minor_s


def _stations(
    p: QPainter, m: Mapping, lay: Layout, data: GraphData, station_name: Callable[[str], str]
) -> None:
    p.setFont(style.font(8))
    fm = QFontMetricsF(p.font())
    height = fm.height()
    left, right = lay.plot.left(), lay.plot.right()
    stations = data.axis.stations
    # names: the termini always, the others where they do not overlap a name written
    written: list[float] = []
    order = list(stations[:1]) + list(stations[-1:]) + list(stations[1:-1])
    for station in order:
        y = m.y(station.km)
        p.fillRect(QRectF(left, round(y), right - left, lay.scale), style.ROW_RULE)
        if any(abs(y - w) < height for w in written):
            continue
        written.append(y)
        p.setPen(style.TEXT_PRIMARY)
        box = QRectF(
            lay.names.left() + 4 * lay.scale,
            y - height / 2,
            lay.names.width() - 10 * lay.scale,
            height,
        )
        text = fm.elidedText(station_name(station.id), Qt.TextElideMode.ElideRight, box.width())
        p.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)


def _planned(p: QPainter, frame: Frame, trips: list[TripLines], drawn: list[Drawn]) -> None:
    p.save()
    p.setTransform(frame.m.transform(), True)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    s = frame.scale
    pens = {
        (True, False): pen(style.GRAPH_PLANNED_DOWN, s),
        (False, False): pen(style.GRAPH_PLANNED_UP, s),
        (True, True): pen(style.GRAPH_PLANNED_DOWN, s, Qt.PenStyle.DotLine),
        (False, True): pen(style.GRAPH_PLANNED_UP, s, Qt.PenStyle.DotLine),
    }
    current = None
    for t, (planned, _) in zip(trips, drawn, strict=True):
        key = (t.down, t.empty)
        if key != current:
            p.setPen(pens[key])
            current = key
        p.drawPolyline(planned)
    p.restore()


def _actual(p: QPainter, frame: Frame, drawn: list[Drawn]) -> None:
    """Actual lines, thick, one pen per lateness class."""
    runs: dict[Lateness, list[QPolygonF]] = {cls: [] for cls in LATENESS_COLOUR}
    for _, actual in drawn:
        for cls, poly in actual:
            runs[cls].append(poly)
    p.save()
    world = frame.m.transform() * p.transform()
    s = frame.scale
    if frame.fast:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for dx, dy in frame.passes:
            p.setTransform(world * QTransform.fromTranslate(dx * s, dy * s))
            for cls, polys in runs.items():
                p.setPen(pen(LATENESS_COLOUR[cls], s))
                for poly in polys:
                    p.drawPolyline(poly)
    else:
        p.setTransform(world)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for cls, polys in runs.items():
            p.setPen(pen(LATENESS_COLOUR[cls], 2.6 * s))
            for poly in polys:
                p.drawPolyline(poly)
    p.restore()


def _highlight(p: QPainter, frame: Frame, t: TripLines) -> None:
    """A soft halo along the trip, then its lines again, stronger."""
    p.save()
    p.setTransform(frame.m.transform(), True)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    s = frame.scale
    p.setPen(pen(halo_colour(), 9 * s))
    p.drawPolyline(t.planned)
    for _, poly in t.actual:
        p.drawPolyline(poly)
    p.setPen(pen(style.TARGET, 2 * s))
    p.drawPolyline(t.planned)
    for cls, poly in t.actual:
        p.setPen(pen(LATENESS_COLOUR[cls], 4 * s))
        p.drawPolyline(poly)
    p.restore()
