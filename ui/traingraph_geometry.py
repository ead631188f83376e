"""The train graph's geometry: where each part of the area goes (``Layout``), world
(service-day seconds, km) to pixels (``Mapping``), what a frame shows (``Scene``),
the pens and the lateness colours."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen, QTransform

from ui import style
from ui.traingraph_data import Lateness

LATENESS_COLOUR: dict[Lateness, QColor] = {
    Lateness.ON_TIME: style.GRAPH_ON_TIME,
    Lateness.EARLY: style.GRAPH_EARLY,
    Lateness.LATE: style.GRAPH_LATE,
    Lateness.SEVERE: style.GRAPH_SEVERE,
}


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
