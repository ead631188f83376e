"""The line overview: a scene with one item per device and train, and its view.

The scene is built once from the topology (:class:`~app.model.topology.Line`) and
then only told what changed (:meth:`SchematicScene.apply`): it updates just those
items, and Qt repaints just their rectangles. A ``Changes`` with ``full`` set (a
snapshot arrived, or the data went stale or fresh) updates everything.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsItem, QGraphicsScene, QGraphicsView, QWidget

from app.model.commands import parse_train_device
from app.model.state import Changes, LineState, SwitchPosition
from app.model.topology import Direction, Line, Section, Switch
from app.model.track import nearest_end
from ui import style
from ui.clock import line_zone
from ui.decor import StationLabel, TextItem
from ui.highlight import MarkerSlot
from ui.items import SWITCH_GAP, SectionItem, SignalItem, SwitchItem
from ui.labels import place_labels
from ui.layout import Layout
from ui.scenery import build_static
from ui.trains import TrainItem
from ui.zones import ZoneBracket, ZoneLook

BLINK_MS = 500


#: how many pixels beside a device a click still hits it
HIT_SLOP_PX = 6.0

MAX_TRAIN_TIER = 2  # trains stacked at most this many boxes out from the track


class SchematicScene(QGraphicsScene):
    """The whole line, folded into rows by a :class:`~ui.layout.Layout`."""

    #: where the legend strip lies (Help → Legend shows this part of the scene)
    legend_rect: QRectF
    #: "NO LIVE DATA", shown while the state is stale
    banner: TextItem

    def __init__(
        self, line: Line, layout: Layout | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.line = line
        #: the line's time zone: every clock time on screen is shown in it
        self.tz = line_zone(line.timezone)
        self.plan = layout or Layout(line)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setBackgroundBrush(style.BACKGROUND)
        self.stale = True
        self.section_items: dict[str, SectionItem] = {}
        self.switch_items: dict[str, SwitchItem] = {}
        self.signal_items: dict[str, SignalItem] = {}
        self.train_items: dict[int, TrainItem] = {}
        self.zone_items: dict[str, list[ZoneBracket]] = {}
        #: switch -> ((normal section, its end at the switch), (reverse section, end))
        self._legs: dict[str, tuple[tuple[str, int], tuple[str, int]]] = {}
        self._route_sections = {r.id: r.sections for r in line.routes}
        self.updates = 0  # how many apply() calls changed something (for tests and stats)
        self._blink_on = True
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._toggle_blink)
        self.legend_rect, self.banner = build_static(self, line, self.plan, self.zone_items)
        self._build_devices()
        #: ids that found no clear place (drawn where they overlap least)
        self.labels_stuck = place_labels(
            list(self.switch_items.values()),
            list(self.signal_items.values()),
            list(self.section_items.values()),
        )
        # room for train boxes that stick out at the ends of a row
        rows = QRectF()
        for i in range(len(self.plan.rows)):
            rows = rows.united(self.plan.row_rect(i))
        self.content_rect = (
            self.itemsBoundingRect().united(rows.adjusted(0, 0, 40, 0)).adjusted(-8, -8, 8, 8)
        )
        self.setSceneRect(self.content_rect)

    # -- building --------------------------------------------------------------------

    def _build_devices(self) -> None:
        lay = self.plan
        for sec in self.line.sections:
            item = SectionItem(sec, lay.section_pieces(sec))
            self.addItem(item)
            self.section_items[sec.id] = item
        secs = self.line.section_by_id
        for sw in self.line.switches:
            normal_vec = self._leg_vector(sw, secs[sw.normal])
            reverse_vec = self._leg_vector(sw, secs[sw.reverse])
            sw_item = SwitchItem(sw, normal_vec, reverse_vec)
            sw_item.setPos(lay.point(sw.x, sw.y, prefer=lay.section_mid_x(secs[sw.root])))
            self.addItem(sw_item)
            self.switch_items[sw.id] = sw_item
            self._legs[sw.id] = (
                (sw.normal, nearest_end(secs[sw.normal], sw.x, sw.y)),
                (sw.reverse, nearest_end(secs[sw.reverse], sw.x, sw.y)),
            )
        for sig in self.line.signals:
            home = secs.get(sig.section)
            prefer = lay.section_mid_x(home) if home is not None else None
            travel = 1.0 if sig.direction is Direction.DOWN else -1.0
            sig_item = SignalItem(sig, travel, lay.outer_side(sig.y))
            sig_item.setPos(lay.point(sig.x, sig.y, prefer=prefer))
            self.addItem(sig_item)
            self.signal_items[sig.id] = sig_item

    def _leg_vector(self, sw: Switch, leg: Section) -> QPointF:
        end = nearest_end(leg, sw.x, sw.y)
        fx, fy = (leg.x1, leg.y1) if end == 0 else (leg.x0, leg.y0)
        return self.plan.direction_vector(sw.x, sw.y, fx, fy)

    def set_zone_look(self, zone: str, look: ZoneLook) -> None:
        for bracket in self.zone_items.get(zone, ()):
            bracket.set_look(look)

    # -- live state ------------------------------------------------------------------------

    def apply(self, state: LineState, changes: Changes) -> None:
        """Bring the items named in ``changes`` (all of them if ``full``) up to ``state``."""
        stale = not state.synchronised
        full = changes.full or stale != self.stale
        if not full and not changes:
            return
        self.updates += 1
        self.stale = stale
        self.banner.setVisible(stale)
        sections: set[str] = set(self.section_items) if full else set(changes.sections)
        switches: set[str] = set(self.switch_items) if full else set(changes.switches)
        signals: set[str] = set(self.signal_items) if full else set(changes.signals)
        if not full:
            for rid in changes.routes:
                sections.update(
                    s for s in self._route_sections.get(rid, ()) if s in self.section_items
                )
        for sid in sections:
            rec = state.sections.get(sid)
            item = self.section_items.get(sid)
            if rec is None or item is None:
                continue
            route = state.routes.get(rec.route) if rec.route else None
            item.update_state(rec, route.status if route else None, stale)
        for wid in switches:
            sw_rec = state.switches.get(wid)
            sw_item = self.switch_items.get(wid)
            if sw_rec is None or sw_item is None:
                continue
            sw_item.update_state(sw_rec, stale)
            self._set_leg_gaps(wid, sw_rec.position, stale)
        for gid in signals:
            sig_rec = state.signals.get(gid)
            sig_item = self.signal_items.get(gid)
            if sig_rec is not None and sig_item is not None:
                sig_item.update_state(sig_rec, stale)
        self._apply_trains(state, changes, full, stale)
        if any(item.blinking for item in self.switch_items.values()):
            if not self._blink.isActive():
                self._blink.start()
        elif self._blink.isActive():
            self._blink.stop()
            self._blink_on = True

    def _set_leg_gaps(self, switch: str, position: SwitchPosition, stale: bool) -> None:
        (normal, n_end), (reverse, r_end) = self._legs[switch]
        cut_normal = not stale and position is not SwitchPosition.NORMAL
        cut_reverse = not stale and position is not SwitchPosition.REVERSE
        for sec, end, cut in ((normal, n_end, cut_normal), (reverse, r_end, cut_reverse)):
            item = self.section_items[sec]
            length = sum(p.line.length() for p in item.pieces)
            item.set_gap(end, min(SWITCH_GAP, 0.4 * length) if cut else 0.0)

    def _apply_trains(self, state: LineState, changes: Changes, full: bool, stale: bool) -> None:
        if full:
            for tid in [t for t in self.train_items if t not in state.trains]:
                self._remove_train(tid)
            ids: set[int] = set(state.trains)
        else:
            for tid in changes.trains_removed:
                self._remove_train(tid)
            ids = set(changes.trains)
        for tid in ids:
            train = state.trains.get(tid)
            if train is None:
                self._remove_train(tid)
                continue
            sec = self.line.section_by_id.get(train.section)
            if sec is None:
                continue
            item = self.train_items.get(tid)
            if item is None:
                item = TrainItem(train)
                self.addItem(item)
                self.train_items[tid] = item
            pos = self.plan.along(sec, train.offset_m)
            f = 0.0 if sec.length_m <= 0 else min(1.0, max(0.0, train.offset_m / sec.length_m))
            y = sec.y0 + (sec.y1 - sec.y0) * f
            item.update_state(train, pos, self.plan.outer_side(y), stale)
        if ids or full:
            self._stack_trains()

    def _stack_trains(self) -> None:
        """Trains whose boxes would overlap on one side of a row are stacked outwards.

        Greedy by x: each box takes the innermost tier where it overlaps no box
        already placed (at most MAX_TRAIN_TIER; a jam beyond that overlaps).
        """
        groups: dict[tuple[int, float], list[TrainItem]] = {}
        for item in self.train_items.values():
            if item.isVisible():
                groups.setdefault((round(item.pos().y()), item.side), []).append(item)
        for items in groups.values():
            spans = sorted(
                (
                    (item.pos().x() + item.box().left(), item.pos().x() + item.box().right(), item)
                    for item in items
                ),
                key=lambda span: (span[0], span[1]),
            )
            tiers: list[float] = []  # per tier: where its last box ends
            for x0, x1, item in spans:
                tier = next((t for t, end in enumerate(tiers) if x0 > end + 1.0), len(tiers))
                tier = min(tier, MAX_TRAIN_TIER)
                if tier == len(tiers):
                    tiers.append(x1)
                else:
                    tiers[tier] = max(tiers[tier], x1)
                item.set_tier(tier)

    def _remove_train(self, tid: int) -> None:
        item = self.train_items.pop(tid, None)
        if item is not None:
            self.removeItem(item)

    def _toggle_blink(self) -> None:
        self._blink_on = not self._blink_on
        for item in self.switch_items.values():
            item.set_blink(self._blink_on)

    # -- lookup ---------------------------------------------------------------------------

    def device_at(self, pos: QPointF, tolerance: float = 0.0) -> QGraphicsItem | None:
        """The switch, signal or train under (or within ``tolerance`` of) a scene point,
        the one whose symbol is nearest; else the section there."""
        area = QRectF(pos.x() - tolerance, pos.y() - tolerance, 2 * tolerance, 2 * tolerance)
        found = self.items(area) if tolerance > 0 else self.items(pos)
        devices = [i for i in found if isinstance(i, SwitchItem | SignalItem | TrainItem)]
        if devices:
            return min(devices, key=lambda item: _symbol_distance(item, pos))
        sections = [i for i in found if isinstance(i, SectionItem)]
        if not sections:
            return None
        return next((i for i in sections if i.contains(i.mapFromScene(pos))), sections[0])

    def device_item(self, device: str) -> QGraphicsItem | None:
        """The item drawing ``device``: a switch, a signal, a section or a train (train:<id>)."""
        train_id = parse_train_device(device)
        if train_id is not None:
            return self.train_items.get(train_id)
        for items in (self.switch_items, self.signal_items, self.section_items):
            item = items.get(device)
            if item is not None:
                return item
        return None

    def device_rect(self, device: str) -> QRectF | None:
        """Where ``device`` is drawn (scene coordinates): its item's hit area, or for a
        route the sections it runs over; None if the schematic does not show it."""
        item = self.device_item(device)
        if item is not None:
            return item.mapToScene(item.shape().boundingRect()).boundingRect()
        rect = QRectF()
        for sid in self._route_sections.get(device, ()):
            sec = self.section_items.get(sid)
            if sec is not None:
                rect = rect.united(sec.sceneBoundingRect())
        return rect if not rect.isEmpty() else None

    def station_rect(self, station_id: str) -> QRectF | None:
        """Where a station's name is drawn (scene coordinates)."""
        for item in self.items():
            if isinstance(item, StationLabel) and item.station.id == station_id:
                return item.sceneBoundingRect()
        return None

    def station_at(self, pos: QPointF) -> str | None:
        """The id of the station whose name is under a scene point, if any."""
        for item in self.items(pos):
            if isinstance(item, StationLabel):
                return item.station.id
        return None


