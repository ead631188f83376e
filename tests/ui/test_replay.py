"""The replay window (issue 20, 回放) on a real recording: a simulator pair at 60×, a
dispatcher's session recorded with a refused command and a failover (SIGKILL of A).
The window opens at a moment with the state rebuilt, plays, seeks back, jumps to the
failover, refuses every command with nothing sent, and the search dock moves it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import ui.replay
from app.config import load_workstation
from app.model.commands import CommandOp
from app.model.devices import DeviceKind, DeviceRef
from app.model.topology import Line
from app.paths import default_workstation_file
from app.replay.format import Kind
from app.replay.player import Player, picture
from app.replay.store import Recording, days
from tests.ui.replay_recording import make_recording
from ui.clock import time_text
from ui.replay import Replay, open_from_args, open_replay, parse_at

pytestmark = pytest.mark.integration

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.config import load_line
    from app.paths import default_line_file

    folder = tmp_path_factory.mktemp("replay")
    make_recording(folder / "blackbox", load_line(default_line_file()), folder)
    return folder / "blackbox"


@pytest.fixture
def recording(blackbox: Path) -> Recording:
    (day,) = days(blackbox)
    return Recording.open_day(blackbox, day)


@pytest.fixture
def replay(qtbot: QtBot, demo_line: Line, recording: Recording) -> Iterator[Replay]:
    ws = load_workstation(default_workstation_file())
    r = open_replay(ws, demo_line, recording)
    qtbot.addWidget(r.window)
    r.window.resize(1600, 900)
    r.window.show()
    yield r
    r.driver.pause()
    r.window.bridge.close()


def _settle(qtbot: QtBot, r: Replay) -> None:
    r.window.bridge.flush()
    qtbot.wait(30)


def test_opens_at_a_moment_with_the_state_rebuilt(
    qtbot: QtBot, replay: Replay, demo_line: Line, recording: Recording
) -> None:
    r = replay
    middle = (r.player.start_ms + r.player.end_ms) // 2
    r.driver.seek(middle)
    _settle(qtbot, r)
    # what the window shows is what a fresh player rebuilds at that moment
    other = Player(demo_line, recording)
    other.seek(middle)
    assert (
        picture(r.player.state, None, [], r.player.service).state
        == picture(other.state, None, [], other.service).state
    )
    assert r.session.state.synchronised
    assert r.window.scene is not None and r.session.state.trains
    tz = r.window.tz
    assert f"REPLAY {time_text(middle, tz)}" in r.banner.text()
    assert r.window.windowTitle().startswith("REPLAY")
    assert "REPLAY" in r.window.status_bar.clock_label.text()
    assert r.session.link_infos() == list(r.player.links)
    assert r.session.role == "observer" and r.session.replaying


def test_play_at_64x_moves_time_and_banner_then_seek_back_rebuilds(
    qtbot: QtBot, replay: Replay, demo_line: Line, recording: Recording
) -> None:
    r = replay
    r.driver.seek(r.player.start_ms)
    before = r.banner.text()
    r.bar.speed.setCurrentIndex(r.bar.speed.findData(64.0))
    r.driver.play()
    qtbot.waitUntil(lambda: r.player.now_ms() > r.player.start_ms + 3000, timeout=3000)
    assert r.banner.text() != before and "64×" in r.banner.text()
    r.driver.pause()
    later = r.player.now_ms()
    back = r.player.start_ms + 1500
    r.driver.seek(back)
    assert r.player.now_ms() == back < later
    other = Player(demo_line, recording)
    other.seek(back)
    assert r.player.state.to_json() == other.state.to_json()
    assert time_text(back, r.window.tz) in r.banner.text()
    r.driver.step(-1000)
    assert r.player.now_ms() == back - 1000


def test_next_failover_jumps_to_the_switchover(qtbot: QtBot, replay: Replay) -> None:
    r = replay
    r.driver.seek(r.player.start_ms)
    expected = r.player.next_of((Kind.MASTER,), r.player.start_ms, failover_only=True)
    assert expected is not None
    r.bar.next_failover.click()
    assert r.player.now_ms() == expected
    _settle(qtbot, r)
    assert r.player.master.server == "B"
    assert "B" in r.window.status_bar.master_label.text()


def test_next_command_shows_the_recorded_command(qtbot: QtBot, replay: Replay) -> None:
    r = replay
    r.driver.seek(r.player.start_ms)
    r.bar.next_command.click()
    t = r.player.now_ms()
    assert t > r.player.start_ms
    rows = r.window.commands.log.rows()
    assert rows and rows[0][0] == time_text(t, r.window.tz)  # the recorded time


def test_commands_are_refused_nothing_sent(qtbot: QtBot, replay: Replay) -> None:
    r = replay
    _settle(qtbot, r)
    switch = sorted(r.session.line.switch_by_id)[0]
    sent: list[object] = []
    r.window.commandSent.connect(lambda *a: sent.append(a))
    started: list[object] = []
    r.control.pipeline.started.connect(started.append)
    dialog = r.window.request_command(DeviceRef(DeviceKind.SWITCH, switch), CommandOp.THROW_REVERSE)
    assert dialog is None
    assert "replay: commands cannot be sent" in r.window.events.lines()[0]
    assert r.window.commands.desk_block() == "replay: commands cannot be sent"
    assert not sent and not started
    # the alarm list acknowledges nothing: no sender, an observer's desk
    assert r.alarms.acks is None


def test_search_double_click_moves_the_replay(qtbot: QtBot, replay: Replay) -> None:
    r = replay
    r.driver.seek(r.player.start_ms)
    dock = r.search
    dock.kinds["failover"].setChecked(True)
    hits = dock.run()
    assert hits and dock.table.rowCount() == len(hits)
    dock.table.cellDoubleClicked.emit(0, 0)
    assert r.player.now_ms() == hits[0].time_ms


def test_at_is_parsed_and_opens_there(demo_line: Line, blackbox: Path) -> None:
    ws = load_workstation(default_workstation_file())
    rec, at = open_from_args(ws, demo_line, str(blackbox), None)
    assert at is None and len(rec)
    from ui.clock import line_zone

    t = time_text(rec.time(len(rec) // 2), line_zone(demo_line.timezone))
    _rec2, at2 = open_from_args(ws, demo_line, str(blackbox), t)
    assert at2 is not None and time_text(at2, line_zone(demo_line.timezone)) == t
    assert parse_at("2026-12-07 8:05")[0] == "2026-12-07"
    with pytest.raises(ValueError):
        parse_at("yesterday")


def test_screenshot_zh_cn(
    qtbot: QtBot, qapp: QApplication, chinese: None, demo_line: Line, recording: Recording
) -> None:
    """The real window in Chinese at 1920×1080, at the failover (UPDATE_SCREENSHOTS=1:
    saved as docs/screenshots/replay-zh_CN.png)."""
    ws = load_workstation(default_workstation_file())
    r = open_replay(ws, demo_line, recording)
    qtbot.addWidget(r.window)
    r.window.resize(1920, 1080)
    r.window.show()
    r.driver.seek(r.player.start_ms)
    r.bar.next_failover.click()
    r.driver.step(1000)
    r.search.kinds["failover"].setChecked(True)
    r.search.kinds["command"].setChecked(True)
    r.search.run()
    r.window.bridge.flush()
    qtbot.wait(100)
    r.window.view.zoom_to_fit()
    qtbot.wait(100)
    pixmap = r.window.grab()
    assert pixmap.width() == 1920
    assert "回放" in r.banner.text()
    if os.environ.get("UPDATE_SCREENSHOTS"):
        assert pixmap.save(str(SCREENSHOTS / "replay-zh_CN.png"), "PNG")
    r.window.bridge.close()


def test_file_menu_replay_opens_a_replay_window_of_a_file(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    replay: Replay,
    demo_line: Line,
    blackbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The day is read in a worker thread (the live loop goes on); the window comes when
    it is read; closed, it is let go at once (out of ``opened``, its timer stopped)."""
    from PySide6.QtWidgets import QFileDialog

    from ui.replay import ReplayMenu

    (day,) = days(blackbox)
    (path,) = sorted((blackbox / day.isoformat()).glob("*.dhbx"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    threads: list[str] = []
    real = ui.replay.read_recording

    def read(source: Path, desk: str = "") -> Recording:
        threads.append(threading.current_thread().name)
        return real(source, desk)

    monkeypatch.setattr(ui.replay, "read_recording", read)
    ws = load_workstation(default_workstation_file())
    menu = ReplayMenu(replay.window, ws, demo_line)
    actions = [a.objectName() for a in replay.window.menu_bar.file_menu.actions()]
    assert "replayAction" in actions
    task = menu.start()
    assert task is not None
    qtbot.waitUntil(lambda: bool(menu.opened), timeout=10_000)
    (opened,) = menu.opened
    assert threads and threads[0] != threading.main_thread().name  # not the GUI thread
    assert task.done() and task.result() is opened
    assert opened.window.windowTitle().startswith("REPLAY")
    assert len(opened.player.recording) == len(replay.player.recording)
    opened.driver.play()
    assert opened.driver.timer.isActive()
    opened.window.close()
    assert menu.opened == [] and not opened.driver.timer.isActive()
    assert not opened.window.isVisible()
    qtbot.waitUntil(lambda: not menu._releasing, timeout=5000)


def test_file_menu_replay_of_a_bad_file_says_why(
    qtbot: QtBot, replay: Replay, demo_line: Line, tmp_path: Path
) -> None:
    from ui.replay import ReplayMenu

    bad = tmp_path / "nothing.dhclip"
    bad.write_bytes(b"not a recording")
    menu = ReplayMenu(replay.window, load_workstation(default_workstation_file()), demo_line)
    assert asyncio.run(menu.open_path(bad)) is None
    assert menu.opened == []
    assert "Replay not opened" in replay.window.status_bar.bar.currentMessage()


def test_a_damaged_recording_opens_up_to_the_damage_and_says_so(
    qtbot: QtBot, demo_line: Line, recording: Recording, tmp_path: Path
) -> None:
    (path,) = recording.paths
    torn = tmp_path / path.name
    torn.write_bytes(path.read_bytes()[:-7])  # the last record cut short: a kill mid-write
    rec = Recording.open([torn])
    assert len(rec) == len(recording) - 1 and rec.damage
    r = open_replay(load_workstation(default_workstation_file()), demo_line, rec)
    qtbot.addWidget(r.window)
    lines = r.window.events.lines()
    assert any("runs past the end" in line for line in lines), lines[:3]
    r.window.bridge.close()


def _alarm_lines(r: Replay, text: str) -> list[str]:
    return [line for line in r.window.events.lines() if text in line]


def test_a_seek_rebuilds_the_logs_an_active_alarm_told_once(
    qtbot: QtBot, replay: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stepping back three times with a local alarm active: the event log holds it once
    (the logs are told again from the moment of the jump, not appended to)."""
    from app.session import LocalAlarm

    r = replay
    alarm = LocalAlarm("replay_test_alarm", "Test alarm in force", True, r.player.start_ms)
    restore, reset = r.player._restore, r.player._reset

    def restore_with_alarm(kf_index: int, moves: Any) -> bool:
        # every keyframe of the moment holds the alarm (as one raised before it would)
        done = restore(kf_index, moves)
        r.player.local[alarm.code] = alarm
        return done

    def reset_with_alarm() -> None:
        reset()
        r.player.local[alarm.code] = alarm

    monkeypatch.setattr(r.player, "_restore", restore_with_alarm)
    monkeypatch.setattr(r.player, "_reset", reset_with_alarm)
    r.driver.seek(r.player.start_ms)
    r.bar.next_command.click()
    assert r.window.commands.log.rows()
    moment = r.player.end_ms - 1000
    r.driver.seek(moment)
    r.player.local[alarm.code] = alarm  # raised (as the recording would tell it)
    r.player.alarm.emit(alarm)
    _settle(qtbot, r)
    assert len(_alarm_lines(r, alarm.text)) == 1, r.window.events.lines()
    for _ in range(3):
        r.bar.back.click()
        _settle(qtbot, r)
    assert r.player.now_ms() == moment - 3000
    assert len(_alarm_lines(r, alarm.text)) == 1, r.window.events.lines()
    # the command log too: rebuilt from the jump (the command was before it: not told)
    assert r.window.commands.log.rows() == []
    assert r.window.commands.log._rows_by_key == {}


def test_open_replay_clamps_at_to_the_recording(
    qtbot: QtBot, demo_line: Line, recording: Recording
) -> None:
    ws = load_workstation(default_workstation_file())
    for at, expected in ((0, "start_ms"), (10**15, "end_ms")):
        r = open_replay(ws, demo_line, recording, at_ms=at)
        qtbot.addWidget(r.window)
        assert r.player.now_ms() == getattr(r.player, expected)
        r.window.bridge.close()


def test_the_end_of_the_recording_pauses_with_the_clock_at_the_end(
    qtbot: QtBot, replay: Replay
) -> None:
    r = replay
    now = [1000.0]
    r.player.clock.mono_s = lambda: now[0]
    r.driver.seek(r.player.end_ms - 2000)
    r.driver.play()
    now[0] += 10.0  # ten seconds on at 1x: past the end
    r.driver.tick()
    assert not r.driver.clock.playing and not r.driver.timer.isActive()
    assert r.player.now_ms() == r.player.end_ms
    assert r.driver.clock.now_ms() == r.player.end_ms  # not left behind the player


def test_the_jump_time_seeks_on_return_not_on_losing_focus(qtbot: QtBot, replay: Replay) -> None:
    from PySide6.QtCore import Qt, QTime
    from PySide6.QtTest import QTest

    r = replay
    r.driver.seek(r.player.start_ms)
    target = r.player.start_ms + 4000
    t = dt.datetime.fromtimestamp(target / 1000, r.window.tz)
    r.bar.jump_edit.setTime(QTime(t.hour, t.minute, t.second))
    r.bar.jump_edit.editingFinished.emit()  # the box merely left
    assert r.player.now_ms() == r.player.start_ms
    QTest.keyClick(r.bar.jump_edit, Qt.Key.Key_Return)
    assert r.player.now_ms() // 1000 == target // 1000


def test_search_range_spans_midnight(demo_line: Line) -> None:
    """A recording past midnight: the default range is the whole recording (each end on
    its own day), and a range set across midnight is that range."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from ui.replaysearch import ReplaySearchDock

    tz = ZoneInfo("Asia/Shanghai")
    start = dt.datetime(2026, 12, 7, 23, 50, 0, tzinfo=tz)
    end = dt.datetime(2026, 12, 8, 0, 20, 30, tzinfo=tz)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    player = SimpleNamespace(start_ms=start_ms, end_ms=end_ms, line=demo_line)
    driver: Any = SimpleNamespace(player=player)
    recording: Any = None  # run() alone reads it
    dock = ReplaySearchDock(recording, driver, tz)
    q = dock.query()
    assert q.start_ms == start_ms and q.end_ms == end_ms + 999
    dock.set_moment(dock.from_edit, start_ms + 5 * 60_000)  # 23:55
    dock.set_moment(dock.to_edit, end_ms - 10 * 60_000)  # 00:10:30 the next day
    q = dock.query()
    assert q.start_ms == start_ms + 5 * 60_000 and q.end_ms == end_ms - 10 * 60_000 + 999
    assert q.end_ms > q.start_ms
    dock.deleteLater()


def test_the_banner_names_the_desk_of_the_moment_shown(qtbot: QtBot, replay: Replay) -> None:
    """After a restart with another dispatcher the META in force names them: the banner
    reads the player's META each time, not the day's first one."""
    import msgspec

    r = replay
    assert r.player.meta is not None
    r.player.meta = msgspec.structs.replace(r.player.meta, node="WS-9", dispatcher="zhang.wei")
    r.driver.step(1000)
    assert "WS-9 · zhang.wei" in r.banner.text()
    r.player.meta = None
    r.driver.step(1000)
    assert r.session.node in r.banner.text()


def test_a_recording_of_another_line_version_says_so(
    qtbot: QtBot, demo_line: Line, recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Line, "digest", lambda self: "0123456789ab")
    r = open_replay(load_workstation(default_workstation_file()), demo_line, recording)
    qtbot.addWidget(r.window)
    assert r.player.meta is not None
    lines = [line for line in r.window.events.lines() if "another version of the line" in line]
    assert len(lines) == 1 and r.player.meta.digest in lines[0] and "0123456789ab" in lines[0]
    assert "another version of the line" in r.window.status_bar.bar.currentMessage()
    r.window.bridge.close()
