"""The marks a dispatcher's own locks leave on the schematic, drawn light on dark so they
are seen on any track colour: the padlock of a single-locked switch (单锁), the cross
over a closed signal's lamp (封闭), the badge of a held train (扣车). The legend draws
them too.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen

from ui import style


def _padlock_parts(centre: QPointF, size: float) -> tuple[QRectF, QPainterPath]:
    """A padlock's body and shackle, about ``6 × 7`` scene units times ``size``."""
    x, y = centre.x(), centre.y()
    w, h = 5.6 * size, 3.8 * size
    body_top = y - h / 2 + 1.2 * size
    r = 1.7 * size
    shackle = QPainterPath()
    shackle.moveTo(x - r, body_top)
    shackle.lineTo(x - r, body_top - 1.0 * size)
    shackle.arcTo(QRectF(x - r, body_top - 1.0 * size - r, 2 * r, 2 * r), 180, -180)
    shackle.lineTo(x + r, body_top)
    return QRectF(x - w / 2, body_top, w, h), shackle


def padlock_path(centre: QPointF, size: float = 1.0) -> QPainterPath:
    """A padlock outline (the legend's)."""
    body, shackle = _padlock_parts(centre, size)
    path = QPainterPath(shackle)
    path.addRoundedRect(body, 0.6 * size, 0.6 * size)
    return path


def draw_padlock(painter: QPainter, centre: QPointF, size: float = 1.0) -> None:
    """The locked-switch mark: a light padlock outlined in dark, legible on the track."""
    body, shackle = _padlock_parts(centre, size)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(style.DISPATCHER_MARK_EDGE, 2.4 * size))
    painter.drawPath(shackle)
    painter.drawRoundedRect(body, 0.6 * size, 0.6 * size)
    painter.setPen(QPen(style.DISPATCHER_MARK, 1.0 * size))
    painter.drawPath(shackle)
    painter.setBrush(style.DISPATCHER_MARK)
    painter.drawRoundedRect(body, 0.6 * size, 0.6 * size)


def draw_cross(painter: QPainter, centre: QPointF, half: float) -> None:
    """The closed-signal mark: a light X over the lamp, outlined in dark."""
    a = QLineF(centre + QPointF(-half, -half), centre + QPointF(half, half))
    b = QLineF(centre + QPointF(-half, half), centre + QPointF(half, -half))
    for colour, width in ((style.DISPATCHER_MARK_EDGE, 2.4), (style.DISPATCHER_MARK, 1.2)):
        painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(a)
        painter.drawLine(b)


def held_badge_text() -> str:
    return QCoreApplication.translate("Schematic", "扣")


def draw_held_badge(painter: QPainter, rect: QRectF) -> None:
    """The held-train mark: an amber tag with 扣 (hold) on it."""
    painter.setPen(QPen(style.TRAIN_HELD_TEXT, 0.6))
    painter.setBrush(style.TRAIN_HELD)
    painter.drawRoundedRect(rect, 1.0, 1.0)
    painter.setPen(style.TRAIN_HELD_TEXT)
    painter.setFont(style.font(rect.height() * 0.62, bold=True))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), held_badge_text())