def _symbol_distance(item: QGraphicsItem, pos: QPointF) -> float:
    """How far ``pos`` is from what a device draws: a train's box (0 inside it), a
    signal's lamp, a switch's points."""
    if isinstance(item, TrainItem):
        box = item.mapRectToScene(item.box())
        dx = max(box.left() - pos.x(), 0.0, pos.x() - box.right())
        dy = max(box.top() - pos.y(), 0.0, pos.y() - box.bottom())
        return math.hypot(dx, dy)
    centre = (
        item.mapToScene(item.lamp_centre()) if isinstance(item, SignalItem) else item.scenePos()
    )
    return QLineF(centre, pos).length()


class SchematicView(QGraphicsView):
    """Zoom with the wheel (about the mouse), pan by dragging, F fits the whole line."""

    switchMenuRequested = Signal(str, QPoint)
    signalMenuRequested = Signal(str, QPoint)
    trainMenuRequested = Signal(str, QPoint)  # the train's device id, train:<id>
    stationMenuRequested = Signal(str, QPoint)  # the station's id
    #: a click selected a device (its id) or nothing (""): the keyboard's commands act on it
    selectionChanged = Signal(str)

    MIN_ZOOM = 0.2
    MAX_ZOOM = 40.0

    def __init__(self, scene: SchematicScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.schematic = scene
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(style.BACKGROUND)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.auto_fit = True
        #: the device a click selected (shortcuts act on it), "" for none
        self.selected = ""
        self._selection = MarkerSlot(scene, "selected")
        self._pressed_at: QPoint | None = None
        # Room around the line, so that a device at its edge can still be centred
        # (find, follow, an alarm's double-click) when zoomed in.
        margin = max(scene.content_rect.height(), 200.0)
        self.setSceneRect(scene.itemsBoundingRect().adjusted(-margin, -margin, margin, margin))

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_to_fit(self) -> None:
        self.auto_fit = True
        self.fitInView(self.schematic.content_rect, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float) -> None:
        current = self.zoom()
        target = max(self.MIN_ZOOM, min(self.MAX_ZOOM, current * factor))
        if target != current:
            self.auto_fit = False
            self.scale(target / current, target / current)

    def zoom_in(self) -> None:
        self._zoom_about_centre(1.25)

    def zoom_out(self) -> None:
        self._zoom_about_centre(1 / 1.25)

    def _zoom_about_centre(self, factor: float) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.zoom_by(factor)
        self.setTransformationAnchor(anchor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.2**steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_F:
            self.zoom_to_fit()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.auto_fit:
            self.zoom_to_fit()

    def select(self, device: str) -> None:
        """Select ``device`` ("" for none): framed on the schematic, the target of the
        command shortcuts (N, R, ... :mod:`ui.commands`)."""
        rect = self.schematic.device_rect(device) if device else None
        device = device if rect is not None else ""
        if rect is not None:
            item = self.schematic.device_item(device)
            self._selection.show(rect, item if isinstance(item, TrainItem) else None)
        else:
            self._selection.clear()
        if device != self.selected:
            self.selected = device
            self.selectionChanged.emit(device)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pressed_at = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        pressed, self._pressed_at = self._pressed_at, None
        at = event.position().toPoint()
        if (
            event.button() == Qt.MouseButton.LeftButton
            and pressed is not None
            and (at - pressed).manhattanLength() <= 4  # a click, not a drag
        ):
            item = self.device_under(at)
            self.select(str(getattr(item, "device_id", "")) if item is not None else "")

    def device_under(self, at: QPoint) -> QGraphicsItem | None:
        """The device under a point of the viewport, forgiving by HIT_SLOP_PX pixels
        whatever the zoom: a switch is hit first time, not on the fourth try."""
        return self.schematic.device_at(self.mapToScene(at), HIT_SLOP_PX / max(self.zoom(), 0.01))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        item = self.device_under(event.pos())
        if item is not None:
            self.select(str(getattr(item, "device_id", "")))
        if isinstance(item, SwitchItem):
            self.switchMenuRequested.emit(item.device_id, event.globalPos())
        elif isinstance(item, SignalItem):
            self.signalMenuRequested.emit(item.device_id, event.globalPos())
        elif isinstance(item, TrainItem):
            self.trainMenuRequested.emit(item.device_id, event.globalPos())
        else:
            station = self.schematic.station_at(self.mapToScene(event.pos()))
            if station is not None:
                self.stationMenuRequested.emit(station, event.globalPos())
        event.accept()
