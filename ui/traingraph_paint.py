"""Painting the train graph (运行图) with one QPainter: the widget and the exports share it.

Layout of the area: a time band on top (clock labels), the station names on the
left, the legend along the bottom, an optional title band above all (exports), the
plot in the rest. In the plot, in this order: the time grid (hours strong, finer
steps as the zoom allows), a rule per station, the planned lines (thin: down and up
in two muted hues, empty runs dotted), the actual lines (thick, each run in its
lateness colour), the highlighted trip (a halo under its lines), the trip numbers
(with the delay in minutes when the trip runs early or late), the now line.

The lines are drawn straight from the cached polygons (``traingraph_data.py``) in
world units through the painter's transform with cosmetic pens: nothing is made per
frame but the labels' positions. Only the trips that cross the window are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen, QPolygonF, QTransform

from app.timetable.times import delay_text
from ui import style
from ui.traingraph_data import GraphData, Lateness, TripLines
from ui.traingraph_window import clock_text, ticks_for

Translate = Callable[[str], str]

LATENESS_COLOUR: dict[Lateness, QColor] = {
    Lateness.ON_TIME: style.GRAPH_ON_TIME,
    Lateness.EARLY: style.GRAPH_EARLY,
    Lateness.LATE: style.GRAPH_LATE,
    Lateness.SEVERE: style.GRAPH_SEVERE,
}
#: the most trip numbers written in one frame (the rest would not be read anyway)
MAX_LABELS = 600


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each part goes, in device pixels."""

    plot: QRectF
    time_band: QRectF
    names: QRectF
    legend: QRectF
    title: QRectF | None
    scale: float

    @staticmethod
    def of(rect: QRectF, scale: float = 1.0, *, title: bool = False) -> Layout:
        title_h = 30 * scale if title else 0.0
        time_h, legend_h, names_w = 22 * scale, 22 * scale, 112 * scale
        top = rect.top() + title_h
        plot = QRectF(
            rect.left() + names_w,
            top + time_h,
            max(1.0, rect.width() - names_w - 8 * scale),
            max(1.0, rect.height() - title_h - time_h - legend_h),
        )
        return Layout(
            plot,
            QRectF(plot.left(), top, plot.width(), time_h),
            QRectF(rect.left(), plot.top(), names_w, plot.height()),
            QRectF(rect.left(), plot.bottom(), rect.width(), legend_h),
            QRectF(rect.left(), rect.top(), rect.width(), title_h) if title else None,
            scale,
        )

    @property
    def pad(self) -> float:
        """Room above the first station and below the last."""
        return 16 * self.scale


@dataclass(frozen=True, slots=True)
class Mapping:
    """World (service-day seconds, km) to device pixels for one frame."""

    t0: float
    t1: float
    km0: float
    km1: float
    plot: QRectF
    pad: float

    @property
    def sx(self) -> float:
        return self.plot.width() / max(1e-9, self.t1 - self.t0)

    @property
    def sy(self) -> float:
        return max(1.0, self.plot.height() - 2 * self.pad) / max(1e-9, self.km1 - self.km0)

    def x(self, t: float) -> float:
        return self.plot.left() + (t - self.t0) * self.sx

    def y(self, km: float) -> float:
        return self.plot.top() + self.pad + (km - self.km0) * self.sy

    def t_at(self, x: float) -> float:
        return self.t0 + (x - self.plot.left()) / self.sx

    def km_at(self, y: float) -> float:
        return self.km0 + (y - self.plot.top() - self.pad) / self.sy

    def transform(self) -> QTransform:
        sx, sy = self.sx, self.sy
        return QTransform(
            sx,
            0,
            0,
            sy,
            self.plot.left() - self.t0 * sx,
            self.plot.top() + self.pad - self.km0 * sy,
        )


@dataclass(frozen=True, slots=True)
class Scene:
    """What one frame shows."""

    t0: float
    t1: float
    now_s: float | None = None
    highlight: str | None = None
    title: str | None = None
    labels: bool = True


