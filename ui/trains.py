"""A train on the schematic: its number in a box beside the track, its direction, its badge."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.model.commands import train_device
from app.model.state import TrainState
from app.model.topology import Direction
from app.timetable.delays import Punctuality
from ui import style
from ui.items import Z
from ui.marks import draw_held_badge


def direction_text(direction: Direction) -> str:
    if direction is Direction.DOWN:
        return QCoreApplication.translate("Schematic", "down")
    return QCoreApplication.translate("Schematic", "up")


TRAIN_W = 32.0
TRAIN_H = 13.0
TRAIN_LIFT = 11.5  # from the track to the near edge of the box
TRAIN_TIER_GAP = 2.0  # between stacked boxes of trains close together


HELD_BADGE = 9.0  # the held badge's side, at the box's tail end
TAG_H = 10.0  # the describer's tag, on the far side of the box from the track


class Describer(NamedTuple):
    """What the train describer adds to a train running to the timetable: where it is
    bound (a station id), its deviation as text ("" when on time), how it stands
    against the plan, and whether it is stopped away from a platform."""

    destination: str
    deviation: str
    punctuality: Punctuality
    stopped: bool


def deviation_colour(p: Punctuality) -> QColor:
    """Early and late in two distinct colours (the train graph's own)."""
    if p is Punctuality.LATE:
        return style.GRAPH_LATE
    if p is Punctuality.EARLY:
        return style.GRAPH_EARLY
    return style.TEXT_SECONDARY


class TrainItem(QGraphicsItem):
    """A train: its number in a box beside the track, an arrow for its direction.

    The item's position is the train's head on the track; the box trails behind it.
    A train a dispatcher holds (扣车) has a 扣 badge at the box's tail.
    ``device_id`` is the train's command device id (``train:<id>``).
    """

    def __init__(self, train: TrainState) -> None:
        super().__init__()
        self.device_id = train_device(train.id)
        self.train = train
        self.side = -1.0
        self.tier = 0
        self.stale = False
        self.describer: Describer | None = None
        self.setZValue(Z.TRAIN)
        self._font = style.font(8.2, bold=True, mono=True)
        self._tag_font = style.font(7.0, bold=True, mono=True)
        self._tag_metrics = QFontMetricsF(self._tag_font)
        self._tag_w = 0.0
        self._refresh_tooltip()

    @property
    def travel(self) -> float:
        return 1.0 if self.train.direction is Direction.DOWN else -1.0

    def set_tier(self, tier: int) -> None:
        """How many boxes out from the track: trains close together are stacked, not overlaid."""
        if tier != self.tier:
            self.prepareGeometryChange()
            self.tier = tier
            self.update()

    @property
    def tag_h(self) -> float:
        return TAG_H if self.describer is not None else 0.0

    def set_describer(self, describer: Describer | None) -> None:
        """The describer's tag (None: the train runs to no timetable)."""
        if describer == self.describer:
            return
        self.prepareGeometryChange()
        self.describer = describer
        # measured once here: the scene asks for the bounding rect at every move
        self._tag_w = (
            self._tag_metrics.horizontalAdvance(_tag_text(describer)) + 4
            if describer is not None
            else 0.0
        )
        self._refresh_tooltip()
        self.update()

    def tag(self) -> QRectF:
        """The describer's tag: on the box's far side from the track, as wide as its text."""
        box = self.box()
        d = self.describer
        if d is None:
            return QRectF(box.topLeft(), box.topLeft())
        width = max(box.width(), self._tag_w)
        y = box.bottom() if self.side > 0 else box.top() - TAG_H
        x = box.left() if self.travel > 0 else box.right() - width
        return QRectF(x, y, width, TAG_H)

    def box(self) -> QRectF:
        lift = TRAIN_LIFT + self.tier * (TRAIN_H + self.tag_h + TRAIN_TIER_GAP)
        near = self.side * lift
        far = self.side * (lift + TRAIN_H)
        x0 = -self.travel * TRAIN_W
        return QRectF(QPointF(min(x0, 0.0), min(near, far)), QPointF(max(x0, 0.0), max(near, far)))

    def held_badge(self) -> QRectF:
        """Where the held badge goes: a square just beyond the box's tail end."""
        box = self.box()
        tail = box.left() if self.travel > 0 else box.right()
        x = tail - self.travel * (HELD_BADGE + 0.8)
        rect = QRectF(0, 0, HELD_BADGE, HELD_BADGE)
        rect.moveCenter(QPointF(x + self.travel * HELD_BADGE / 2, box.center().y()))
        return rect

    def boundingRect(self) -> QRectF:
        return (
            self.box()
            .united(QRectF(-1, -1, 2, 2))
            .united(self.held_badge())
            .united(self.tag())
            .adjusted(-7, -2, 7, 2)
        )

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.box().adjusted(-1, -1, 1, 1))
        if self.train.held:
            path.addRect(self.held_badge())
        return path

    def update_state(self, train: TrainState, pos: QPointF, side: float, stale: bool) -> None:
        if side != self.side or train.direction != self.train.direction:
            self.prepareGeometryChange()
        self.side = side
        changed = train != self.train or stale != self.stale
        self.train, self.stale = train, stale
        if self.pos() != pos:
            self.setPos(pos)
        if changed:
            self._refresh_tooltip()
            self.update()

    def _refresh_tooltip(self) -> None:
        t = self.train
        # named by its number: the unit id (train:<id>) is the commands' own
        text = QCoreApplication.translate(
            "Schematic", "Train {0}, {1}, {2:.0f} km/h\n{3} +{4:.0f} m"
        ).format(t.number, direction_text(t.direction), t.speed_kmh, t.section, t.offset_m)
        if t.held:
            text += "\n" + QCoreApplication.translate("Schematic", "HELD (扣车)")
        d = self.describer
        if d is not None:
            text += "\n" + QCoreApplication.translate("Schematic", "to {0}, {1}").format(
                d.destination, punctuality_text(d.punctuality, d.deviation)
            )
            if d.stopped:
                text += "\n" + QCoreApplication.translate("Schematic", "STOPPED between stations")
        self.setToolTip(text)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        box = self.box()
        edge = style.TRAIN_EDGE if not self.stale else style.TRACK_STALE
        fill = style.TRAIN_FILL if not self.stale else style.BACKGROUND
        text = style.TRAIN_TEXT if not self.stale else style.TEXT_MUTED
        # the tick from the head on the track to the box
        painter.setPen(QPen(edge, 0.9))
        painter.drawLine(QPointF(0, self.side * 1.5), QPointF(0, self.side * TRAIN_LIFT))
        painter.setPen(QPen(edge, 0.6))
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 1.2, 1.2)
        # the arrow ahead of the box, pointing the way the train runs
        cy = box.center().y()
        tip = self.travel * 5.5
        arrow = QPolygonF(
            [
                QPointF(self.travel * 0.8, cy - 3.6),
                QPointF(tip, cy),
                QPointF(self.travel * 0.8, cy + 3.6),
            ]
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(edge)
        painter.drawPolygon(arrow)
        painter.setPen(text)
        painter.setFont(self._font)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), self.train.number)
        if self.train.held and not self.stale:
            draw_held_badge(painter, self.held_badge())
        if self.describer is not None and not self.stale:
            self._paint_tag(painter, self.describer)

    def _paint_tag(self, painter: QPainter, d: Describer) -> None:
        rect = self.tag()
        painter.setPen(QPen(style.ASPECT_STOP, 1.0) if d.stopped else Qt.PenStyle.NoPen)
        painter.setBrush(style.BACKGROUND)
        painter.drawRect(rect)
        painter.setFont(self._tag_font)
        metrics = self._tag_metrics
        x = rect.left() + 2
        baseline = rect.top() + (rect.height() + metrics.capHeight()) / 2
        painter.setPen(style.TEXT_PRIMARY)
        painter.drawText(QPointF(x, baseline), d.destination)
        if d.deviation:
            x += metrics.horizontalAdvance(d.destination + " ")
            painter.setPen(deviation_colour(d.punctuality))
            painter.drawText(QPointF(x, baseline), d.deviation)


def _tag_text(d: Describer) -> str:
    return f"{d.destination} {d.deviation}" if d.deviation else d.destination


def punctuality_text(p: Punctuality, deviation: str) -> str:
    translate = QCoreApplication.translate
    if p is Punctuality.LATE:
        return translate("Schematic", "{0} min late").format(deviation.lstrip("+"))
    if p is Punctuality.EARLY:
        return translate("Schematic", "{0} min early").format(deviation.lstrip("-"))
    if p is Punctuality.ON_TIME:
        return translate("Schematic", "on time")
    return translate("Schematic", "no actual yet")
