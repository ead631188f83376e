"""The reference ISCS window in the workstation's language, with the line's station names
and the line's clock (issue 18): in-process, and launched by the HMI's hand-off."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytestqt.qtbot import QtBot

from app.config import load_workstation
from app.iscs.handoff import LANGUAGE_ENV, LINE_ENV, IscsHandoff
from app.iscs.messages import Handoff, HandoffKind
from app.model.topology import Line
from app.paths import default_workstation_file
from app.wiring import build_iscs
from ui.counterparts.iscs_window import IscsWindow
from ui.mainwindow import MainWindow

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENT_MS = 1_765_000_000_000  # 13:46:40 in Shanghai, 00:46:40 in New York


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_window_in_chinese_names_the_station_and_tells_the_line_time(
    qtbot: QtBot, demo_line: Line, chinese: None, new_york: None
) -> None:
    window = IscsWindow(demo_line, SHANGHAI)
    qtbot.addWidget(window)
    assert window.windowTitle() != "ISCS (reference program)"
    window.show_handoff(Handoff("h1", HandoffKind.SHOW_STATION, "S02", "", "", "d1", MOMENT_MS))
    text = window.current.text()
    assert "北营路 (S02)" in text and "13:46:40" in text and "00:46:40" not in text
    assert "show station" not in text  # the kind in Chinese too
    assert window.history.item(0).text().startswith("13:46:40")


def test_the_window_in_english_names_the_station_in_english(qtbot: QtBot, demo_line: Line) -> None:
    window = IscsWindow(demo_line, SHANGHAI)
    qtbot.addWidget(window)
    window.show_handoff(Handoff("h1", HandoffKind.SHOW_DEVICE, "S03", "W0303", "", "d1"))
    text = window.current.text()
    assert "Fenhewan (S03)" in text and "W0303" in text and "show device" in text
    window.show_handoff(Handoff("h2", HandoffKind.SHOW_STATION, "S99", "", "", "d1"))
    assert "S99" in window.current.text()  # a station the line does not know: its id


def test_the_hmi_passes_its_language_and_line_to_the_program(
    qtbot: QtBot, fake_session: Any, control_for: Any, chinese: None
) -> None:
    ws = load_workstation(default_workstation_file())
    iscs = build_iscs(ws, "tester")
    assert iscs.env[LINE_ENV] == str(ws.line)
    window = MainWindow(fake_session, control_for(fake_session), iscs=iscs)
    qtbot.addWidget(window)
    assert iscs.env[LANGUAGE_ENV] == "zh_CN"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("language", "shown"), [("en", "Beiying Lu (S02)"), ("zh_CN", "北营路 (S02)")]
)
def test_the_launched_window_speaks_the_language_it_is_passed(
    qtbot: QtBot,
    run_async: Any,
    demo_line_path: Path,
    caplog: pytest.LogCaptureFixture,
    language: str,
    shown: str,
) -> None:
    caplog.set_level(logging.INFO, logger="app.iscs.handoff")
    iscs = IscsHandoff(
        sys.executable,
        ["-m", "ui.counterparts.iscs_window"],
        dispatcher="tester",
        env={LANGUAGE_ENV: language, LINE_ENV: str(demo_line_path)},
    )
    run_async(iscs.start())
    try:
        iscs.hand_off(HandoffKind.SHOW_STATION, station="S02")
        qtbot.waitUntil(lambda: iscs.delivered == 1, timeout=30_000)
        qtbot.waitUntil(lambda: shown in caplog.text, timeout=10_000)
    finally:
        run_async(iscs.aclose())
