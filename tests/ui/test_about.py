"""Help → About shows the program's version (the installer names the same version)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app import __version__
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui


def test_help_menu_has_about_with_the_version(
    qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any
) -> None:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    titles = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert "Help" in titles
    helps = [m for m in win.menuBar().findChildren(QMenu) if m.title() == "&Help"]
    assert len(helps) == 1
    assert win.menu_bar.about_action in helps[0].actions()
    assert __version__ in win.menu_bar.about_text()
