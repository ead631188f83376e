"""What the train graph writes over its lines: trip numbers (with the delay when a
trip runs early or late), the now line and its time, the legend, the title.

The geometry (``Layout``, ``Mapping``) and the pens are ``traingraph_geometry.py``'s.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen

from app.timetable.times import delay_text
from ui import style
from ui.traingraph_data import Lateness, TripLines
from ui.traingraph_geometry import LATENESS_COLOUR, Layout, Mapping, pen
from ui.traingraph_window import clock_text

Translate = Callable[[str], str]
#: label cells taken (a coarse grid: a label is not written over another)
Taken = set[tuple[int, int]]
#: the most trip numbers written in one frame (the rest would not be read anyway)
MAX_LABELS = 600


def labels(
    p: QPainter,
    m: Mapping,
    trips: list[TripLines],
    taken: Taken,
    highlight: str | None,
    scale: float,
    *,
    at_head: bool = False,
) -> None:
    """Each trip's number where its line enters the window (``at_head``: where its
    actual line ends, the train now, when that is in view), unless it would cover
    another's."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setFont(style.font(7.5, mono=True))
    fm = QFontMetricsF(p.font())
    h = fm.height()
    cell_w, cell_h = 20 * scale, h
    t0, t1 = m.t0, m.t1
    written = 0
    shade = QColor(style.BACKGROUND)
    shade.setAlpha(190)
    for t in sorted(trips, key=lambda t: t.number != highlight):  # the highlighted first
        if written >= MAX_LABELS:
            break
        where = None
        head = t.actual_points
        if at_head and head and t0 <= head.t[-1] <= t1:
            where = head.at(len(head) - 1)
        else:
            times = t.planned_points.t
            i = 0 if not times or times[0] >= t0 else bisect.bisect_left(times, t0)
            if i < len(times) and times[i] <= t1:
                where = t.planned_points.at(i)
        if where is None:
            continue
        x, y = m.x(where[0]) + 2 * scale, m.y(where[1])
        text = t.number
        colour = style.GRAPH_PLANNED_DOWN if t.down else style.GRAPH_PLANNED_UP
        if t.last is not None:
            colour = LATENESS_COLOUR[t.last]
            if t.last is not Lateness.ON_TIME:
                text = f"{t.number} {delay_text(t.last_delay_s)}"
        w = fm.horizontalAdvance(text)
        top = y - h - 2 * scale if t.down else y + 2 * scale
        cells = {
            (cx, cy)
            for cx in range(int(x // cell_w), int((x + w) // cell_w) + 1)
            for cy in range(int(top // cell_h), int((top + h) // cell_h) + 1)
        }
        if t.number != highlight and cells & taken:
            continue
        taken |= cells
        written += 1
        p.fillRect(QRectF(x - scale, top, w + 2 * scale, h), shade)  # read over the lines
        p.setPen(style.TARGET if t.number == highlight else colour)
        if text == t.number:
            p.drawStaticText(QPointF(x, top), t.label_text())
        else:
            p.drawText(QPointF(x, top + fm.ascent()), text)


def now_line(p: QPainter, m: Mapping, lay: Layout, now_s: float) -> None:
    """The now line down the plot (clipped by the caller) and its time above it."""
    x = m.x(now_s)
    p.save()
    p.setClipRect(lay.plot)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    p.setPen(pen(style.GRAPH_NOW, 1.5 * lay.scale, Qt.PenStyle.DashLine))
    p.drawLine(QLineF(x, lay.plot.top(), x, lay.plot.bottom()))
    p.restore()
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


def legend(p: QPainter, lay: Layout, tr: Translate) -> None:
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


def title(p: QPainter, lay: Layout, text: str) -> None:
    if lay.title is None:
        return
    p.setPen(style.TEXT_PRIMARY)
    p.setFont(style.font(12, bold=True))
    p.drawText(
        lay.title.adjusted(8 * lay.scale, 0, -8 * lay.scale, 0),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        text,
    )


def halo_colour() -> QColor:
    c = QColor(style.TARGET)
    c.setAlpha(90)
    return c
