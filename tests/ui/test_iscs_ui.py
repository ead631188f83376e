"""'Open in ISCS' from a device's menu launches the reference program and hands it over."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.iscs.handoff import IscsHandoff, IscsState
from app.iscs.messages import HandoffKind
from ui.mainwindow import MainWindow

pytestmark = [pytest.mark.ui, pytest.mark.integration]


def test_open_in_iscs_from_the_switch_menu(
    qtbot: QtBot, fake_session: Any, run_async: Any, tmp_path: Path
) -> None:
    journal = tmp_path / "handled.txt"
    iscs = IscsHandoff(
        sys.executable, ["-m", "app.iscs.stub", "--journal", str(journal)], dispatcher="tester"
    )
    run_async(iscs.start())
    window = MainWindow(fake_session, iscs=iscs)
    qtbot.addWidget(window)
    try:
        assert "ISCS not running" in window.iscs_label.text()
        menu = window.switch_menu("W1")
        action = next(a for a in menu.actions() if a.objectName() == "openInIscs")
        assert action.isEnabled()
        action.trigger()
        qtbot.waitUntil(lambda: iscs.delivered == 1, timeout=15_000)
        qtbot.waitUntil(lambda: "ISCS ready" in window.iscs_label.text(), timeout=5_000)
        assert iscs.state is IscsState.READY
        assert len(journal.read_text().split()) == 1
    finally:
        run_async(window.shutdown())
        run_async(iscs.close())


def test_without_an_iscs_program_the_entry_is_disabled(qtbot: QtBot, fake_session: Any) -> None:
    window = MainWindow(fake_session)
    qtbot.addWidget(window)
    menu = window.signal_menu(next(iter(fake_session.line.signal_by_id)))
    action = next(a for a in menu.actions() if a.objectName() == "openInIscs")
    assert not action.isEnabled()
    assert window.open_in_iscs(HandoffKind.SHOW_DEVICE, device="W1") is False
