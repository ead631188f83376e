"""The graphics items of the line schematic: one per section, switch and signal.

Trains are :mod:`ui.trains`'s; the dispatcher's marks (padlock, cross, badge) :mod:`ui.marks`'s.

Items draw in scene units (see :mod:`ui.layout`); texts too, so they scale with
the zoom. Labels that would only clutter the overview (device ids) appear once
the view is zoomed in far enough. Every live item keeps the record it draws and
repaints only when :meth:`update_state` hands it a new one.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QCoreApplication, QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.model.state import (
    Aspect,
    RouteStatus,
    SectionState,
    SignalState,
    SwitchPosition,
    SwitchState,
)
from app.model.topology import Direction, Section, Signal, Switch, TrackKind
from ui import style
from ui.clock import clock_text
from ui.layout import Piece
from ui.marks import draw_cross, draw_padlock

#: zoom (scene units per pixel inverse) above which device ids are drawn
ID_LOD = 2.2
#: how far a joint between two sections is opened, each side (scene units)
JOINT = 0.7
#: how much of a switch leg is cut away when the points do not lie towards it
SWITCH_GAP = 9.0
#: how far along the root track from the points a locked switch's padlock sits
PADLOCK_OFFSET = 7.0
#: the radius of a switch's hit area (scene units; its marker is 5–6.5)
SWITCH_HIT_R = 9.0


class Z:
    """Stacking order."""

    BAND = -10.0
    STATIC = -5.0
    SECTION = 0.0
    SWITCH = 2.0
    SIGNAL = 3.0
    LABEL = 4.0
    TRAIN = 10.0
    BANNER = 20.0


def position_text(position: SwitchPosition) -> str:
    return {
        SwitchPosition.NORMAL: QCoreApplication.translate("Schematic", "normal"),
        SwitchPosition.REVERSE: QCoreApplication.translate("Schematic", "reverse"),
        SwitchPosition.MOVING: QCoreApplication.translate("Schematic", "moving"),
        SwitchPosition.LOST: QCoreApplication.translate("Schematic", "lost (no detection)"),
    }[position]


def aspect_text(aspect: Aspect) -> str:
    return {
        Aspect.STOP: QCoreApplication.translate("Schematic", "stop"),
        Aspect.PROCEED: QCoreApplication.translate("Schematic", "proceed"),
        Aspect.PROCEED_DIVERGING: QCoreApplication.translate("Schematic", "proceed, diverging"),
        Aspect.DARK: QCoreApplication.translate("Schematic", "dark"),
    }[aspect]


def lod(painter: QPainter, option: QStyleOptionGraphicsItem) -> float:
    return QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())


#: the size of a device id's text (scene units)
ID_FONT = 3.6


@cache
def _id_metrics() -> QFontMetricsF:
    return QFontMetricsF(style.font(ID_FONT))


def id_rect(text: str, centre: QPointF) -> QRectF:
    """Where a device id drawn centred on ``centre`` lies (what :mod:`ui.labels` keeps apart)."""
    # what the eye sees: the ids are capitals and digits, centred on the line's middle
    metrics = _id_metrics()
    w = metrics.horizontalAdvance(text) + 0.6
    h = metrics.capHeight() * 1.25
    return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)


def _draw_id(painter: QPainter, text: str, at: QPointF, align: Qt.AlignmentFlag) -> None:
    painter.setFont(style.font(ID_FONT))
    painter.setPen(style.TEXT_MUTED)
    rect = QRectF(at.x() - 30, at.y() - 3, 60, 6)
    if align & Qt.AlignmentFlag.AlignLeft:
        rect.moveLeft(at.x())
    elif align & Qt.AlignmentFlag.AlignRight:
        rect.moveRight(at.x())
    painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), text)


# -- sections ----------------------------------------------------------------------


class SectionItem(QGraphicsItem):
    """A track section: a line per row it crosses, coloured by its state."""

    def __init__(self, section: Section, pieces: list[Piece]) -> None:
        super().__init__()
        self.section = section
        self.device_id = section.id
        self.pieces = pieces
        self.record = SectionState(section.id)
        self.route_status: RouteStatus | None = None
        self.stale = True
        #: end (0 or 1) -> length cut away there because a switch lies the other way
        self.gaps: dict[int, float] = {}
        self.width = (
            style.DEPOT_TRACK_WIDTH if section.kind is TrackKind.DEPOT else style.TRACK_WIDTH
        )
        self.setZValue(Z.SECTION)
        path = QPainterPath()
        for piece in pieces:
            path.moveTo(piece.line.p1())
            path.lineTo(piece.line.p2())
        stroker = QPainterPathStroker()
        stroker.setWidth(8.0)
        self._shape = stroker.createStroke(path)
        self._track_bounds = path.boundingRect().adjusted(-3, -3, 3, 3)
        #: where the id is drawn (its centre), moved apart from others by ui/labels.py
        self.label_at: QPointF | None = None
        self.label_out = 1.0  # the id's side of the track: below
        #: how far sideways the id may go (scene x): along its own track, not beside another
        self.label_span: tuple[float, float] | None = None
        if pieces:
            longest = max(pieces, key=lambda p: p.line.length())
            self.label_at = longest.line.center() + QPointF(0, 5.2)
            xs = (longest.line.x1(), longest.line.x2())
            self.label_span = (min(xs), max(xs))
        self._bounds = self._with_label()
        self._refresh_tooltip()

    def _with_label(self) -> QRectF:
        if self.label_at is None:
            return self._track_bounds
        return self._track_bounds.united(id_rect(self.section.id, self.label_at))

    def set_label_at(self, at: QPointF) -> None:
        self.prepareGeometryChange()
        self.label_at = at
        self._bounds = self._with_label()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._shape

    def update_state(
        self, record: SectionState, route_status: RouteStatus | None, stale: bool
    ) -> None:
        if (record, route_status, stale) == (self.record, self.route_status, self.stale):
            return
        self.record, self.route_status, self.stale = record, route_status, stale
        self._refresh_tooltip()
        self.update()

    def set_gap(self, end: int, length: float) -> None:
        if self.gaps.get(end, 0.0) != length:
            self.gaps[end] = length
            self.update()

    def colour(self) -> tuple[QColor, Qt.PenStyle]:
        rec = self.record
        if self.stale:
            return style.TRACK_STALE, Qt.PenStyle.SolidLine
        if rec.occupied:
            return style.TRACK_OCCUPIED, Qt.PenStyle.SolidLine
        if rec.fault:
            return style.TRACK_FAULT, Qt.PenStyle.DashLine
        if rec.route:
            if self.route_status is RouteStatus.SETTING:
                return style.TRACK_ROUTE_SETTING, Qt.PenStyle.DashLine
            return style.TRACK_ROUTE, Qt.PenStyle.SolidLine
        if self.section.kind is TrackKind.DEPOT:
            return style.TRACK_DEPOT, Qt.PenStyle.SolidLine
        return style.TRACK_FREE, Qt.PenStyle.SolidLine

    def _refresh_tooltip(self) -> None:
        rec = self.record
        parts = [f"{self.section.id}  ({self.section.length_m:g} m)"]
        if rec.occupied:
            parts.append(QCoreApplication.translate("Schematic", "occupied"))
        if rec.route:
            parts.append(QCoreApplication.translate("Schematic", "route {0}").format(rec.route))
        if rec.fault:
            parts.append(QCoreApplication.translate("Schematic", "FAULT"))
        self.setToolTip(" · ".join(parts) + since_text(self, rec.since_ms))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        colour, pen_style = self.colour()
        # Occupied is told by width as well as by colour: red and the free grey are
        # nearly the same grey to a colour-blind eye (tests/ui/test_colour_blind.py).
        width = self.width
        if self.record.occupied and not self.stale:
            width *= style.OCCUPIED_WIDTH_FACTOR
        pen = QPen(colour, width, pen_style, Qt.PenCapStyle.FlatCap)
        if pen_style is Qt.PenStyle.DashLine:
            pen.setDashPattern([2.0, 1.2])
        painter.setPen(pen)
        last = len(self.pieces) - 1
        for i, piece in enumerate(self.pieces):
            start = 0.0 if piece.cut_start else JOINT
            end = 0.0 if piece.cut_end else JOINT
            if i == 0:
                start = max(start, self.gaps.get(0, 0.0))
            if i == last:
                end = max(end, self.gaps.get(1, 0.0))
            line = _shorten(piece.line, start, end)
            if line is not None:
                painter.drawLine(line)
        if lod(painter, option) >= ID_LOD * 1.4 and self.label_at is not None:
            _draw_id(painter, self.section.id, self.label_at, Qt.AlignmentFlag.AlignHCenter)


def _shorten(line: QLineF, start: float, end: float) -> QLineF | None:
    length = line.length()
    if length <= start + end:
        return None
    dx, dy = (line.dx() / length, line.dy() / length)
    return QLineF(
        line.p1() + QPointF(dx * start, dy * start), line.p2() - QPointF(dx * end, dy * end)
    )


def since_text(item: QGraphicsItem, since_ms: int) -> str:
    """ "\nsince 14:02:37" (in the scene's time zone) for a clock time; "" otherwise."""
    stamp = clock_text(since_ms, getattr(item.scene(), "tz", None))
    if not stamp:
        return ""
    return "\n" + QCoreApplication.translate("Schematic", "since {0}").format(stamp)


# -- switches ------------------------------------------------------------------------


class SwitchItem(QGraphicsItem):
    """The points: a marker only when they need attention (moving, lost, blocked, locked).

    The position itself shows in the track: the leg the points do not lie in is
    cut open near the switch (see :meth:`SectionItem.set_gap`). A switch a
    dispatcher has single-locked (单锁) carries a padlock on its root track, just
    beside the points: clear of the legs (whose gaps show the position) and of
    the signals that often stand at the same joint.
    """

    def __init__(self, switch: Switch, normal_vec: QPointF, reverse_vec: QPointF) -> None:
        super().__init__()
        self.switch = switch
        self.device_id = switch.id
        self.normal_vec = normal_vec
        self.reverse_vec = reverse_vec
        self.record = SwitchState(switch.id)
        self.stale = True
        self.blink_on = True
        self.setZValue(Z.SWITCH)
        self.setAcceptHoverEvents(True)
        # the id goes on the side away from the diverging leg (ui/labels.py may move it)
        self.label_out = -1.0 if reverse_vec.y() > 0 else 1.0
        self.label_at = QPointF(0, 7.0 * self.label_out)
        self._bounds = self._with_label()
        self._refresh_tooltip()

    def _with_label(self) -> QRectF:
        return QRectF(-16, -16, 32, 32).united(id_rect(self.switch.id, self.label_at))

    def set_label_at(self, at: QPointF) -> None:
        self.prepareGeometryChange()
        self.label_at = at
        self._bounds = self._with_label()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        # the hit area: wider than the marker, so that the points are hit first time
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), SWITCH_HIT_R, SWITCH_HIT_R)
        return path

    @property
    def blinking(self) -> bool:
        return not self.stale and self.record.position is SwitchPosition.MOVING

    def update_state(self, record: SwitchState, stale: bool) -> None:
        if (record, stale) == (self.record, self.stale):
            return
        self.record, self.stale = record, stale
        self._refresh_tooltip()
        self.update()

    def set_blink(self, on: bool) -> None:
        if self.blink_on != on:
            self.blink_on = on
            if self.blinking:
                self.update()

    def _refresh_tooltip(self) -> None:
        rec = self.record
        parts = [f"{self.switch.id}  {position_text(rec.position)}"]
        if rec.route:
            parts.append(QCoreApplication.translate("Schematic", "locked by {0}").format(rec.route))
        if rec.blocked:
            parts.append(QCoreApplication.translate("Schematic", "BLOCKED"))
        if rec.locked:
            parts.append(QCoreApplication.translate("Schematic", "LOCKED (单锁)"))
        self.setToolTip(" · ".join(parts) + since_text(self, rec.since_ms))

    def padlock_centre(self) -> QPointF:
        # the root runs on from the points opposite the normal leg
        return self.normal_vec * -PADLOCK_OFFSET

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        rec = self.record
        if not self.stale:
            if rec.position is SwitchPosition.MOVING and self.blink_on:
                painter.setPen(QPen(style.SWITCH_MOVING, 1.6))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(QPointF(0, 0), 5.0, 5.0)
                painter.setBrush(style.SWITCH_MOVING)
                painter.setPen(Qt.PenStyle.NoPen)
                for vec in (self.normal_vec, self.reverse_vec):
                    painter.drawEllipse(vec * (SWITCH_GAP * 0.55), 1.6, 1.6)
            elif rec.position is SwitchPosition.LOST:
                painter.setPen(QPen(style.SWITCH_LOST, 1.8))
                painter.setBrush(style.SWITCH_LOST_FILL)
                diamond = QPolygonF(
                    [QPointF(0, -6.5), QPointF(6.5, 0), QPointF(0, 6.5), QPointF(-6.5, 0)]
                )
                painter.drawPolygon(diamond)
                painter.drawLine(QPointF(-3, -3), QPointF(3, 3))
                painter.drawLine(QPointF(-3, 3), QPointF(3, -3))
            if rec.blocked:
                painter.setPen(QPen(style.SWITCH_BLOCKED, 1.4))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(-7.5, -7.5, 15, 15))
            if rec.locked:
                draw_padlock(painter, self.padlock_centre())
        if lod(painter, option) >= ID_LOD:
            _draw_id(painter, self.switch.id, self.label_at, Qt.AlignmentFlag.AlignHCenter)


