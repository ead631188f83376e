"""Size: the UI scale (View → UI scale, automatic on an unscaled 4K screen), a 1366×768
window that gives the schematic the room (smaller docks, Schematic only) (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtWidgets import QApplication, QDockWidget
from pytestqt.qtbot import QtBot

from ui.mainwindow import MainWindow
from ui.scale import BASE_PROPERTY, SETTING, automatic_scale, parse_choice
from ui.workspace import COMPACT_BOTTOM, COMPACT_RIGHT, Workspace

pytestmark = pytest.mark.ui


class Screen:
    def __init__(self, w: int, h: int, ratio: float = 1.0) -> None:
        self._size = QSize(w, h)
        self._ratio = ratio

    def size(self) -> QSize:
        return self._size

    def devicePixelRatio(self) -> float:
        return self._ratio


@pytest.fixture
def app_font(qapp: QApplication) -> Iterator[None]:
    """The application's font is shared by every test: put it back."""
    font = qapp.font()
    yield
    qapp.setFont(font)


def test_automatic_scale_follows_an_unscaled_screen() -> None:
    assert automatic_scale(Screen(3840, 2160)) == 2.0  # type: ignore[arg-type]
    assert automatic_scale(Screen(2560, 1440)) == 1.25  # type: ignore[arg-type]
    assert automatic_scale(Screen(1920, 1080)) == 1.0  # type: ignore[arg-type]
    assert automatic_scale(Screen(1366, 768)) == 1.0  # type: ignore[arg-type]
    # the desktop scales already (Qt follows it): nothing more
    assert automatic_scale(Screen(3840, 2160, 2.0)) == 1.0  # type: ignore[arg-type]
    assert parse_choice("1.5") == 1.5
    assert parse_choice("auto") is None and parse_choice("3") is None
    assert parse_choice("garbage") is None


def test_the_ui_scale_is_chosen_in_the_view_menu_applied_and_kept(
    qtbot: QtBot, fake_session: Any, control_for: Any, app_font: None, qapp: QApplication
) -> None:
    settings = QSettings()
    window = MainWindow(fake_session, control_for(fake_session), settings=settings)
    qtbot.addWidget(window)
    scale = window.workspace.ui_scale
    base = qapp.property(BASE_PROPERTY)
    assert isinstance(base, float)
    assert scale.menu.menuAction() in window.view_menu.actions()
    scale.actions[1.5].trigger()
    assert qapp.font().pointSizeF() == pytest.approx(base * 1.5)
    # every widget follows (once the font change is delivered)
    for widget in (window.menuBar(), window.workspace.link_dock):
        qtbot.waitUntil(lambda w=widget: w.font().pointSizeF() == base * 1.5)
    assert settings.value(SETTING) == "1.5"
    # the next window starts with it
    again = MainWindow(fake_session, control_for(fake_session), settings=settings)
    qtbot.addWidget(again)
    assert again.workspace.ui_scale.choice == 1.5
    assert again.workspace.ui_scale.actions[1.5].isChecked()
    scale.actions[1.0].trigger()
    assert qapp.font().pointSizeF() == pytest.approx(base)


