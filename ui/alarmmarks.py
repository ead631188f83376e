"""Unacknowledged alarms on the schematic: a tag by each device (issue 18).

The old mark, a dashed amber ring around the device, looked like the legend's
"switch moving" ring. ISA-101 practice is an alarm indicator of its own: here a
filled square in the priority's colour (the alarm list's, :data:`ui.alarmtable.
PRIORITY_LOOK`) with the priority's number in it, at the device's upper right so
it covers nothing of the device's own state. It blinks (filled, then only its
outline: never gone) while the device has an unacknowledged alarm, and goes when
the last is acknowledged. A device with several shows the most urgent.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.alarms.model import AlarmList
from app.alarms.records import Priority
from ui import style
from ui.alarmtable import PRIORITY_LOOK
from ui.items import Z
from ui.schematic import SchematicScene

BLINK_MS = 500
#: The tag's side (scene units) and how far from the device's corner it sits.
TAG = 8.0
TAG_OFFSET = QPointF(1.5, -1.5)
TAG_TEXT = QColor("#111418")


def draw_tag(painter: QPainter, rect: QRectF, priority: Priority, filled: bool) -> None:
    """The alarm tag: the priority's colour, its number; filled or only outlined."""
    colour = PRIORITY_LOOK[priority][1]
    painter.setPen(QPen(colour, 1.0))
    painter.setBrush(QBrush(colour) if filled else Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    painter.setPen(TAG_TEXT if filled else colour)
    painter.setFont(style.font(rect.height() * 0.72, bold=True))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(int(priority)))


class AlarmTag(QGraphicsItem):
    """One device's tag; :attr:`filled` blinks."""

    def __init__(self, priority: Priority) -> None:
        super().__init__()
        self.priority = priority
        self.filled = True
        self.setZValue(Z.BANNER)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def boundingRect(self) -> QRectF:
        return QRectF(-0.5, -TAG - 0.5, TAG + 1, TAG + 1)

    def set_priority(self, priority: Priority) -> None:
        if priority != self.priority:
            self.priority = priority
            self.update()

    def blink(self) -> None:
        self.filled = not self.filled
        self.update()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        draw_tag(painter, QRectF(0, -TAG, TAG, TAG), self.priority, self.filled)


class AlarmMarks(QObject):
    """The tags on ``scene`` for ``alarms``' unacknowledged devices; :meth:`refresh`
    after every change."""

    def __init__(self, scene: SchematicScene, alarms: AlarmList, parent: QObject) -> None:
        super().__init__(parent)
        self.scene = scene
        self.alarms = alarms
        self.marks: dict[str, AlarmTag] = {}
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._toggle)
        self._blink.start()

    def refresh(self) -> None:
        wanted = {
            d: p
            for d, p in self.alarms.unacked_device_priorities().items()
            if self.scene.device_item(d) is not None
        }
        for device in list(self.marks):
            if device not in wanted:
                self.scene.removeItem(self.marks.pop(device))
        for device, priority in wanted.items():
            item = self.scene.device_item(device)
            assert item is not None
            tag = self.marks.get(device)
            if tag is None:
                tag = AlarmTag(priority)
                self.scene.addItem(tag)
                self.marks[device] = tag
            tag.set_priority(priority)
            tag.setPos(item.sceneBoundingRect().topRight() + TAG_OFFSET)  # a train moves

    def _toggle(self) -> None:
        for tag in self.marks.values():
            tag.blink()

    def stop(self) -> None:
        self._blink.stop()
