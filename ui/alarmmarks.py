"""Unacknowledged alarms on the schematic: a tag by each device (issue 18).

The old mark, a dashed amber ring around the device, looked like the legend's
"switch moving" ring. ISA-101 practice is an alarm indicator of its own: here a
square in the priority's colour (the alarm list's, :data:`ui.alarmtable.
PRIORITY_LOOK`) with the priority's number in it, framed in white (no state
symbol of the schematic has a white frame; the held train's badge is amber and
says 扣), at the device's upper right with a short leader to it, so it covers
nothing of the device's own state. It blinks between bright and dim (never gone)
while the device has an unacknowledged alarm, and goes when the last is
acknowledged. A device with several shows the most urgent.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.alarms.model import AlarmList
from app.alarms.records import Priority
from ui.alarmtag import TAG_FRAME, draw_tag
from ui.items import Z
from ui.schematic import SchematicScene

BLINK_MS = 500
#: The tag's side (scene units) and how far from the device's corner it sits.
TAG = 8.0
TAG_OFFSET = QPointF(2.5, -2.5)


class AlarmTag(QGraphicsItem):
    """One device's tag, at the device's corner with a leader to it; :attr:`bright` blinks."""

    def __init__(self, priority: Priority) -> None:
        super().__init__()
        self.priority = priority
        self.bright = True
        self.setZValue(Z.BANNER)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def boundingRect(self) -> QRectF:
        return QRectF(-TAG_OFFSET.x() - 1, -TAG - 1, TAG + TAG_OFFSET.x() + 2, TAG + 2)

    def set_priority(self, priority: Priority) -> None:
        if priority != self.priority:
            self.priority = priority
            self.update()

    def blink(self) -> None:
        self.bright = not self.bright
        self.update()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        painter.setPen(QPen(TAG_FRAME, 0.6))
        painter.drawLine(QPointF(-TAG_OFFSET.x(), -TAG_OFFSET.y()), QPointF(0, 0))
        draw_tag(painter, QRectF(0, -TAG, TAG, TAG), self.priority, self.bright)


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
