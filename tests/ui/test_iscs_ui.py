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
    qtbot: QtBot, fake_session: Any, run_async: Any, tmp_path: Path, control_for: Any
) -> None:
    journal = tmp_path / "handled.txt"
    iscs = IscsHandoff(
        sys.executable,
        ["-m", "app.counterparts.iscs_program", "--journal", str(journal)],
        dispatcher="tester",
    )
    run_async(iscs.start())
    window = MainWindow(fake_session, control_for(fake_session), iscs=iscs)
    qtbot.addWidget(window)
    try:
        label = window.status_bar.iscs_label
        assert "ISCS not running" in label.text()
        menu = window.menus.switch_menu("W1")
        action = next(a for a in menu.actions() if a.objectName() == "openInIscs")
        assert action.isEnabled()
        action.trigger()
        qtbot.waitUntil(lambda: iscs.delivered == 1, timeout=15_000)
        qtbot.waitUntil(lambda: "ISCS ready" in label.text(), timeout=5_000)
        assert iscs.state is IscsState.READY
        assert len(journal.read_text().split()) == 1
    finally:
        run_async(window.aclose())
        run_async(iscs.aclose())


def test_without_an_iscs_program_the_entry_is_disabled(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    menu = window.menus.signal_menu(next(iter(fake_session.line.signal_by_id)))
    action = next(a for a in menu.actions() if a.objectName() == "openInIscs")
    assert not action.isEnabled()
    assert window.iscs_actions.open(HandoffKind.SHOW_DEVICE, device="W1") is False


def _iscs(
    tmp_path: Path, module: str = "app.counterparts.iscs_program"
) -> tuple[IscsHandoff, Path]:
    journal = tmp_path / "handled.txt"
    return (
        IscsHandoff(sys.executable, ["-m", module, "--journal", str(journal)], dispatcher="tester"),
        journal,
    )


def test_open_in_iscs_from_a_station_name_on_the_schematic(
    qtbot: QtBot, fake_session: Any, run_async: Any, tmp_path: Path, caplog: Any, control_for: Any
) -> None:
    iscs, journal = _iscs(tmp_path)
    run_async(iscs.start())
    window = MainWindow(fake_session, control_for(fake_session), iscs=iscs)
    qtbot.addWidget(window)
    try:
        station = fake_session.line.stations[0]
        # the scene finds the station under its name label
        label = next(
            item
            for item in window.scene.items()
            if getattr(item, "station", None) is not None and item.station.id == station.id
        )
        assert window.scene.station_at(label.sceneBoundingRect().center()) == station.id
        menu = window.menus.station_menu(station.id)
        assert station.name_zh in menu.actions()[0].text()
        action = next(a for a in menu.actions() if a.objectName() == "openInIscs")
        with caplog.at_level("INFO"):
            action.trigger()
            qtbot.waitUntil(lambda: iscs.delivered == 1, timeout=15_000)
            # the program's output reaches the HMI's log: it was asked for this station
            qtbot.waitUntil(
                lambda: f"show_station station={station.id}" in caplog.text, timeout=5_000
            )
        assert len(journal.read_text().split()) == 1
    finally:
        run_async(window.aclose())
        run_async(iscs.aclose())


def test_open_in_iscs_from_an_alarm_row(
    qtbot: QtBot, fake_session: Any, run_async: Any, tmp_path: Path, caplog: Any, control_for: Any
) -> None:
    from app.alarms.consumer import FeedSettings
    from app.alarms.service import AlarmService
    from app.model.commands import CommandOp
    from tests.ui.test_alarm_ui import Feed, Sender, ev

    alarms = AlarmService(
        FeedSettings("127.0.0.1:1"),
        sender=Sender(),
        ack_op=CommandOp.ACK_ALARM,
        clock_ms=lambda: 1_000_500,
    )
    iscs, journal = _iscs(tmp_path)
    run_async(iscs.start())
    window = MainWindow(fake_session, control_for(fake_session), alarms, iscs=iscs)
    qtbot.addWidget(window)
    try:
        Feed(alarms).send(ev(7, device="W1", station="B"))
        assert window.annunciation is not None
        dock = window.annunciation.dock
        dock.bridge.flush()
        row = alarms.list.get("A7")
        assert row is not None
        menu = dock.row_menu(row)
        names = {a.objectName(): a for a in menu.actions()}
        assert names["acknowledge"].isEnabled()
        assert names["showOnSchematic"].isEnabled()
        with caplog.at_level("INFO"):
            names["openInIscs"].trigger()
            qtbot.waitUntil(lambda: iscs.delivered == 1, timeout=15_000)
            qtbot.waitUntil(
                lambda: "show_alarm station=B device=W1 alarm=A7" in caplog.text, timeout=5_000
            )
        assert len(journal.read_text().split()) == 1
        # the station menu filters the list to that station
        window.menus.station_menu("B")
        dock.show_station("B")
        assert dock.proxy.rowCount() == 1
    finally:
        run_async(window.aclose())
        run_async(iscs.aclose())


def test_the_reference_program_window_shows_what_it_received(qtbot: QtBot) -> None:
    from app.iscs.messages import Handoff
    from ui.counterparts.iscs_window import HISTORY, IscsWindow

    window = IscsWindow()
    qtbot.addWidget(window)
    msg = Handoff("h1", HandoffKind.SHOW_ALARM, "ST03", "W5", "A9", "d1")
    window.show_handoff(msg)
    text = window.current.text()
    assert "show alarm" in text and "ST03" in text and "W5" in text and "A9" in text
    assert "d1" in text
    for i in range(HISTORY + 5):
        window.show_handoff(Handoff(f"h{i}", HandoffKind.SHOW_STATION, f"S{i}", "", "", "d1"))
    assert window.history.count() == HISTORY  # bounded
    assert f"S{HISTORY + 4}" in window.history.item(0).text()  # newest first


def test_the_windowed_reference_program_is_launched_and_acknowledges(
    qtbot: QtBot, run_async: Any, tmp_path: Path
) -> None:
    iscs, journal = _iscs(tmp_path, "ui.counterparts.iscs_window")
    run_async(iscs.start())
    try:
        for n in range(3):
            iscs.hand_off(HandoffKind.SHOW_STATION, station=f"S{n}")
        qtbot.waitUntil(lambda: iscs.delivered == 3, timeout=30_000)
        assert iscs.state is IscsState.READY
        assert len(journal.read_text().split()) == 3
    finally:
        run_async(iscs.aclose())
