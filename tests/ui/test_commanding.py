"""Commanding from the schematic: the confirmation opens away from the device and frames
it while open, says beforehand what the server will refuse, Enter on the focused
confirm button confirms, command keys act on the selected device, trains are named
by number (issue 18, "Commanding")."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu
from pytestqt.qtbot import QtBot

from app.model.commands import CommandOp
from app.model.devices import DeviceKind, DeviceRef
from app.model.foresee import ForeseenCode, foresee
from app.model.state import (
    SectionState,
    SignalState,
    StateSnapshot,
    SwitchPosition,
    SwitchState,
    TrainState,
)
from app.model.topology import Direction
from ui.dialogs import ConfirmCommandDialog, away_from
from ui.highlight import TargetMarker
from ui.mainwindow import MainWindow
from ui.names import device_name, train_name

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any) -> MainWindow:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    fake_session.synchronise()
    qtbot.waitUntil(lambda: win.session.state.synchronised and win.bridge.flushes >= 1)
    return win


def snapshot(session: Any, qtbot: QtBot, window: MainWindow, **parts: Any) -> None:
    session.state_changed.emit(session.state.apply_snapshot(StateSnapshot(seq=5, **parts)))
    flushes = window.bridge.flushes
    qtbot.waitUntil(lambda: window.bridge.flushes > flushes)


def markers(window: MainWindow, kind: str) -> list[TargetMarker]:
    return [i for i in window.scene.items() if isinstance(i, TargetMarker) and i.kind == kind]


def menu_action(menu: QMenu, name: str) -> QAction:
    return next(a for a in menu.findChildren(QAction) if a.objectName() == name)


def test_the_dialog_opens_away_from_the_switch_and_frames_it_while_open(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.view.zoom_to_fit()
    dialog = window.commands.request(DeviceRef(DeviceKind.SWITCH, "W1"), CommandOp.THROW_REVERSE)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    # framed on the schematic while the dialog is open
    (marker,) = markers(window, "target")
    assert marker.sceneBoundingRect().contains(window.scene.switch_items["W1"].scenePos())
    # the dialog does not cover the switch on screen
    switch_on_screen = window.view.viewport().mapToGlobal(
        window.view.mapFromScene(window.scene.switch_items["W1"].scenePos())
    )
    assert not dialog.frameGeometry().contains(switch_on_screen)
    dialog.reject()
    qtbot.waitUntil(lambda: window.commands.dialog is None)
    assert markers(window, "target") == []


def test_away_from_picks_the_roomier_side_or_above_and_below() -> None:
    area = QRect(0, 0, 1000, 600)
    size = QSize(300, 200)
    # a device on the left: the dialog goes to the right edge
    at = away_from(size, QRect(100, 280, 20, 20), area)
    assert QRect(at, size).left() > 120 and QRect(at, size).right() <= 1000
    # on the right: to the left edge
    at = away_from(size, QRect(880, 280, 20, 20), area)
    assert QRect(at, size).right() < 880
    # a wide target leaving no room beside it: above or below, clear of it
    wide = QRect(50, 100, 900, 40)
    at = away_from(size, wide, area)
    assert not QRect(at, size).intersects(wide)


def test_the_dialog_warns_what_the_server_will_refuse(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    snapshot(
        fake_session,
        qtbot,
        window,
        switches=(SwitchState("W1", SwitchPosition.NORMAL, route="R_XPDB_XDBC"),),
    )
    dialog = window.commands.request(DeviceRef(DeviceKind.SWITCH, "W1"), CommandOp.THROW_REVERSE)
    assert dialog is not None
    assert dialog.warning is not None
    assert "R_XPDB_XDBC" in dialog.warning.text()
    assert "will refuse" in dialog.warning.text()
    assert "refused" in dialog.confirm_button.text()
    dialog.reject()


def test_foresee_follows_the_interlocking(fake_session: Any, line: Any) -> None:
    state = fake_session.state
    state.apply_snapshot(
        StateSnapshot(
            seq=1,
            sections=(SectionState("CB", occupied=True),),
            switches=(SwitchState("W2", SwitchPosition.NORMAL, locked=True),),
            signals=(SignalState("XPDA", closed=True),),
        )
    )
    seen = foresee(line, state, CommandOp.THROW_REVERSE, "W1")  # CB is its reverse leg
    assert seen is not None and seen.code is ForeseenCode.SECTION_OCCUPIED
    seen = foresee(line, state, CommandOp.THROW_REVERSE, "W2")
    assert seen is not None and seen.code is ForeseenCode.SWITCH_LOCKED
    seen = foresee(line, state, CommandOp.SET_ROUTE, "R_XPDA_XPDB")
    assert seen is not None and seen.code is ForeseenCode.SIGNAL_CLOSED
    seen = foresee(line, state, CommandOp.CANCEL_ROUTE, "R_XPDA_XPDB")
    assert seen is not None and seen.code is ForeseenCode.ROUTE_NOT_SET
    assert foresee(line, state, CommandOp.SET_ROUTE, "R_XPDB_XDBC") is None
    # a switch of the route that lost its position: the interlocking sets no route over it
    [setting] = [s for s in line.route_by_id["R_XPDB_XDBC"].switches][:1]
    state.apply_snapshot(
        StateSnapshot(seq=2, switches=(SwitchState(setting.switch, SwitchPosition.LOST),))
    )
    seen = foresee(line, state, CommandOp.SET_ROUTE, "R_XPDB_XDBC")
    assert seen is not None and seen.code is ForeseenCode.SWITCH_LOST
    assert seen.params == {"switch": setting.switch}


def test_enter_confirms_only_with_the_focus_on_the_confirm_button(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    dialog = window.commands.request(DeviceRef(DeviceKind.SWITCH, "W1"), CommandOp.THROW_REVERSE)
    assert isinstance(dialog, ConfirmCommandDialog)
    qtbot.waitUntil(dialog.isVisible)
    dialog.activateWindow()
    dialog.confirm_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(dialog.confirm_button.hasFocus)
    # the focus is framed: the style sheet draws a border for :focus
    assert "QPushButton:focus" in dialog.styleSheet()
    qtbot.keyClick(dialog.confirm_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: fake_session.calls == [("W1", CommandOp.THROW_REVERSE)])


def test_command_keys_act_on_the_selected_switch_and_the_menu_shows_them(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    window.view.zoom_to_fit()
    # N with nothing selected: told, nothing opens
    window.commands.on_selected(CommandOp.THROW_REVERSE)
    assert window.commands.dialog is None
    assert "select a switch" in window.statusBar().currentMessage()
    # a click on the switch selects it (framed)
    at = window.view.mapFromScene(window.scene.switch_items["W1"].scenePos())
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert window.view.selected == "W1"
    assert len(markers(window, "selected")) == 1
    # N: W1 lies normal already, nothing to do; R opens the confirmation
    # (shortcuts reach the active window only: under a real X server, make it so)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    assert window.commands.dialog is None
    assert "nothing to do" in window.statusBar().currentMessage()
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.commands.dialog is not None)
    dialog = window.commands.dialog
    assert dialog is not None and dialog.request.op is CommandOp.THROW_REVERSE
    assert dialog.request.device.id == "W1"
    dialog.reject()
    # the context menu lists the keys
    menu = window.menus.switch_menu("W1")
    assert menu_action(menu, CommandOp.THROW_REVERSE.value).shortcut().toString() == "R"
    assert menu_action(menu, CommandOp.THROW_NORMAL.value).shortcut().toString() == "N"
    # a click on empty ground selects nothing
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    assert window.view.selected == ""
    assert markers(window, "selected") == []


def test_trains_are_named_by_number_never_by_internal_id(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    train = TrainState(17, "0712", "PDB", 40.0, 0.0, Direction.DOWN)
    snapshot(fake_session, qtbot, window, trains=(train,))
    trains = fake_session.state.trains
    assert train_name(17, trains) == "train 0712"
    assert device_name("train:17", trains) == "train 0712"
    assert device_name("W1", trains) == "W1"
    assert "17" in train_name(99, {}) or "99" in train_name(99, {})
    dialog = window.commands.request(DeviceRef(DeviceKind.TRAIN, "train:17"), CommandOp.HOLD_TRAIN)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    texts = [dialog.windowTitle(), dialog.confirm_button.text()]
    texts += [label.text() for label in dialog.findChildren(QLabel)]
    shown = "\n".join(texts)
    assert "train:17" not in shown
    assert "0712" in dialog.confirm_button.text()
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.commands.log.table.rowCount() >= 1)
    qtbot.waitUntil(lambda: "executed" in window.statusBar().currentMessage())
    rows = window.commands.log.rows()
    assert all("train:17" not in " ".join(row) for row in rows)
    assert any("train 0712" in row for row in rows)
    assert "train:17" not in window.statusBar().currentMessage()


def test_the_couple_dialog_names_both_units(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    front = TrainState(7, "0701", "PDB", 120.0, 0.0, Direction.DOWN)
    rear = TrainState(8, "0801", "PDB", 10.0, 0.0, Direction.DOWN)
    far = TrainState(9, "0901", "PDC", 100.0, 0.0, Direction.DOWN)
    snapshot(fake_session, qtbot, window, trains=(front, rear, far))
    from ui.coupling import couple_detail

    text = couple_detail(window, front, None)
    assert "0701" in text and "0801" in text and "0901" not in text
    alone = couple_detail(window, far, None)
    assert "0901" in alone and "no stopped lone unit" in alone
    # the tooltip names the train by number, not by its unit id
    tip = window.scene.train_items[7].toolTip()
    assert tip.startswith("Train 0701") and "#7" not in tip


def test_find_frames_what_it_found_and_its_dialog_keeps_clear(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    finder = window.workspace.finder
    dialog = finder.open()
    qtbot.waitUntil(dialog.isVisible)
    qtbot.keyClicks(dialog.edit, "xpdb")
    qtbot.keyClick(dialog.edit, Qt.Key.Key_Return)
    (marker,) = markers(window, "found")
    item = window.scene.signal_items["XPDB"]
    assert marker.sceneBoundingRect().contains(item.mapToScene(item.lamp_centre()))
    # a station is framed too, and the dialog (opened again) does not cover it
    dialog = finder.open()
    qtbot.waitUntil(dialog.isVisible)
    assert finder.find("Bravo")
    (marker,) = markers(window, "found")
    rect = window.scene.station_rect("B")
    assert rect is not None and marker.sceneBoundingRect().contains(rect)
    view = window.view
    centre = view.viewport().mapToGlobal(view.mapFromScene(rect.center()))
    assert not dialog.frameGeometry().contains(centre)
    # the next click on the schematic takes the frame away
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    assert markers(window, "found") == []
