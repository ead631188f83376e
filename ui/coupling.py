"""Coupling and uncoupling (联挂解编) in the window: consists on the schematic, the dock, menus.

- On the schematic a consist of two or more units is drawn at its head unit: the
  units' boxes joined end to end with a coupler, each with its number, the
  master cab marked with a filled "M" tab at that unit's leading end. The other
  units' own markers are hidden while they ride in the consist. The outline
  tells how far the reports stand behind it: solid when confirmed, dashed amber
  with "?" while unconfirmed (units disagree, or a new state not yet confirmed),
  red with 双主/无主 for a cab fault, dotted grey with "?" when reports were lost.
- The *Coupling* dock lists every consist and its units: state, cab roles,
  since-when, and how old each unit's last report is.
- :func:`add_coupling_actions` puts Couple (联挂) / Uncouple (解编) in a train's
  context menu; they go through the window's confirmation and command pipeline.

Everything here reads the session's :class:`~app.model.coupling.CouplingTracker`;
nothing here decides a state.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QDockWidget,
    QGraphicsItem,
    QMenu,
    QStyleOptionGraphicsItem,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.events import Event
from app.model.commands import CommandOp, parse_train_device, train_device
from app.model.coupling import (
    ConsistState,
    ConsistView,
    CouplingChanges,
    CouplingTracker,
)
from app.model.state import CabRole, TrainState
from app.session import LocalAlarm
from ui import style
from ui.dialogs import CommandRequest, op_text
from ui.items import TRAIN_W, TrainItem, Z, draw_held_badge

if TYPE_CHECKING:
    from ui.mainwindow import MainWindow

REFRESH_MS = 100
UNIT_GAP = 3.0  # scene units between two unit boxes: the coupler

COUPLED_EDGE = QColor("#4cc3ff")
UNCONFIRMED = style.ATTENTION
FAULT = style.LINK_DOWN
UNKNOWN = style.TEXT_MUTED


def state_text(state: ConsistState) -> str:
    translate = QCoreApplication.translate
    return {
        ConsistState.UNKNOWN: translate("Coupling", "unknown"),
        ConsistState.UNCOUPLED: translate("Coupling", "uncoupled"),
        ConsistState.COUPLING: translate("Coupling", "coupling (联挂中)"),
        ConsistState.COUPLED: translate("Coupling", "coupled (联挂)"),
        ConsistState.UNCOUPLING: translate("Coupling", "uncoupling (解编中)"),
        ConsistState.DUAL_MASTER: translate("Coupling", "TWO MASTERS (双主)"),
        ConsistState.NO_MASTER: translate("Coupling", "NO MASTER (无主)"),
    }[state]


def cab_text(cab: CabRole) -> str:
    translate = QCoreApplication.translate
    return {
        CabRole.NONE: translate("Coupling", "none"),
        CabRole.MASTER: translate("Coupling", "master (主控)"),
        CabRole.SLAVE: translate("Coupling", "slave (从控)"),
    }[cab]


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


class CouplingDock(QDockWidget):
    """Every consist and its units: state, cab roles, since-when, report ages."""

    focusDevice = Signal(str)

    def __init__(
        self,
        tracker: CouplingTracker,
        *,
        tz: dt.tzinfo | None,
        clock_ms: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(self.tr("Coupling (联挂解编)"), parent)
        self.setObjectName("couplingDock")
        self.tracker = tracker
        self.tz = tz
        self.clock_ms = clock_ms  # the tracker's clock (monotonic ms)
        self.tree = QTreeWidget()
        self.tree.setObjectName("couplingTree")
        self.tree.setColumnCount(5)
        self.tree.setHeaderLabels(
            [
                self.tr("Consist / unit"),
                self.tr("State"),
                self.tr("Cab"),
                self.tr("Since"),
                self.tr("Last report"),
            ]
        )
        self.tree.setRootIsDecorated(True)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.setWidget(self.tree)
        self.rows: dict[int, QTreeWidgetItem] = {}

    def _since(self, mono_ms: int) -> str:
        """A monotonic time as the wall-clock time it was, and how long ago."""
        ago = max(0, self.clock_ms() - mono_ms)
        wall = dt.datetime.fromtimestamp(time.time() - ago / 1000, self.tz)
        return f"{wall:%H:%M:%S} ({ago // 1000} s)"

    def refresh(self) -> None:
        seen = set()
        for view in self.tracker.consists():
            seen.add(view.id)
            row = self.rows.get(view.id)
            if row is None:
                row = QTreeWidgetItem(self.tree)
                row.setData(0, Qt.ItemDataRole.UserRole, train_device(view.id))
                self.rows[view.id] = row
                row.setExpanded(True)
            self._fill_consist(row, view)
        for cid in [c for c in self.rows if c not in seen]:
            row = self.rows.pop(cid)
            index = self.tree.indexOfTopLevelItem(row)
            if index >= 0:
                self.tree.takeTopLevelItem(index)
        for col in range(4):
            self.tree.resizeColumnToContents(col)

    def _fill_consist(self, row: QTreeWidgetItem, view: ConsistView) -> None:
        look = look_of(view)
        state = state_text(view.state)
        if look == Look.UNCONFIRMED:
            state += " · " + (
                self.tr("units disagree") if view.disagreeing else self.tr("unconfirmed")
            )
            if view.pending is not None and view.pending.value != view.state.value:
                state += " " + self.tr("({0} {1}/{2})").format(
                    view.pending.value, view.pending_count, self.tracker.confirm
                )
        elif look == Look.UNKNOWN:
            state += " · " + self.tr("reports lost or not yet confirmed")
        colour = {
            Look.CONFIRMED: None,  # the palette's
            Look.UNCONFIRMED: UNCONFIRMED,
            Look.FAULT: FAULT,
            Look.UNKNOWN: UNKNOWN,
        }[look]
        master = view.master
        row.setText(0, self.tr("Consist {0}").format(consist_name(view)))
        row.setText(1, state)
        row.setText(
            2,
            self.tr("master {0}").format(master.number)
            if master is not None
            else self.tr("{0} masters").format(
                sum(u.cab is CabRole.MASTER for u in view.units.values())
            ),
        )
        row.setText(3, self._since(view.since_ms))
        row.setText(4, "")
        for col in range(5):
            if colour is None:
                row.setData(col, Qt.ItemDataRole.ForegroundRole, None)
            else:
                row.setForeground(col, colour)
        units = view.ordered_units()
        while row.childCount() > len(units):
            row.removeChild(row.child(row.childCount() - 1))
        while row.childCount() < len(units):
            QTreeWidgetItem(row)
        for i, u in enumerate(units):
            child = row.child(i)
            child.setData(0, Qt.ItemDataRole.UserRole, train_device(u.unit))
            child.setText(0, self.tr("{0}. unit {1} (#{2})").format(u.index + 1, u.number, u.unit))
            child.setText(1, state_text(ConsistState(u.coupling.value)))
            child.setText(2, cab_text(u.cab))
            child.setText(3, self._since(u.since_ms))
            child.setText(
                4, self.tr("{0:.1f} s ago").format(max(0, self.clock_ms() - u.last_ms) / 1000)
            )

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        device = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(device, str):
            self.focusDevice.emit(device)


class CouplingView(QObject):
    """The window's coupling parts: the dock, the schematic overlay, local alarms."""

    def __init__(self, window: MainWindow, tracker: CouplingTracker, changed: Event[Any]) -> None:
        super().__init__(window)
        self.window = window
        self.tracker = tracker
        self.changed = changed
        clock = getattr(window.session, "_clock_ms", None)
        self.clock_ms: Callable[[], int] = (
            clock if callable(clock) else (lambda: time.monotonic_ns() // 1_000_000)
        )
        self.overlay = ConsistOverlay(window.scene.train_items)
        self.dock = CouplingDock(tracker, tz=window._tz, clock_ms=self.clock_ms, parent=window)
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.log_menu.addAction(self.dock.toggleViewAction())
        self.dock.focusDevice.connect(window.focus_device)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._ages = QTimer(self)
        self._ages.setInterval(1000)
        self._ages.timeout.connect(self.dock.refresh)
        self._ages.start()
        changed.connect(self._on_changed)
        window.bridge.stateChanged.connect(lambda _c: self.refresh())  # train items come and go
        window.bridge.alarmRaised.connect(self._on_alarm)
        self.refresh()

    def detach(self) -> None:
        self.changed.disconnect(self._on_changed)
        self._timer.stop()
        self._ages.stop()

    def _on_changed(self, _changes: CouplingChanges) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        self.overlay.apply(self.tracker)
        self.dock.refresh()

    def _on_alarm(self, alarm: LocalAlarm) -> None:
        """Local alarms (the consists' cab faults among them) into the alarm list."""
        service = self.window.alarms
        if service is None:
            return
        _kind, _, consist = alarm.code.partition(":")
        device = train_device(int(consist)) if consist.isdigit() else ""
        service.local(alarm.code, alarm.text, alarm.active, alarm.time_ms, device=device)


def install(window: MainWindow) -> CouplingView | None:
    """The coupling parts for ``window``, if its session confirms consists."""
    tracker = getattr(window.session, "coupling", None)
    changed = getattr(window.session, "coupling_changed", None)
    if not isinstance(tracker, CouplingTracker) or not isinstance(changed, Event):
        return None
    return CouplingView(window, tracker, changed)


def add_coupling_actions(
    window: MainWindow,
    menu: QMenu,
    device: str,
    train: TrainState | None,
    blocked: str,
) -> None:
    """Couple (联挂) / Uncouple (解编) in a train's context menu, through the pipeline."""
    translate = QCoreApplication.translate
    tracker = getattr(window.session, "coupling", None)
    train_id = parse_train_device(device)
    view = (
        tracker.consist_of(train_id)
        if isinstance(tracker, CouplingTracker) and train_id is not None
        else None
    )
    units = len(view.units) if view is not None else 1
    stopped = train is not None and train.speed_kmh < 0.5
    menu.addSeparator()
    detail = ""
    if train is not None:
        detail = translate("Coupling", "train {0}, in section {1}").format(
            train.number, train.section
        )
        if view is not None and units > 1:
            detail += "; " + translate("Coupling", "consist {0}").format(consist_name(view))
    for op, enabled, why in (
        (
            CommandOp.COUPLE_TRAIN,
            units == 1
            and view is not None
            and view.state is ConsistState.UNCOUPLED
            and view.confirmed
            and stopped,
            translate("Coupling", "in a consist already")
            if units > 1
            else translate("Coupling", "not a confirmed, stopped lone unit"),
        ),
        (
            CommandOp.UNCOUPLE_TRAIN,
            units > 1
            and view is not None
            and view.state is ConsistState.COUPLED
            and view.confirmed
            and stopped,
            translate("Coupling", "not a confirmed, stopped consist"),
        ),
    ):
        action = menu.addAction(op_text(op))
        action.setObjectName(op.value)
        action.setEnabled(not blocked and train is not None and enabled)
        if train is not None and not enabled:
            action.setToolTip(why)
        request = CommandRequest(
            device, translate("Coupling", "train"), op, window._zone_text(device), detail
        )
        action.triggered.connect(window._requester(request))
