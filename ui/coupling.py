"""Coupling and uncoupling (联挂解编) in the window: the dock, the schematic, the menus.

- On the schematic a consist of two or more units is drawn at its head unit
  (:mod:`ui.consists`).
- The *Coupling* dock lists every consist and its units: state, cab roles,
  since-when, and how old each unit's last report is.
- :func:`add_coupling_actions` puts Couple (联挂) / Uncouple (解编) in a train's
  context menu; they go through the window's command flow (:mod:`ui.commands`).

Everything here reads the session's :class:`~app.model.coupling.CouplingTracker`;
nothing here decides a state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from app.alarms.records import Priority
from app.alarms.service import AlarmService
from app.clock import ClockMs
from app.events import Event
from app.model.commands import CommandOp, train_device
from app.model.coupling import ConsistState, ConsistView, CouplingChanges, CouplingTracker
from app.model.devices import DeviceRef
from app.model.foresee import couple_partner
from app.model.state import CabRole, TrainState
from app.session import LocalAlarm
from ui.bridge import Coalescer
from ui.clock import since_when_text
from ui.consists import FAULT, UNCONFIRMED, UNKNOWN, ConsistOverlay, Look, consist_name, look_of
from ui.host import Host
from ui.linkhealth import local_alarm_text
from ui.names import train_name

REFRESH_MS = 100


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


class CouplingDock(QDockWidget):
    """Every consist and its units: state, cab roles, since-when, report ages."""

    focusDevice = Signal(str)

    def __init__(
        self,
        tracker: CouplingTracker,
        *,
        tz: dt.tzinfo | None,
        clock_ms: ClockMs,
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
        return since_when_text(mono_ms, self.clock_ms, self.tz)

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

    def __init__(
        self,
        host: Host,
        tracker: CouplingTracker,
        changed: Event[CouplingChanges],
        alarms: AlarmService | None,
        clock_ms: ClockMs,
    ) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.tracker = tracker
        self.changed = changed
        self.alarms = alarms  # local alarms go to its list, when there is one
        self.clock_ms = clock_ms  # the tracker's clock (monotonic ms)
        self.overlay = ConsistOverlay(host.scene.train_items)
        self.dock = CouplingDock(tracker, tz=host.tz, clock_ms=clock_ms, parent=host.main_window)
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        host.add_dock(self.dock, Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock.focusDevice.connect(host.focus_device)
        # the session tells every change; the view follows at most every REFRESH_MS
        self.changes = Coalescer(
            CouplingChanges, lambda _c: self.refresh(), self, REFRESH_MS, ready=lambda _c: True
        )
        self._ages = QTimer(self)
        self._ages.setInterval(1000)
        self._ages.timeout.connect(self.dock.refresh)
        self._ages.start()
        changed.connect(self.changes.add)
        host.bridge.stateChanged.connect(lambda _c: self.refresh())  # train items come and go
        host.bridge.alarmRaised.connect(self._on_alarm)
        self.refresh()

    def close(self) -> None:
        self.changed.disconnect(self.changes.add)
        self.changes.stop()
        self._ages.stop()

    def refresh(self) -> None:
        self.overlay.apply(self.tracker)
        self.dock.refresh()

    def _on_alarm(self, alarm: LocalAlarm) -> None:
        """Local alarms (the consists' cab faults among them) into the alarm list."""
        if self.alarms is None:
            return
        _kind, _, consist = alarm.code.partition(":")
        device = train_device(int(consist)) if consist.isdigit() else ""
        self.alarms.local(
            alarm.code,
            local_alarm_text(alarm),
            alarm.active,
            alarm.time_ms,
            device=device,
            priority=Priority(alarm.priority or Priority.HIGH),
            since_ms=alarm.since_ms,
        )


def install(host: Host, alarms: AlarmService | None, clock_ms: ClockMs) -> CouplingView | None:
    """The coupling parts for the window, if its session confirms consists."""
    tracker = getattr(host.session, "coupling", None)
    changed: Any = getattr(host.session, "coupling_changed", None)
    if not isinstance(tracker, CouplingTracker) or not isinstance(changed, Event):
        return None
    return CouplingView(host, tracker, changed, alarms, clock_ms)


def couple_detail(host: Host, train: TrainState, tracker: object) -> str:
    """The couple dialog names both units: this one and the lone unit standing end to end
    with it (the one the interlocking will couple it with, as the state shows it)."""
    translate = QCoreApplication.translate
    state = host.session.state
    lone = (
        {
            unit
            for unit in tracker.units()
            if (view := tracker.consist_of(unit)) is not None and len(view.units) == 1
        }
        if isinstance(tracker, CouplingTracker)
        else None
    )
    partner = couple_partner(host.session.line, state, train.id, lone)
    this = train_name(train.id, state.trains)
    if partner is None:
        return translate(
            "Coupling",
            "{0}, in section {1}, with: no stopped lone unit seen end to end with it "
            "(the server will refuse unless one is there)",
        ).format(this, train.section)
    return translate("Coupling", "{0} (section {1}) with {2} (section {3})").format(
        this, train.section, train_name(partner.id, state.trains), partner.section
    )


def add_coupling_actions(
    host: Host, menu: QMenu, device: DeviceRef, train: TrainState | None
) -> None:
    """Couple (联挂) / Uncouple (解编) in a train's context menu, through the command flow."""
    translate = QCoreApplication.translate
    tracker = getattr(host.session, "coupling", None)
    train_id = device.train_id
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
        text = detail
        if op is CommandOp.COUPLE_TRAIN and train is not None:
            text = couple_detail(host, train, tracker)
        entry = host.command_entry(
            menu, device, op, possible=train is not None and enabled, detail=text
        )
        if train is not None and not enabled:
            entry.action.setToolTip(why)
