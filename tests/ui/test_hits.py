"""Hitting devices on the schematic first time: clicks beside a switch, a signal's lamp and
a train select them at the overview's zoom; device ids are laid out apart (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF
from PySide6.QtCore import Qt as QtNS
from pytestqt.qtbot import QtBot

from app.model.state import StateSnapshot, TrainState
from app.model.topology import Direction, Line
from ui.items import id_rect
from ui.mainwindow import MainWindow
from ui.schematic import SchematicScene

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any) -> MainWindow:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    fake_session.state_changed.emit(
        fake_session.state.apply_snapshot(
            StateSnapshot(seq=1, trains=(TrainState(7, "0712", "DAB", 300.0, 0.0, Direction.DOWN),))
        )
    )
    qtbot.waitUntil(lambda: win.bridge.flushes >= 1 and 7 in win.scene.train_items)
    return win


def at_zoom_one(window: MainWindow, centre: QPointF) -> None:
    """The overview's scale on a small screen: one scene unit per pixel."""
    view = window.view
    view.auto_fit = False
    view.resetTransform()
    view.centerOn(centre)


def click(qtbot: QtBot, window: MainWindow, scene_at: QPointF, dx: int, dy: int) -> str:
    view = window.view
    at = view.mapFromScene(scene_at) + QPoint(dx, dy)
    qtbot.mouseClick(view.viewport(), QtNS.MouseButton.LeftButton, pos=at)
    return view.selected


@pytest.mark.parametrize("offset", [(0, 0), (0, 8), (-8, 3), (6, 9), (-11, 2)])
def test_a_click_beside_a_switch_hits_it(
    qtbot: QtBot, window: MainWindow, offset: tuple[int, int]
) -> None:
    switch = window.scene.switch_items["W1"].scenePos()
    at_zoom_one(window, switch)
    assert click(qtbot, window, switch, *offset) == "W1"


@pytest.mark.parametrize("offset", [(0, 0), (5, -4), (-6, 3), (0, -8)])
def test_a_click_beside_a_signal_lamp_hits_the_signal(
    qtbot: QtBot, window: MainWindow, offset: tuple[int, int]
) -> None:
    item = window.scene.signal_items["XPDB"]
    lamp = item.mapToScene(item.lamp_centre())
    at_zoom_one(window, lamp)
    assert click(qtbot, window, lamp, *offset) == "XPDB"


def test_a_click_just_outside_a_train_box_hits_the_train(qtbot: QtBot, window: MainWindow) -> None:
    item = window.scene.train_items[7]
    box = item.mapRectToScene(item.box())
    at_zoom_one(window, box.center())
    # 4 px beyond the box's far edge
    far = QPointF(box.center().x(), box.top() if item.side < 0 else box.bottom())
    dy = -4 if item.side < 0 else 4
    assert click(qtbot, window, far, 0, dy) == "train:7"


def test_the_context_menu_finds_the_switch_beside_the_click(
    qtbot: QtBot, window: MainWindow
) -> None:
    switch = window.scene.switch_items["W1"].scenePos()
    at_zoom_one(window, switch)
    item = window.view.device_under(window.view.mapFromScene(switch) + QPoint(-8, 4))
    assert item is window.scene.switch_items["W1"]


def _label_rects(scene: SchematicScene) -> dict[str, QRectF]:
    rects = {}
    for items in (scene.switch_items, scene.signal_items):
        for device, item in items.items():
            assert item.label_at is not None
            rects[device] = id_rect(device, item.mapToScene(item.label_at))
    return rects


def test_demo_line_switch_and_signal_ids_do_not_overlap(qapp: Any, demo_line: Line) -> None:
    scene = SchematicScene(demo_line)
    rects = _label_rects(scene)
    lamps = {
        sid: QRectF(item.mapToScene(item.lamp_centre()) - QPointF(3, 3), QRectF(0, 0, 6, 6).size())
        for sid, item in scene.signal_items.items()
    }
    # the cases the walk-through found: W0602 under a lamp, SD0607a over XD0607a
    assert not rects["SD0607a"].intersects(rects["XD0607a"])
    assert not any(rects["W0602"].intersects(lamp) for lamp in lamps.values())
    names = sorted(rects)
    overlapping = [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if rects[a].intersects(rects[b])
    ]
    assert overlapping == []
    # and each id stays beside its device
    for device, rect in rects.items():
        item = scene.switch_items.get(device) or scene.signal_items[device]
        assert QPointF(rect.center() - item.scenePos()).manhattanLength() < 40, device
