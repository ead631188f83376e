"""The session-to-Qt bridge coalesces a burst of state changes into one flush."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.model.state import Changes, TrainState
from app.model.topology import Direction
from ui.bridge import FRAME_MS, SessionBridge
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui


def test_a_burst_of_changes_is_flushed_once(qtbot: QtBot, fake_session: Any) -> None:
    bridge = SessionBridge(fake_session)
    got: list[Changes] = []
    bridge.stateChanged.connect(got.append)
    for i in range(20):  # e.g. twenty UDP train datagrams in one read
        fake_session.state_changed.emit(Changes(trains={i}))
    fake_session.state_changed.emit(Changes(sections={"DAB"}, trains_removed={3}))
    assert got == [], "nothing is emitted before the frame timer fires"
    qtbot.waitUntil(lambda: len(got) == 1, timeout=1000)
    qtbot.wait(4 * FRAME_MS)
    assert bridge.flushes == 1
    assert len(got) == 1
    merged = got[0]
    assert merged.trains == set(range(20)) - {3}
    assert merged.trains_removed == {3}
    assert merged.sections == {"DAB"}
    assert bridge.received == 21


def test_changes_after_a_flush_start_a_new_frame(qtbot: QtBot, fake_session: Any) -> None:
    bridge = SessionBridge(fake_session)
    got: list[Changes] = []
    bridge.stateChanged.connect(got.append)
    fake_session.state_changed.emit(Changes(trains={1}))
    qtbot.waitUntil(lambda: len(got) == 1, timeout=1000)
    fake_session.state_changed.emit(Changes(trains={2}))
    qtbot.waitUntil(lambda: len(got) == 2, timeout=1000)
    assert [c.trains for c in got] == [{1}, {2}]
    # empty changes never make a flush
    fake_session.state_changed.emit(Changes())
    qtbot.wait(4 * FRAME_MS)
    assert bridge.flushes == 2


def test_detach_stops_listening(qtbot: QtBot, fake_session: Any) -> None:
    bridge = SessionBridge(fake_session)
    got: list[Changes] = []
    bridge.stateChanged.connect(got.append)
    fake_session.state_changed.emit(Changes(trains={1}))
    bridge.close()
    fake_session.state_changed.emit(Changes(trains={2}))
    qtbot.wait(4 * FRAME_MS)
    assert got == []


def test_main_window_repaints_once_per_burst(
    qtbot: QtBot, fake_session: Any, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(window)
    fake_session.synchronise()
    qtbot.waitUntil(lambda: window.bridge.flushes == 1, timeout=1000)
    updates = window.scene.updates
    for i in range(20):
        rec = TrainState(i + 1, f"{i + 1:02d}01", "DAB", 10.0 * i, 50.0, Direction.DOWN)
        fake_session.state_changed.emit(fake_session.state.apply_train(rec))
    qtbot.waitUntil(lambda: window.bridge.flushes == 2, timeout=1000)
    qtbot.wait(4 * FRAME_MS)
    assert window.scene.updates == updates + 1
    assert len(window.scene.train_items) == 20
