"""Switch lock, signal close and train hold in the views: context menus and markers."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QContextMenuEvent, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QMenu, QStyleOptionGraphicsItem
from pytestqt.qtbot import QtBot

from app.model.commands import CommandOp
from app.model.devices import DeviceRef
from app.model.state import (
    LineState,
    SignalState,
    StateDelta,
    StateSnapshot,
    SwitchState,
    TrainState,
)
from app.model.topology import Direction, Line
from ui import style
from ui.dialogs import op_text
from ui.mainwindow import MainWindow
from ui.schematic import SchematicScene, SchematicView
from ui.trains import TrainItem

pytestmark = pytest.mark.ui

TRAIN = TrainState(7, "0701", "PDB", 60.0, 0.0, Direction.DOWN)


def action(menu: QMenu, name: str) -> QAction:
    for a in menu.findChildren(QAction):
        if a.objectName() == name:
            return a
    raise AssertionError(f"no action {name!r} in {[a.objectName() for a in menu.actions()]}")


def texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions()]


@pytest.fixture
def window(qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any) -> MainWindow:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    fake_session.state_changed.emit(
        fake_session.state.apply_snapshot(StateSnapshot(seq=1, trains=(TRAIN,)))
    )
    qtbot.waitUntil(lambda: win.session.state.synchronised and win.bridge.flushes >= 1)
    return win


def apply(session: Any, **records: Any) -> None:
    seq = session.state.seq + 1
    session.state_changed.emit(session.state.apply_delta(StateDelta(seq=seq, **records)))


def confirm(qtbot: QtBot, window: MainWindow, menu: QMenu, op: CommandOp) -> Any:
    """Trigger ``op`` in ``menu``, check the confirmation dialog, confirm it."""
    entry = action(menu, op.value)
    assert entry.isEnabled(), op
    assert entry.text() == op_text(op)
    entry.trigger()
    dialog = window.commands.dialog
    assert dialog is not None and dialog.request.op is op
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.cancel_button.isDefault()  # the same two-step path as a throw
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.commands.dialog is None)
    return dialog.request


def test_switch_menu_locks_and_unlocks(qtbot: QtBot, window: MainWindow, fake_session: Any) -> None:
    menu = window.menus.switch_menu("W1")
    assert not action(menu, CommandOp.UNLOCK_SWITCH.value).isEnabled()
    request = confirm(qtbot, window, menu, CommandOp.LOCK_SWITCH)
    assert request.device == DeviceRef("switch", "W1")
    assert "Z1" in request.zone
    qtbot.waitUntil(lambda: fake_session.calls == [("W1", CommandOp.LOCK_SWITCH)])

    apply(fake_session, switches=(SwitchState("W1", locked=True),))
    menu = window.menus.switch_menu("W1")
    assert not action(menu, CommandOp.LOCK_SWITCH.value).isEnabled()
    assert not action(menu, CommandOp.THROW_REVERSE.value).isEnabled()  # locked: no throws
    assert any("unlock before throwing" in t for t in texts(menu))
    confirm(qtbot, window, menu, CommandOp.UNLOCK_SWITCH)
    qtbot.waitUntil(lambda: fake_session.calls[-1] == ("W1", CommandOp.UNLOCK_SWITCH))


def test_signal_menu_closes_and_reopens(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    menu = window.menus.signal_menu("SDBC")
    assert not action(menu, CommandOp.REOPEN_SIGNAL.value).isEnabled()
    assert action(menu, "R_SDBC_SPUB").isEnabled()
    request = confirm(qtbot, window, menu, CommandOp.CLOSE_SIGNAL)
    assert request.device == DeviceRef("signal", "SDBC")
    qtbot.waitUntil(lambda: fake_session.calls == [("SDBC", CommandOp.CLOSE_SIGNAL)])

    apply(fake_session, signals=(SignalState("SDBC", closed=True),))
    menu = window.menus.signal_menu("SDBC")
    assert not action(menu, CommandOp.CLOSE_SIGNAL.value).isEnabled()
    assert not action(menu, "R_SDBC_SPUB").isEnabled()  # closed: no route from it
    assert any("reopen before setting a route" in t for t in texts(menu))
    confirm(qtbot, window, menu, CommandOp.REOPEN_SIGNAL)
    qtbot.waitUntil(lambda: fake_session.calls[-1] == ("SDBC", CommandOp.REOPEN_SIGNAL))


def test_train_menu_holds_and_releases(qtbot: QtBot, window: MainWindow, fake_session: Any) -> None:
    menu = window.menus.train_menu("train:7")
    assert texts(menu)[0] == "train 0701"  # by its number, never its id
    assert not action(menu, CommandOp.RELEASE_TRAIN.value).isEnabled()
    request = confirm(qtbot, window, menu, CommandOp.HOLD_TRAIN)
    assert request.device == DeviceRef("train", "train:7")
    assert "Z1" in request.zone  # the zone of the section it stands in
    assert "PDB" in request.detail and "0701" in request.detail
    qtbot.waitUntil(lambda: fake_session.calls == [("train:7", CommandOp.HOLD_TRAIN)])

    apply(
        fake_session, trains=(TrainState(7, "0701", "PDB", 60.0, 0.0, Direction.DOWN, held=True),)
    )
    menu = window.menus.train_menu("train:7")
    assert not action(menu, CommandOp.HOLD_TRAIN.value).isEnabled()
    confirm(qtbot, window, menu, CommandOp.RELEASE_TRAIN)
    qtbot.waitUntil(lambda: fake_session.calls[-1] == ("train:7", CommandOp.RELEASE_TRAIN))


def test_menus_for_a_gone_train_and_without_live_data(
    qtbot: QtBot, window: MainWindow, fake_session: Any
) -> None:
    menus = window.menus
    menu = menus.train_menu("train:8")
    assert not action(menu, CommandOp.HOLD_TRAIN.value).isEnabled()
    assert any("no longer reported" in t for t in texts(menu))
    fake_session.state.invalidate()
    for menu, op in (
        (menus.switch_menu("W1"), CommandOp.LOCK_SWITCH),
        (menus.signal_menu("SDBC"), CommandOp.CLOSE_SIGNAL),
        (menus.train_menu("train:7"), CommandOp.HOLD_TRAIN),
    ):
        assert not action(menu, op.value).isEnabled()


def test_right_click_on_a_train_asks_for_its_menu(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = LineState(line)
    scene.apply(state, state.apply_snapshot(StateSnapshot(seq=1, trains=(TRAIN,))))
    view = SchematicView(scene)
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    view.zoom_to_fit()
    view.zoom_by(3.0)
    item = scene.train_items[7]
    assert item.device_id == "train:7"
    view.centerOn(item)
    at = view.mapFromScene(item.mapToScene(item.box().center()))
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    with qtbot.waitSignal(view.trainMenuRequested, timeout=1000) as blocker:
        view.contextMenuEvent(event)
    assert blocker.args is not None and blocker.args[0] == "train:7"


# -- the markers ---------------------------------------------------------------------------


def render(item: QGraphicsItem, area: QRectF, scale: float = 8.0) -> QImage:
    """Paint ``item`` alone (its own coordinates, ``area`` of them) on the background."""
    image = QImage(
        int(area.width() * scale), int(area.height() * scale), QImage.Format.Format_RGB32
    )
    image.fill(style.BACKGROUND)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    painter.translate(-area.topLeft())
    item.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return image


def count(image: QImage, colour: QColor, tolerance: int = 24) -> int:
    """Pixels within ``tolerance`` of ``colour`` on every channel."""
    n = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - colour.red()) <= tolerance
                and abs(c.green() - colour.green()) <= tolerance
                and abs(c.blue() - colour.blue()) <= tolerance
            ):
                n += 1
    return n


def test_a_locked_switch_carries_a_padlock(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    item = scene.switch_items["W1"]
    area = item.boundingRect()
    item.update_state(SwitchState("W1"), stale=False)
    plain = render(item, area)
    item.update_state(SwitchState("W1", locked=True), stale=False)
    locked = render(item, area)
    assert count(plain, style.DISPATCHER_MARK) == 0
    assert count(locked, style.DISPATCHER_MARK) > 50
    assert "LOCKED" in item.toolTip()
    item.update_state(SwitchState("W1", locked=True), stale=True)  # stale: no claim
    assert count(render(item, area), style.DISPATCHER_MARK) == 0


def test_a_closed_signal_has_a_cross_over_its_lamp(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    item = scene.signal_items["XPDB"]
    area = item.boundingRect()
    item.update_state(SignalState("XPDB"), stale=False)
    plain = render(item, area)
    item.update_state(SignalState("XPDB", closed=True), stale=False)
    closed = render(item, area)
    assert count(plain, style.DISPATCHER_MARK) == 0
    assert count(closed, style.DISPATCHER_MARK) > 30
    assert count(closed, style.ASPECT_STOP) > 0  # the lamp still shows stop under the cross
    assert "CLOSED" in item.toolTip()


def test_a_held_train_has_a_badge(qtbot: QtBot, line: Line) -> None:
    item = TrainItem(TRAIN)
    item.update_state(TRAIN, QPointF(0, 0), -1.0, stale=False)
    area = item.boundingRect()
    plain = render(item, area)
    held = TrainState(7, "0701", "PDB", 60.0, 0.0, Direction.DOWN, held=True)
    item.update_state(held, QPointF(0, 0), -1.0, stale=False)
    badge = render(item, area)
    assert count(plain, style.TRAIN_HELD) == 0
    assert count(badge, style.TRAIN_HELD) > 100
    assert "HELD" in item.toolTip()
    # the badge sits outside the number box, at its tail, and inside the item's bounds
    assert not item.held_badge().intersects(item.box())
    assert area.contains(item.held_badge())
    assert item.shape().contains(item.held_badge().center())


def test_every_operation_has_a_name_for_the_dispatcher() -> None:
    from ui.dialogs import op_text

    for op in CommandOp:
        assert op_text(op) and op_text(op) != op.value, op