def test_a_small_window_gives_the_schematic_the_room(
    qtbot: QtBot, fake_session: Any, control_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a screen as wide as the window (offscreen's is 800x600: see the next test)
    monkeypatch.setattr(Workspace, "_fit_screen", lambda *_args: None)
    window = MainWindow(fake_session, control_for(fake_session), settings=QSettings())
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
    bottom = [
        d for d in docks if window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea
    ]
    right = [d for d in docks if window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
    assert bottom and right
    # the docks start small: the schematic gets the room
    qtbot.waitUntil(lambda: all(d.width() <= COMPACT_RIGHT + 20 for d in right))
    qtbot.waitUntil(lambda: all(d.height() <= COMPACT_BOTTOM + 40 for d in bottom))
    view = window.view.viewport()
    assert view.height() >= 300
    before = view.size()
    # Schematic only: every dock hidden, the schematic takes the window; back again
    window.workspace.schematic_only.trigger()
    qtbot.waitUntil(lambda: not any(d.isVisible() for d in window.findChildren(QDockWidget)))
    qtbot.waitUntil(lambda: window.view.viewport().height() > before.height() + 150)
    assert window.view.viewport().width() > before.width()
    window.workspace.schematic_only.trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(QDockWidget)))


def test_a_window_wider_than_its_screen_puts_the_right_docks_under_the_schematic(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session), settings=QSettings())
    qtbot.addWidget(window)
    screen = window.screen()
    assert screen is not None
    room = screen.availableGeometry()
    window.resize(room.width() + 300, min(768, room.height()))
    window.show()
    qtbot.waitExposed(window)
    detail = window.workspace.detail
    bottom = Qt.DockWidgetArea.BottomDockWidgetArea
    qtbot.waitUntil(lambda: window.dockWidgetArea(detail) == bottom)
    qtbot.waitUntil(lambda: window.width() <= room.width())


def test_the_saved_scale_applies_before_the_window_is_built(
    qtbot: QtBot, fake_session: Any, control_for: Any, app_font: None, qapp: QApplication
) -> None:
    from PySide6.QtWidgets import QLabel

    settings = QSettings()
    settings.setValue(SETTING, "2.0")
    window = MainWindow(fake_session, control_for(fake_session), settings=settings)
    qtbot.addWidget(window)
    base = qapp.property(BASE_PROPERTY)
    assert isinstance(base, float)
    # the header's title sizes its font from the application's: it follows too
    title = window.header.findChildren(QLabel)[0]
    assert title.font().pointSizeF() == pytest.approx(base * 2.0 * 1.35)
    settings.setValue(SETTING, "auto")


def test_at_a_larger_scale_the_docks_start_as_much_larger(
    qtbot: QtBot, fake_session: Any, control_for: Any, app_font: None, tmp_path: Any
) -> None:
    def bottom_height(scale: str) -> int:
        # a user of its own each time: no saved layout
        settings = QSettings(str(tmp_path / f"{scale}.ini"), QSettings.Format.IniFormat)
        settings.setValue(SETTING, scale)
        window = MainWindow(fake_session, control_for(fake_session), settings=settings)
        qtbot.addWidget(window)
        window.resize(1920, 1080)
        window.show()
        qtbot.waitExposed(window)
        dock = window.workspace.link_dock
        qtbot.wait(100)
        height = dock.height()
        window.close()
        return height

    normal = bottom_height("1.0")
    large = bottom_height("2.0")
    # as much larger as the window leaves room for (the schematic keeps its least height)
    assert large >= normal * 1.35, (normal, large)


def test_the_header_is_compact_on_a_small_screen_and_shows_what_is_abnormal_first(
    qtbot: QtBot, fake_session: Any
) -> None:
    from ui.header import COMPACT_BELOW, Header

    fake_session.synchronise()
    header = Header(fake_session)
    qtbot.addWidget(header)
    header.resize(1920, 40)
    header.show()
    qtbot.waitUntil(lambda: header.width() == 1920)
    header.refresh_counts()
    assert not header.compact
    full = header.counts_label.text()
    assert "·" in header.name_label.text() and "(" in header.desk_label.text()
    header.resize(COMPACT_BELOW - 134, 40)  # 1366
    qtbot.waitUntil(lambda: header.compact)
    line = fake_session.line
    assert header.name_label.text() in (line.name_zh, line.name_en)
    assert header.desk_label.text() == f"{fake_session.node} · {fake_session.dispatcher}"
    compact = header.counts_label.text()
    # the abnormal counts come first, where nothing cuts them
    assert compact.index("lost") < compact.index("Trains") and full != compact
    assert full.index("Trains") < full.index("lost")
    header.resize(1920, 40)
    qtbot.waitUntil(lambda: not header.compact)
    assert header.counts_label.text() == full
