"""Consists on the schematic (联挂): how a consist of two or more units is drawn.

A consist is drawn at its head unit: the units' boxes joined end to end with a
coupler, each with its number, the master cab marked with a filled "M" tab at
that unit's leading end. The other units' own markers are hidden while they ride
in the consist. The outline tells how far the reports stand behind it: solid when
confirmed, dashed amber with "?" while unconfirmed (units disagree, or a new state
not yet confirmed), red with 双主/无主 for a cab fault, dotted grey with "?" when
reports were lost.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.model.coupling import ConsistState, ConsistView, CouplingTracker
from app.model.state import CabRole
from ui import style
from ui.items import Z
from ui.marks import draw_held_badge
from ui.trains import TRAIN_W, TrainItem

UNIT_GAP = 3.0  # scene units between two unit boxes: the coupler

COUPLED_EDGE = QColor("#4cc3ff")
UNCONFIRMED = style.ATTENTION
FAULT = style.LINK_DOWN
UNKNOWN = style.TEXT_MUTED


class Look:
    """How a consist is drawn: confirmed, unconfirmed, fault or unknown."""

    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    FAULT = "fault"
    UNKNOWN = "unknown"


def look_of(view: ConsistView) -> str:
    if view.fault:
        return Look.FAULT
    if view.state is ConsistState.UNKNOWN:
        return Look.UNKNOWN
    return Look.CONFIRMED if view.confirmed else Look.UNCONFIRMED


def consist_name(view: ConsistView) -> str:
    return "+".join(u.number for u in view.ordered_units()) or str(view.id)


class ConsistMark(QGraphicsItem):
    """Drawn on the head unit's :class:`TrainItem` (a child: it moves with it)."""

    def __init__(self, head: TrainItem) -> None:
        super().__init__(head)
        self.head = head
        self.numbers: list[str] = []
        self.master: int | None = None  # index of the master unit, None: not exactly one
        self.masters: list[int] = []
        self.look = Look.CONFIRMED
        self.state = ConsistState.UNKNOWN
        self.setZValue(Z.TRAIN + 1)
        self._font = style.font(8.2, bold=True, mono=True)
        self._small = style.font(6.0, bold=True)

    def set_view(self, view: ConsistView) -> None:
        units = view.ordered_units()
        numbers = [u.number for u in units]
        masters = [i for i, u in enumerate(units) if u.cab is CabRole.MASTER]
        look = look_of(view)
        if (numbers, masters, look, view.state) != (
            self.numbers,
            self.masters,
            self.look,
            self.state,
        ):
            if len(numbers) != len(self.numbers):
                self.prepareGeometryChange()
            self.numbers, self.masters, self.look, self.state = numbers, masters, look, view.state
            self.update()

    def unit_box(self, index: int) -> QRectF:
        box = self.head.box()
        return box.translated(-self.head.travel * index * (TRAIN_W + UNIT_GAP), 0)

    def boundingRect(self) -> QRectF:
        rect = self.head.box()
        for i in range(1, max(1, len(self.numbers))):
            rect = rect.united(self.unit_box(i))
        shift = -self.head.travel * max(0, len(self.numbers) - 1) * (TRAIN_W + UNIT_GAP)
        rect = rect.united(self.head.held_badge().translated(shift, 0))
        return rect.adjusted(-4, -9, 4, 4)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        if not self.numbers:
            return
        stale = self.head.stale
        colour = {
            Look.CONFIRMED: COUPLED_EDGE,
            Look.UNCONFIRMED: UNCONFIRMED,
            Look.FAULT: FAULT,
            Look.UNKNOWN: UNKNOWN,
        }[self.look]
        if stale:
            colour = style.TRACK_STALE
        # the trailing units' boxes (the head unit's own box is the TrainItem's)
        for i in range(1, len(self.numbers)):
            box = self.unit_box(i)
            painter.setPen(QPen(style.TRAIN_EDGE if not stale else style.TRACK_STALE, 0.6))
            muted = stale or self.look == Look.UNKNOWN
            painter.setBrush(style.TRAIN_FILL if not muted else style.BACKGROUND)
            painter.drawRoundedRect(box, 1.2, 1.2)
            painter.setPen(style.TRAIN_TEXT if not muted else style.TEXT_MUTED)
            painter.setFont(self._font)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), self.numbers[i])
            # the coupler between this box and the one ahead of it
            ahead = self.unit_box(i - 1)
            x0 = ahead.left() if self.head.travel > 0 else ahead.right()
            x1 = box.right() if self.head.travel > 0 else box.left()
            cy = box.center().y()
            painter.setPen(QPen(colour, 1.2))
            painter.drawLine(QPointF(x0, cy - 1.5), QPointF(x1, cy - 1.5))
            painter.drawLine(QPointF(x0, cy + 1.5), QPointF(x1, cy + 1.5))
        # the outline around the whole consist, by how far the reports stand behind it
        whole = self.head.box()
        for i in range(1, len(self.numbers)):
            whole = whole.united(self.unit_box(i))
        pen = QPen(colour, 1.4 if self.look == Look.FAULT else 1.0)
        pen.setStyle(
            {
                Look.CONFIRMED: Qt.PenStyle.SolidLine,
                Look.UNCONFIRMED: Qt.PenStyle.DashLine,
                Look.FAULT: Qt.PenStyle.SolidLine,
                Look.UNKNOWN: Qt.PenStyle.DotLine,
            }[self.look]
        )
        if self.look == Look.CONFIRMED and self.state in (
            ConsistState.COUPLING,
            ConsistState.UNCOUPLING,
        ):
            pen.setStyle(Qt.PenStyle.DashDotLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(whole.adjusted(-1.6, -1.6, 1.6, 1.6), 2.0, 2.0)
        # the master cab: an "M" tab at the leading end of the master unit's box
        for index in self.masters:
            if index >= len(self.numbers):
                continue
            box = self.unit_box(index)
            lead_x = box.right() if self.head.travel > 0 else box.left()
            tab = QRectF(0, 0, 6.0, 6.0)
            tab.moveCenter(QPointF(lead_x - self.head.travel * 3.6, box.top() - 3.4))
            painter.setPen(Qt.PenStyle.NoPen)
            if self.look == Look.UNKNOWN or stale:
                painter.setBrush(UNKNOWN)  # the last reported roles: not fresh
            else:
                painter.setBrush(FAULT if len(self.masters) > 1 else COUPLED_EDGE)
            painter.drawRect(tab)
            painter.setPen(style.TRAIN_TEXT)
            painter.setFont(self._small)
            painter.drawText(tab, int(Qt.AlignmentFlag.AlignCenter), "M")
        # a held consist (扣车): the badge at the tail of the last unit, not under the coupler
        if self.head.train.held and not stale and len(self.numbers) > 1:
            shift = -self.head.travel * (len(self.numbers) - 1) * (TRAIN_W + UNIT_GAP)
            draw_held_badge(painter, self.head.held_badge().translated(shift, 0))
        # what is wrong, above the consist
        note = {
            ConsistState.DUAL_MASTER: "双主",
            ConsistState.NO_MASTER: "无主",
        }.get(self.state)
        if note is None and self.look in (Look.UNCONFIRMED, Look.UNKNOWN):
            note = "?"
        if note:
            painter.setPen(colour)
            painter.setFont(self._small)
            at = QRectF(whole.left(), whole.top() - 9.5, whole.width(), 7.5)
            painter.drawText(at, int(Qt.AlignmentFlag.AlignCenter), note)


class ConsistOverlay:
    """Keeps a :class:`ConsistMark` on each consist's head unit; hides riding units."""

    def __init__(self, items: dict[int, TrainItem]) -> None:
        self.items = items
        self.marks: dict[int, ConsistMark] = {}  # consist id -> mark
        self.hidden: set[int] = set()

    def apply(self, tracker: CouplingTracker) -> None:
        wanted: dict[int, ConsistView] = {}
        for view in tracker.consists():
            units = view.ordered_units()
            if len(units) > 1 or look_of(view) != Look.CONFIRMED:
                wanted[view.id] = view
        hide: set[int] = set()
        for cid, view in wanted.items():
            units = [u for u in view.ordered_units() if u.unit in self.items]
            if not units:
                continue
            head = self.items[units[0].unit]
            mark = self.marks.get(cid)
            if mark is None or mark.head is not head or mark.scene() is None:
                if mark is not None and mark.scene() is not None:
                    mark.scene().removeItem(mark)
                mark = ConsistMark(head)
                self.marks[cid] = mark
            mark.set_view(view)
            hide.update(u.unit for u in units[1:])
        for cid in [c for c in self.marks if c not in wanted]:
            mark = self.marks.pop(cid)
            if mark.scene() is not None:
                mark.scene().removeItem(mark)
        for uid in hide - self.hidden:
            if uid in self.items:
                self.items[uid].setVisible(False)
        for uid in self.hidden - hide:
            if uid in self.items:
                self.items[uid].setVisible(True)
        self.hidden = hide
