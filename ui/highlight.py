"""Marks laid over the schematic for a moment: the device a confirmation dialog asks
about, what Find found, the device the dispatcher selected.

A :class:`TargetMarker` frames a scene rectangle with a bold dashed outline and
corner ticks, drawn in :data:`ui.style.TARGET` (a colour no device state uses) so
that it reads as "this one" and never as a state. It has no hit area: clicks go
through it to the device below.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from ui import style

#: stacking: above the devices and trains, below the "no live data" banner
Z_MARKER = 15.0
#: how far the frame stands off the device it marks (scene units)
MARGIN = 5.0


class TargetMarker(QGraphicsItem):
    """A frame around ``rect`` (scene coordinates); ``kind``: "target", "found" or
    "selected" (the objectName of the marker, and its look)."""

    def __init__(self, rect: QRectF, kind: str = "target") -> None:
        super().__init__()
        self.kind = kind
        self.rect = rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        self.colour = QColor(style.SELECTED if kind == "selected" else style.TARGET)
        self.setZValue(Z_MARKER)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-4, -4, 4, 4)

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        r = self.rect
        if self.kind == "selected":
            pen = QPen(self.colour, 0.9, Qt.PenStyle.DashLine)
            pen.setDashPattern([3.0, 2.0])
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r, 2.0, 2.0)
            return
        # a dark halo first, so the frame stands out on any track colour
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(style.BACKGROUND, 3.6))
        painter.drawRoundedRect(r, 2.5, 2.5)
        pen = QPen(self.colour, 1.8, Qt.PenStyle.DashLine)
        pen.setDashPattern([2.5, 1.5])
        painter.setPen(pen)
        painter.drawRoundedRect(r, 2.5, 2.5)
        # corner ticks pointing in: seen even when the frame is small on screen
        tick = min(6.0, r.width() / 3, r.height() / 3) + 3.0
        painter.setPen(QPen(self.colour, 2.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
        for corner, dx, dy in (
            (r.topLeft(), -1, -1),
            (r.topRight(), 1, -1),
            (r.bottomLeft(), -1, 1),
            (r.bottomRight(), 1, 1),
        ):
            out = corner + QPointF(dx * 3.0, dy * 3.0)
            painter.drawLine(out, out + QPointF(-dx * tick, 0))
            painter.drawLine(out, out + QPointF(0, -dy * tick))


class MarkerSlot:
    """At most one marker of a kind on a scene: :meth:`show` replaces the previous one,
    :meth:`clear` takes it away; with ``fade_ms`` it goes by itself after that long."""

    def __init__(self, scene: QGraphicsScene, kind: str, fade_ms: int = 0) -> None:
        self.scene = scene
        self.kind = kind
        self.marker: TargetMarker | None = None
        self._timer = QTimer(scene)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)
        self.fade_ms = fade_ms

    def show(self, rect: QRectF, carrier: QGraphicsItem | None = None) -> TargetMarker:
        """Mark ``rect`` (scene coordinates); with ``carrier`` (a train) the marker is
        its child and moves with it."""
        self.clear()
        if carrier is not None:
            self.marker = TargetMarker(carrier.mapRectFromScene(rect), self.kind)
            self.marker.setParentItem(carrier)
        else:
            self.marker = TargetMarker(rect, self.kind)
            self.scene.addItem(self.marker)
        if self.fade_ms > 0:
            self._timer.start(self.fade_ms)
        return self.marker

    def clear(self) -> None:
        self._timer.stop()
        marker, self.marker = self.marker, None
        # a train's marker goes with the train when it leaves the line
        if marker is not None and shiboken6.isValid(marker) and marker.scene() is self.scene:
            self.scene.removeItem(marker)