# -- signals -------------------------------------------------------------------------


SIGNAL_BASE = 3.0
SIGNAL_POST = 7.5
LAMP_R = 3.0


class SignalItem(QGraphicsItem):
    """A signal beside the track: post at the joint, lamp towards approaching trains.

    A signal a dispatcher has closed (封闭) has a cross over its lamp.
    """

    def __init__(self, signal: Signal, travel: float, side: float) -> None:
        super().__init__()
        self.signal = signal
        self.device_id = signal.id
        self.travel = travel  # +1: trains it governs run towards +x on screen
        self.side = side  # -1 above the track, +1 below
        self.record = SignalState(signal.id)
        self.stale = True
        self.setZValue(Z.SIGNAL)
        mid = side * (SIGNAL_BASE + SIGNAL_POST / 2)
        self._post = QLineF(0, side * SIGNAL_BASE, 0, side * (SIGNAL_BASE + SIGNAL_POST))
        self._stem = QLineF(0, mid, -travel * 1.6, mid)
        self._lamp = QPointF(-travel * (1.6 + LAMP_R), mid)
        self.label_out = side  # the id goes beyond the lamp, away from the track
        self.label_at = QPointF(self._lamp.x(), self._lamp.y() + side * (LAMP_R + 3.2))
        self._bounds = self._with_label()
        self._refresh_tooltip()

    def lamp_centre(self) -> QPointF:
        return self._lamp

    def _with_label(self) -> QRectF:
        top = min(0.0, self.side * 14)
        base = QRectF(-14, top, 28, 14).adjusted(-1, -1, 1, 1)
        return base.united(id_rect(self.signal.id, self.label_at))

    def set_label_at(self, at: QPointF) -> None:
        self.prepareGeometryChange()
        self.label_at = at
        self._bounds = self._with_label()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        # the hit area: the lamp with a margin, and the post
        path = QPainterPath()
        path.addRect(
            QRectF(self._lamp.x() - 5.5, self._lamp.y() - 6.0, 11, 12).united(
                QRectF(-2.0, self._post.y1(), 4, self._post.dy()).normalized()
            )
        )
        return path

    def update_state(self, record: SignalState, stale: bool) -> None:
        if (record, stale) == (self.record, self.stale):
            return
        self.record, self.stale = record, stale
        self._refresh_tooltip()
        self.update()

    def _refresh_tooltip(self) -> None:
        arrow = "→" if self.signal.direction is Direction.DOWN else "←"
        text = f"{self.signal.id} {arrow}  {aspect_text(self.record.aspect)}"
        if self.record.closed:
            text += " · " + QCoreApplication.translate("Schematic", "CLOSED (封闭)")
        self.setToolTip(text + since_text(self, self.record.since_ms))

    def lamp_colour(self) -> QColor | None:
        if self.stale:
            return None
        return {
            Aspect.STOP: style.ASPECT_STOP,
            Aspect.PROCEED: style.ASPECT_PROCEED,
            Aspect.PROCEED_DIVERGING: style.ASPECT_DIVERGING,
            Aspect.DARK: None,
        }[self.record.aspect]

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        painter.setPen(QPen(style.SIGNAL_MAST, 1.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
        painter.drawLine(self._post)
        painter.drawLine(self._stem)
        colour = self.lamp_colour()
        if self.stale:
            painter.setPen(QPen(style.TRACK_STALE, 0.9))  # not known: greyed, like the track
            painter.setBrush(Qt.BrushStyle.NoBrush)
        elif colour is None:
            painter.setPen(QPen(style.SIGNAL_DARK, 1.1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        elif colour == style.ASPECT_STOP:
            # stop is the normal aspect: quiet, a dim lamp with a red rim (ISA-101)
            painter.setPen(QPen(style.ASPECT_STOP, 0.8))
            painter.setBrush(style.ASPECT_STOP_FILL)
        else:
            painter.setPen(QPen(colour.darker(140), 0.6))
            painter.setBrush(colour)
        painter.drawEllipse(self._lamp, LAMP_R, LAMP_R)
        if self.record.closed and not self.stale:
            draw_cross(painter, self._lamp, LAMP_R + 1.3)
        if lod(painter, option) >= ID_LOD:
            _draw_id(painter, self.signal.id, self.label_at, Qt.AlignmentFlag.AlignHCenter)
