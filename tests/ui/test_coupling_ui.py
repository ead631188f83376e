"""Consists in the window: drawn joined at the head unit, the coupling dock, the menu entries."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QImage, QPainter
from PySide6.QtWidgets import QMenu, QStyleOptionGraphicsItem
from pytestqt.qtbot import QtBot

from app.events import Event
from app.model.commands import CommandOp
from app.model.coupling import ConsistState, CouplingChanges, CouplingTracker, UnitReport
from app.model.state import CabRole, CouplingState, StateSnapshot, TrainState
from app.model.topology import Direction
from app.session import LocalAlarm
from ui import consists
from ui.consists import ConsistMark, Look
from ui.coupling import CouplingDock
from ui.dialogs import ConfirmCommandDialog
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui

FRONT = TrainState(7, "0701", "PDB", 120.0, 0.0, Direction.DOWN)
REAR = TrainState(8, "0801", "PDB", 10.0, 0.0, Direction.DOWN, CouplingState.COUPLED, CabRole.SLAVE)
CLOCK = [10_000]


def action(menu: QMenu, name: str) -> QAction:
    for a in menu.findChildren(QAction):
        if a.objectName() == name:
            return a
    raise AssertionError(f"no action {name!r}")


@pytest.fixture
def window(qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any) -> MainWindow:
    fake_session.coupling = CouplingTracker(confirm=2, lost_after_ms=1000)
    fake_session.coupling_changed = Event("coupling_changed")
    fake_session.clock_ms = lambda: CLOCK[0]
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1400, 800)
    win.show()
    fake_session.state_changed.emit(
        fake_session.state.apply_snapshot(StateSnapshot(seq=1, trains=(FRONT, REAR)))
    )
    qtbot.waitUntil(lambda: win.bridge.flushes >= 1)
    return win


def report(
    win: MainWindow,
    seq: int,
    states: tuple[CouplingState, CouplingState] = (CouplingState.COUPLED,) * 2,
    cabs: tuple[CabRole, CabRole] = (CabRole.MASTER, CabRole.SLAVE),
    units: tuple[int, ...] = (7, 8),
) -> None:
    session: Any = win.session
    CLOCK[0] += 100
    ch = CouplingChanges()
    for i, unit in enumerate(units):
        rec = UnitReport(unit, f"0{unit}01", seq, 7, i, 2, states[i], cabs[i])
        ch.merge(session.coupling.report(rec, CLOCK[0]))
    session.coupling_changed.emit(ch)


def refreshed(win: MainWindow) -> None:
    assert win.coupling_view is not None
    win.coupling_view.refresh()


def mark(win: MainWindow) -> ConsistMark:
    assert win.coupling_view is not None
    return win.coupling_view.overlay.marks[7]


def colours_in(win: MainWindow, item: ConsistMark) -> set[str]:
    """The colours the mark itself paints (nothing else of the scene)."""
    rect = item.boundingRect()
    scale = 4.0
    image = QImage(
        int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32
    )
    image.fill(QColor("#000000"))
    painter = QPainter(image)
    painter.scale(scale, scale)
    painter.translate(-rect.topLeft())
    item.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return {
        image.pixelColor(x, y).name()
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    }


def test_a_consist_is_drawn_joined_at_its_head_with_the_master_marked(
    window: MainWindow, qtbot: QtBot
) -> None:
    for seq in (1, 2):
        report(window, seq)
    refreshed(window)
    m = mark(window)
    assert m.head is window.scene.train_items[7]
    assert m.numbers == ["0701", "0801"] and m.masters == [0] and m.look == Look.CONFIRMED
    assert not window.scene.train_items[8].isVisible()  # it rides in the consist
    assert window.scene.train_items[7].isVisible()
    # the second box trails the head's box, away from the way it runs
    assert m.unit_box(1).right() <= m.head.box().left()
    assert consists.COUPLED_EDGE.name() in colours_in(window, m)


def test_unconfirmed_fault_and_unknown_look_different(window: MainWindow, qtbot: QtBot) -> None:
    for seq in (1, 2):
        report(window, seq)
    report(window, 3, states=(CouplingState.COUPLED, CouplingState.UNCOUPLING))  # disagree
    refreshed(window)
    assert mark(window).look == Look.UNCONFIRMED
    assert consists.UNCONFIRMED.name() in colours_in(window, mark(window))
    for seq in (4, 5):
        report(window, seq, cabs=(CabRole.MASTER, CabRole.MASTER))
    refreshed(window)
    m = mark(window)
    assert m.look == Look.FAULT and m.state is ConsistState.DUAL_MASTER and m.masters == [0, 1]
    assert consists.FAULT.name() in colours_in(window, m)
    CLOCK[0] += 5000
    session: Any = window.session
    session.coupling_changed.emit(session.coupling.tick(CLOCK[0]))
    refreshed(window)
    assert mark(window).look == Look.UNKNOWN
    assert consists.FAULT.name() not in colours_in(window, mark(window))


def test_the_dock_lists_consists_and_units(window: MainWindow, qtbot: QtBot) -> None:
    for seq in (1, 2):
        report(window, seq)
    refreshed(window)
    dock = window.findChild(CouplingDock, "couplingDock")
    assert dock is not None and dock.isVisible()
    row = dock.rows[7]
    assert "0701+0801" in row.text(0) and "coupled" in row.text(1) and "0701" in row.text(2)
    assert row.childCount() == 2
    assert "0801" in row.child(1).text(0) and "slave" in row.child(1).text(2)
    assert "s ago" in row.child(0).text(4)
    report(window, 3, states=(CouplingState.COUPLED, CouplingState.UNCOUPLING))
    refreshed(window)
    assert "units disagree" in row.text(1)
    # double-click centres the schematic on the unit
    focused: list[str] = []
    dock.focusDevice.connect(focused.append)
    dock.tree.itemDoubleClicked.emit(row.child(1), 0)
    assert focused == ["train:8"]


def test_couple_and_uncouple_in_the_train_menu_go_through_the_confirmation(
    window: MainWindow, qtbot: QtBot
) -> None:
    menus = window.menus
    menu = menus.train_menu("train:7")
    assert not action(menu, CommandOp.COUPLE_TRAIN.value).isEnabled()  # nothing confirmed yet
    for seq in (1, 2):
        report(window, seq)
    menu = menus.train_menu("train:8")
    assert not action(menu, CommandOp.COUPLE_TRAIN.value).isEnabled()  # in a consist
    uncouple = action(menu, CommandOp.UNCOUPLE_TRAIN.value)
    assert uncouple.isEnabled()
    uncouple.trigger()
    dialog = window.commands.dialog
    assert isinstance(dialog, ConfirmCommandDialog)
    assert dialog.request.op is CommandOp.UNCOUPLE_TRAIN and "0701+0801" in dialog.request.detail
    dialog.accept()
    session: Any = window.session
    qtbot.waitUntil(lambda: session.calls == [("train:8", CommandOp.UNCOUPLE_TRAIN)])
    # a disagreeing consist cannot be uncoupled from the menu
    report(window, 3, states=(CouplingState.COUPLED, CouplingState.UNCOUPLING))
    assert not action(menus.train_menu("train:7"), CommandOp.UNCOUPLE_TRAIN.value).isEnabled()


def test_a_lone_unit_may_be_coupled(window: MainWindow, qtbot: QtBot) -> None:
    session: Any = window.session
    for seq in (1, 2):
        rec = UnitReport(7, "0701", seq, 7, 0, 1, CouplingState.UNCOUPLED, CabRole.MASTER)
        session.coupling.report(rec, CLOCK[0])
    menu = window.menus.train_menu("train:7")
    assert action(menu, CommandOp.COUPLE_TRAIN.value).isEnabled()
    assert not action(menu, CommandOp.UNCOUPLE_TRAIN.value).isEnabled()


def test_local_alarms_reach_the_alarm_list(window: MainWindow) -> None:
    got: list[tuple[str, bool, str]] = []

    class Service:
        def local(
            self, code: str, text: str, active: bool, time_ms: int, *, device: str, **_kw: object
        ) -> None:
            got.append((code, active, device))

    assert window.coupling_view is not None
    window.coupling_view.alarms = Service()  # type: ignore[assignment]
    window.bridge.alarmRaised.emit(LocalAlarm("consist_dual_master:7", "two masters", True, 1))
    window.bridge.alarmRaised.emit(LocalAlarm("dual_master", "servers", True, 2))
    assert got == [("consist_dual_master:7", True, "train:7"), ("dual_master", True, "")]
    assert Qt.ItemDataRole.UserRole  # keep the import honest
