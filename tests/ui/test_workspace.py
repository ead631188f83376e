"""The window as a workspace: link dock, find, saved layout, legend, shortcuts, diagnostics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget
from pytestqt.qtbot import QtBot

from app.comms.link import LinkState
from app.model.state import StateSnapshot, TrainState
from app.model.topology import Direction
from ui.linkhealth import LinkTableModel
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui


def shown_near_centre(window: MainWindow, item: Any) -> bool:
    """In view and centred across (a short line's rows may not let the view centre down)."""
    assert item is not None
    view = window.view
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    target = item.sceneBoundingRect().center()
    return shown.contains(target) and abs(shown.center().x() - target.x()) < 5


def settings_in(folder: Path) -> QSettings:
    return QSettings(str(folder / "hmi.ini"), QSettings.Format.IniFormat)


def test_layout_is_saved_on_close_and_restored_then_reset(
    qtbot: QtBot, fake_session: Any, tmp_path: Path, control_for: Any
) -> None:
    first = MainWindow(fake_session, control_for(fake_session), settings=settings_in(tmp_path))
    qtbot.addWidget(first)
    assert first.workspace.restored is False  # nothing saved yet
    first.resize(700, 520)
    first.show()
    links = first.workspace.link_dock
    links.setFloating(True)
    first.events.hide()
    first.close()  # saves

    second = MainWindow(fake_session, control_for(fake_session), settings=settings_in(tmp_path))
    qtbot.addWidget(second)
    second.show()
    assert second.workspace.restored is True
    assert second.workspace.link_dock.isFloating()
    assert not second.events.isVisible()
    assert (second.width(), second.height()) == (700, 520)

    second.workspace.reset_action.trigger()
    assert not second.workspace.link_dock.isFloating()
    assert second.events.isVisible()
    # the layout is per dispatcher: another one starts with the default
    fake_session.dispatcher = "someone-else"
    third = MainWindow(fake_session, control_for(fake_session), settings=settings_in(tmp_path))
    qtbot.addWidget(third)
    assert third.workspace.restored is False


def test_find_centres_on_a_station_a_device_and_a_train(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    line = fake_session.line
    fake_session.state.apply_snapshot(
        StateSnapshot(
            seq=1, trains=(TrainState(7, "0712", line.sections[-1].id, 10.0, 0.0, Direction.DOWN),)
        )
    )
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    window.view.zoom_by(6)
    finder = window.workspace.finder

    station = line.stations[-1]
    assert finder.find(station.name_zh)
    assert finder.find(station.name_en.upper())
    switch = line.switches[0].id
    assert finder.find(switch.lower())  # ids are found whatever their case
    assert shown_near_centre(window, window.scene.device_item(switch))
    assert finder.find("train 0712")
    assert shown_near_centre(window, window.scene.device_item("train:7"))
    assert not finder.find("nowhere")
    assert "nowhere" in window.statusBar().currentMessage()
    # the dialog: Ctrl+F opens it, its completer knows the train, Enter goes there
    assert finder.action.shortcut().toString() == "Ctrl+F"
    dialog = finder.open()
    entries = dialog.edit.completer().model().stringList()  # type: ignore[attr-defined]
    assert any("0712" in e for e in entries)
    assert any(station.name_zh in e for e in entries)
    qtbot.keyClicks(dialog.edit, switch)
    qtbot.keyClick(dialog.edit, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    dialog2 = finder.open()
    qtbot.keyClicks(dialog2.edit, "no-such-thing")
    qtbot.keyClick(dialog2.edit, Qt.Key.Key_Return)
    assert dialog2.isVisible() and "no-such-thing" in dialog2.message.text()


def test_link_health_dock_and_its_model(
    qtbot: QtBot, fake_session: Any, qtmodeltester: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    model = window.workspace.link_dock.model
    assert isinstance(model, LinkTableModel)
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    fake_session.set_link(LinkState.UP, "master", 3)
    window.bridge.flush()
    assert model.data(model.index(0, 1)) == "up"
    assert model.data(model.index(0, 2)) == "master #3"
    # a link without the MAC says so, in the attention colour (docs/security.md)
    assert model.data(model.index(0, 8)) == "NO"
    assert model.data(model.index(0, 8), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(0, 9)) == "0"
    qtmodeltester.check(model)
    assert window.workspace.link_dock.toggleViewAction() in window.view_menu.actions()


def test_help_legend_shortcuts_and_diagnostics(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    ws = window.workspace
    names = {a.objectName() for a in window.help_menu.actions()}
    assert {"legendAction", "shortcutsAction", "diagnosticsAction"} <= names
    legend = ws.help.show_legend()
    qtbot.addWidget(legend)
    assert legend.isVisible()
    keys = dict(ws.help.shortcuts())
    assert keys.get("Find…") == "Ctrl+F"
    assert "Zoom to fit" in keys
    shortcuts = ws.help.show_shortcuts()
    qtbot.addWidget(shortcuts)
    text = ws.help.diagnostics()
    for expected in ("Qt ", "PySide6", "Workstation file", "Logs and local data", "bad frames"):
        assert expected in text, expected
    diag = ws.help.show_diagnostics()
    qtbot.addWidget(diag)
    assert diag.isVisible()
    assert all(isinstance(d, QDockWidget) for d in [ws.link_dock])


def _with_train(fake_session: Any, section: str, offset: float = 10.0) -> None:
    fake_session.state.apply_snapshot(
        StateSnapshot(seq=1, trains=(TrainState(7, "0712", section, offset, 40.0, Direction.DOWN),))
    )


def test_follow_a_train_until_the_view_is_dragged(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    line = fake_session.line
    by_x = sorted(line.sections, key=lambda sec: sec.x0)
    first, last = by_x[len(by_x) // 3].id, by_x[2 * len(by_x) // 3].id
    _with_train(fake_session, first)
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    window.view.zoom_by(6)
    menu = window.menus.train_menu("train:7")
    follow = next(a for a in menu.actions() if a.objectName() == "followTrain")
    follow.trigger()
    ws = window.workspace
    assert ws.following == 7 and ws.follow_action.isEnabled()

    assert shown_near_centre(window, window.scene.device_item("train:7"))
    # the train runs on: the view goes with it
    changes = fake_session.state.apply_train(TrainState(7, "0712", last, 5.0, 40.0, Direction.DOWN))
    fake_session.state_changed.emit(changes)
    window.bridge.flush()
    assert shown_near_centre(window, window.scene.device_item("train:7"))
    assert "0712" in window.statusBar().currentMessage()
    # a press on the view hands it back
    qtbot.mousePress(window.view.viewport(), Qt.MouseButton.LeftButton)
    assert ws.following is None and not ws.follow_action.isEnabled()


def test_minimap_frames_the_visible_part_and_moves_the_view(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    mini = window.workspace.minimap
    window.view.zoom_to_fit()
    qtbot.wait(20)
    assert not mini.isVisible()  # the whole line is in view: no need for it
    window.view.zoom_by(5)
    window.view.viewport().update()
    qtbot.waitUntil(mini.isVisible, timeout=2000)
    content = window.scene.content_rect
    target = content.topLeft() + (content.bottomRight() - content.topLeft()) * 0.8
    mini.go_to(target)
    assert mini.visible_rect().contains(target)
    window.workspace.minimap_action.setChecked(False)
    assert not mini.isVisible()


def test_station_detail_shows_one_station_of_the_same_scene(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    station = fake_session.line.stations[-1]
    menu = window.menus.station_menu(station.id)
    next(a for a in menu.actions() if a.objectName() == "stationDetail").trigger()
    dock = window.workspace.detail
    assert dock.isVisible()
    assert dock.view.scene() is window.scene  # live: the same items
    assert dock.station_id() == station.id
    shown = dock.view.mapToScene(dock.view.viewport().rect()).boundingRect()
    rect = dock.station_rect(station.id)
    assert rect is not None and shown.contains(rect.center())
    assert not dock.show_station("nowhere")
