"""The alarm tag's drawing, one function for the schematic (:mod:`ui.alarmmarks`) and
the legend (:mod:`ui.legend`): a square in the priority's colour (the alarm list's,
:data:`ui.alarmtable.PRIORITY_LOOK`) with the priority's number, framed in white."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from app.alarms.records import Priority
from ui import style
from ui.alarmtable import PRIORITY_LOOK

TAG_TEXT = QColor("#111418")
TAG_FRAME = QColor("#ffffff")


def draw_tag(painter: QPainter, rect: QRectF, priority: Priority, bright: bool = True) -> None:
    """The alarm tag in ``rect``; ``bright`` False: the dim phase of its blinking."""
    colour = PRIORITY_LOOK[priority][1]
    painter.setPen(QPen(TAG_FRAME, rect.width() * 0.12))
    painter.setBrush(QBrush(colour if bright else colour.darker(220)))
    painter.drawRect(rect)
    painter.setPen(TAG_TEXT if bright else colour)
    painter.setFont(style.font(rect.height() * 0.72, bold=True))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(int(priority)))