def pen(colour: QColor, width: float, style_: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    p = QPen(colour, width, style_, Qt.PenCapStyle.FlatCap, Qt.PenJoinStyle.RoundJoin)
    p.setCosmetic(True)
    return p


def paint_graph(
    p: QPainter,
    rect: QRectF,
    data: GraphData,
    scene: Scene,
    tr: Translate,
    station_name: Callable[[str], str],
    scale: float = 1.0,
) -> int:
    """Paint the graph of ``data`` for ``scene`` into ``rect``; the trips drawn."""
    lay = Layout.of(rect, scale, title=scene.title is not None)
    axis = data.axis
    m = Mapping(scene.t0, scene.t1, axis.km0, axis.km1, lay.plot, lay.pad)
    p.fillRect(rect, style.BACKGROUND)
    p.fillRect(lay.plot, style.STATION_BAND)
    _grid(p, m, lay)
    _stations(p, m, lay, data, station_name)
    trips = list(data.visible(scene.t0, scene.t1))
    p.save()
    p.setClipRect(lay.plot)
    p.setTransform(m.transform(), True)
    _lines(p, trips, scene.highlight, scale)
    p.restore()
    p.save()
    p.setClipRect(lay.plot)
    if scene.labels:
        _labels(p, m, trips, scene.highlight, scale)
    if scene.now_s is not None and scene.t0 <= scene.now_s <= scene.t1:
        _now(p, m, lay, scene.now_s)
    p.restore()
    if scene.now_s is not None and scene.t0 <= scene.now_s <= scene.t1:
        _now_label(p, m, lay, scene.now_s)
    _legend(p, lay, tr)
    if lay.title is not None and scene.title is not None:
        p.setPen(style.TEXT_PRIMARY)
        p.setFont(style.font(12, bold=True))
        p.drawText(
            lay.title.adjusted(8 * scale, 0, -8 * scale, 0),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            scene.title,
        )
    return len(trips)


def _grid(p: QPainter, m: Mapping, lay: Layout) -> None:
    ticks = ticks_for(m.sx)
    minor = pen(style.GRAPH_GRID_MINOR, 1)
    major = pen(style.GRAPH_GRID_MAJOR, 1)
    top, bottom = lay.plot.top(), lay.plot.bottom()
    t = math.ceil(m.t0 / ticks.minor_s) * ticks.minor_s
    p.setFont(style.font(8))
    fm = QFontMetricsF(p.font())
    while t <= m.t1:
        x = m.x(t)
        p.setPen(major if t % ticks.major_s == 0 else minor)
        p.drawLine(QLineF(x, top, x, bottom))
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
    rule = pen(style.ROW_RULE, 1)
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
        p.setPen(rule)
        p.drawLine(QLineF(left, y, right, y))
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


def _lines(p: QPainter, trips: list[TripLines], highlight: str | None, scale: float) -> None:
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    down = pen(style.GRAPH_PLANNED_DOWN, 1 * scale)
    up = pen(style.GRAPH_PLANNED_UP, 1 * scale)
    empty = (
        pen(style.GRAPH_PLANNED_DOWN, 1 * scale, Qt.PenStyle.DotLine),
        pen(style.GRAPH_PLANNED_UP, 1 * scale, Qt.PenStyle.DotLine),
    )
    hi = next((t for t in trips if t.number == highlight), None)
    if hi is not None:  # the halo under everything of that trip
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        halo = QColor(style.TARGET)
        halo.setAlpha(90)
        p.setPen(pen(halo, 9 * scale))
        p.drawPolyline(hi.planned)
        for _, poly in hi.actual:
            p.drawPolyline(poly)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    current: QPen | None = None
    for t in trips:
        want = (empty[0] if t.down else empty[1]) if t.empty else (down if t.down else up)
        if want is not current:
            p.setPen(want)
            current = want
        p.drawPolyline(t.planned)
    # actual lines: thick, one pen per lateness class
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    runs: dict[Lateness, list[QPolygonF]] = {cls: [] for cls in LATENESS_COLOUR}
    for t in trips:
        for cls, poly in t.actual:
            runs[cls].append(poly)
    for cls, polys in runs.items():
        if polys:
            p.setPen(pen(LATENESS_COLOUR[cls], 2.6 * scale))
            for poly in polys:
                p.drawPolyline(poly)
    if hi is not None:
        p.setPen(pen(style.TARGET, 2 * scale))
        p.drawPolyline(hi.planned)
        for cls, poly in hi.actual:
            p.setPen(pen(LATENESS_COLOUR[cls], 4 * scale))
            p.drawPolyline(poly)


def _labels(
    p: QPainter, m: Mapping, trips: list[TripLines], highlight: str | None, scale: float
) -> None:
    """Each trip's number where its line enters the window, unless it would cover
    another's: a coarse grid of taken cells keeps the check cheap."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setFont(style.font(7.5, mono=True))
    fm = QFontMetricsF(p.font())
    h = fm.height()
    cell_w, cell_h = 20 * scale, h
    taken: set[tuple[int, int]] = set()
    t0, t1 = m.t0, m.t1
    written = 0
    ordered = sorted(trips, key=lambda t: t.number != highlight)  # the highlighted first
    for t in ordered:
        if written >= MAX_LABELS:
            break
        points = t.planned_points
        first = next((pt for pt in points if t0 <= pt[0] <= t1), None)
        running = 0 < len(t.actual_points) < len(points)
        if running and t0 <= t.actual_points[-1][0] <= t1:
            first = t.actual_points[-1]  # the train's head: where it is now
        if first is None:
            continue
        x, y = m.x(first[0]), m.y(first[1])
        text = t.number
        colour = style.GRAPH_PLANNED_DOWN if t.down else style.GRAPH_PLANNED_UP
        if t.last is not None:
            colour = LATENESS_COLOUR[t.last]
            if t.last is not Lateness.ON_TIME:
                text = f"{t.number} {delay_text(t.last_delay_s)}"
        w = fm.horizontalAdvance(text)
        top = y - h - 2 * scale if t.down else y + 2 * scale
        x += 2 * scale
        cells = {
            (cx, cy)
            for cx in range(int(x // cell_w), int((x + w) // cell_w) + 1)
            for cy in range(int(top // cell_h), int((top + h) // cell_h) + 1)
        }
        if t.number != highlight and cells & taken:
            continue
        taken |= cells
        written += 1
        p.setPen(style.TARGET if t.number == highlight else colour)
        if text == t.number:
            p.drawStaticText(QPointF(x, top), t.label_text())
        else:
            p.drawText(QPointF(x, top + fm.ascent()), text)


def _now(p: QPainter, m: Mapping, lay: Layout, now_s: float) -> None:
    x = m.x(now_s)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    p.setPen(pen(style.GRAPH_NOW, 1.5 * lay.scale, Qt.PenStyle.DashLine))
    p.drawLine(QLineF(x, lay.plot.top(), x, lay.plot.bottom()))


def _now_label(p: QPainter, m: Mapping, lay: Layout, now_s: float) -> None:
    """The now time in the time band above its line."""
    x = m.x(now_s)
    p.setFont(style.font(8, bold=True))
    fm = QFontMetricsF(p.font())
    text = clock_text(now_s)
    w = fm.horizontalAdvance(text) + 8 * lay.scale
    band = lay.time_band
    left = min(max(x - w / 2, band.left()), band.right() - w)
    box = QRectF(left, band.top() + 2 * lay.scale, w, band.height() - 4 * lay.scale)
    p.fillRect(box, style.GRAPH_NOW)
    p.setPen(style.TRAIN_TEXT)
    p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def legend_items(tr: Translate) -> list[tuple[str, QPen]]:
    return [
        (tr("Planned, down"), pen(style.GRAPH_PLANNED_DOWN, 1)),
        (tr("Planned, up"), pen(style.GRAPH_PLANNED_UP, 1)),
        (tr("On time"), pen(style.GRAPH_ON_TIME, 3)),
        (tr("Early"), pen(style.GRAPH_EARLY, 3)),
        (tr("Late"), pen(style.GRAPH_LATE, 3)),
        (tr("Late over 5 min"), pen(style.GRAPH_SEVERE, 3)),
        (tr("Now"), pen(style.GRAPH_NOW, 1.5, Qt.PenStyle.DashLine)),
    ]


def _legend(p: QPainter, lay: Layout, tr: Translate) -> None:
    s = lay.scale
    p.setFont(style.font(8))
    fm = QFontMetricsF(p.font())
    x = lay.legend.left() + 12 * s
    y = lay.legend.center().y()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for text, item_pen in legend_items(tr):
        scaled = QPen(item_pen)
        scaled.setWidthF(item_pen.widthF() * s)
        p.setPen(scaled)
        p.drawLine(QLineF(x, y, x + 22 * s, y))
        x += 28 * s
        p.setPen(style.TEXT_SECONDARY)
        p.drawText(QPointF(x, y + fm.ascent() / 2 - 1), text)
        x += fm.horizontalAdvance(text) + 18 * s
