"""The main window: command confirmation, context menus, status bar."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.comms.link import LinkState
from app.model.commands import CommandOp
from app.model.devices import DeviceRef
from app.model.state import RouteState, RouteStatus, StateDelta
from app.session import LocalAlarm, MasterView
from ui.dialogs import ConfirmCommandDialog
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui


def action(menu: QMenu, name: str) -> QAction:
    for a in menu.findChildren(QAction):
        if a.objectName() == name:
            return a
    raise AssertionError(f"no action {name!r} in {[a.objectName() for a in menu.actions()]}")


@pytest.fixture
def window(qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any) -> MainWindow:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    fake_session.synchronise()
    qtbot.waitUntil(lambda: win.session.state.synchronised and win.bridge.flushes >= 1)
    return win


def open_throw_dialog(qtbot: QtBot, window: MainWindow) -> ConfirmCommandDialog:
    menu = window.menus.switch_menu("W1")
    # the switch lies normal: throwing it to normal is pointless, so disabled
    assert not action(menu, CommandOp.THROW_NORMAL.value).isEnabled()
    reverse = action(menu, CommandOp.THROW_REVERSE.value)
    assert reverse.isEnabled()
    reverse.trigger()
    dialog = window.commands.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_throw_dialog_cancel_sends_nothing(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    dialog = open_throw_dialog(qtbot, window)
    assert dialog.request.device == DeviceRef("switch", "W1")
    assert dialog.request.op is CommandOp.THROW_REVERSE
    assert "Z1" in dialog.request.zone
    # the dangerous button is never the default one
    assert dialog.cancel_button.isDefault()
    assert not dialog.confirm_button.isDefault()
    assert not dialog.confirm_button.autoDefault()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.commands.dialog is None)
    qtbot.wait(50)
    assert fake_session.calls == []
    assert "Cancelled" in window.statusBar().currentMessage()


def test_enter_in_the_dialog_cancels(qtbot: QtBot, window: MainWindow, fake_session: Any) -> None:
    dialog = open_throw_dialog(qtbot, window)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.commands.dialog is None)
    qtbot.wait(50)
    assert fake_session.calls == []


def test_throw_dialog_confirm_sends_exactly_one_command(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    dialog = open_throw_dialog(qtbot, window)
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fake_session.calls != [])
    qtbot.waitUntil(lambda: "executed" in window.statusBar().currentMessage())
    qtbot.wait(50)
    assert fake_session.calls == [("W1", CommandOp.THROW_REVERSE)]
    assert window.commands.dialog is None
    log = window.events.lines()
    assert any("W1" in line and "executed" in line for line in log)


def test_signal_menu_routes(qtbot: QtBot, window: MainWindow, fake_session: Any) -> None:
    menu = window.menus.signal_menu("SDBC")
    set_route = action(menu, "R_SDBC_SPUB")
    assert set_route.isEnabled()
    cancel_menu = menu.findChild(QMenu, "cancelRouteMenu")
    assert cancel_menu is not None and not cancel_menu.isEnabled()
    set_route.trigger()
    dialog = window.commands.dialog
    assert dialog is not None
    assert (dialog.request.device, dialog.request.op) == (
        DeviceRef("route", "R_SDBC_SPUB"),
        CommandOp.SET_ROUTE,
    )
    assert "W1 reverse" in dialog.request.detail
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fake_session.calls == [("R_SDBC_SPUB", CommandOp.SET_ROUTE)])

    # once the route is set, it can be cancelled and not set again
    fake_session.state_changed.emit(
        fake_session.state.apply_delta(
            StateDelta(seq=2, routes=(RouteState("R_SDBC_SPUB", RouteStatus.SET),))
        )
    )
    menu = window.menus.signal_menu("SDBC")
    set_menu = menu.findChild(QMenu, "setRouteMenu")
    assert set_menu is not None
    assert not next(a for a in set_menu.actions() if a.objectName() == "R_SDBC_SPUB").isEnabled()
    cancel_menu = menu.findChild(QMenu, "cancelRouteMenu")
    assert cancel_menu is not None and cancel_menu.isEnabled()
    cancel = next(a for a in cancel_menu.actions() if a.objectName() == "R_SDBC_SPUB")
    cancel.trigger()
    dialog = window.commands.dialog
    assert dialog is not None and dialog.request.op is CommandOp.CANCEL_ROUTE
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    assert len(fake_session.calls) == 1


def test_commands_disabled_without_live_data(
    qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any
) -> None:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    assert not fake_session.state.synchronised
    menu = win.menus.switch_menu("W1")
    assert not action(menu, CommandOp.THROW_REVERSE.value).isEnabled()
    assert "Waiting for snapshot" in win.status_bar.sync_label.text()
    assert win.scene.banner.isVisible()


def test_status_bar_follows_link_state(qtbot: QtBot, window: MainWindow, fake_session: Any) -> None:
    label = window.status_bar.link_labels["A@127.0.0.1:7101"]
    assert "down" in label.text()
    fake_session.set_link(LinkState.CONNECTING)
    qtbot.waitUntil(lambda: "connecting" in label.text())
    fake_session.set_link(LinkState.UP, "master", 3)
    qtbot.waitUntil(lambda: " up" in label.text())
    assert "master" in label.toolTip() and "epoch 3" in label.toolTip()
    assert "127.0.0.1:7101" in label.toolTip()
    fake_session.set_link(LinkState.DOWN)
    qtbot.waitUntil(lambda: "down" in label.text())
    log = window.events.lines()
    assert any("is up" in line for line in log)
    assert any("is down" in line for line in log)
    assert "synchronised" in window.status_bar.sync_label.text()
    assert window.status_bar.clock_label.text() != ""
    assert "Test Line" in window.windowTitle() and "tester" in window.windowTitle()


def test_master_and_dual_master_alarm_are_shown(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    master_label = window.status_bar.master_label
    assert "Master A (epoch 1)" in master_label.text()
    view = MasterView("B", 5, (("A", 3), ("B", 5)))
    alarm = LocalAlarm("dual_master", "dual master: A (epoch 3), B (epoch 5)", True, 0)
    fake_session.master = view
    fake_session.alarms["dual_master"] = alarm
    fake_session.master_changed.emit(view)
    fake_session.alarm.emit(alarm)
    qtbot.waitUntil(lambda: "DUAL MASTER" in master_label.text())
    assert "Master B (epoch 5)" in master_label.text()
    log = window.events.lines()
    assert any("ALARM: dual master" in line for line in log)
    standby = MasterView("B", 5, (), "standby")
    fake_session.master = standby
    fake_session.alarms.clear()
    fake_session.master_changed.emit(standby)
    qtbot.waitUntil(lambda: "showing standby B" in master_label.text())
    assert "DUAL MASTER" not in master_label.text()
    assert "master unreachable" in window.commands.desk_block()
