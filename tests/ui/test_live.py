"""The main window against a real simulator child process on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.comms.link import LinkState, LinkTimings
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.topology import Line
from app.session import DispatcherSession
from ui.mainwindow import MainWindow

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture
def live(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    run_async: Callable[..., Any],
    start_sim: Callable[..., SimulatorProcess],
    demo_line: Line,
    control_for: Callable[..., Any],
) -> Iterator[tuple[SimulatorProcess, DispatcherSession, MainWindow]]:
    sim = start_sim("--time-scale", "20", "--trains", "12")
    session = DispatcherSession(
        demo_line,
        sim.endpoints,
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
        timings=LinkTimings(heartbeat_s=0.5, reconnect_min_s=0.1, reconnect_max_s=0.5),
    )
    window = MainWindow(session, control_for(session, session))
    # pytest-qt closes and deletes its widgets before fixtures are torn down: the
    # window is shut down then, not after (its C++ side may be gone by then).
    qtbot.addWidget(window, before_close_func=lambda w: run_async(w.aclose()))
    window.resize(1600, 900)
    window.show()
    session.start()
    try:
        yield sim, session, window
    finally:
        run_async(session.aclose())


def test_a_train_marker_moves_to_a_new_section(
    qtbot: QtBot, live: tuple[SimulatorProcess, DispatcherSession, MainWindow]
) -> None:
    _, session, window = live
    qtbot.waitUntil(lambda: session.state.synchronised, timeout=15_000)
    qtbot.waitUntil(lambda: len(window.scene.train_items) > 0, timeout=5_000)
    label = window.status_bar.link_labels[session.links[0].name]
    qtbot.waitUntil(lambda: " up" in label.text(), timeout=5_000)
    assert "synchronised" in window.status_bar.sync_label.text()
    start = {tid: item.train.section for tid, item in window.scene.train_items.items()}

    def moved() -> int | None:
        for tid, item in window.scene.train_items.items():
            if tid in start and item.train.section != start[tid]:
                return tid
        return None

    qtbot.waitUntil(lambda: moved() is not None, timeout=30_000)
    tid = moved()
    assert tid is not None
    item = window.scene.train_items[tid]
    section = window.scene.section_items[item.train.section]
    # the marker sits on the drawn segment of the section it is now in
    pos = item.scenePos()
    assert any(_distance(pos, piece.line.p1(), piece.line.p2()) < 1e-6 for piece in section.pieces)
    assert item.train == session.state.trains[tid]


def test_status_bar_shows_the_link_going_down(
    qtbot: QtBot, live: tuple[SimulatorProcess, DispatcherSession, MainWindow]
) -> None:
    sim, session, window = live
    link = session.links[0]
    status = window.status_bar
    label = status.link_labels[link.name]
    qtbot.waitUntil(lambda: " up" in label.text(), timeout=15_000)
    assert "master" in label.toolTip()
    qtbot.waitUntil(lambda: "Master A" in status.master_label.text(), timeout=5_000)
    qtbot.waitUntil(lambda: "synchronised" in status.sync_label.text(), timeout=5_000)
    sim.stop()
    qtbot.waitUntil(lambda: " up" not in label.text(), timeout=10_000)
    assert link.state is not LinkState.UP
    qtbot.waitUntil(lambda: "Waiting for snapshot" in status.sync_label.text(), timeout=5_000)
    assert window.scene.banner.isVisible()
    log = window.events.lines()
    assert any("is down" in line for line in log)
    assert "No server reachable" in status.master_label.text()


def _distance(p: Any, a: Any, b: Any) -> float:
    ax, ay, bx, by, px, py = a.x(), a.y(), b.x(), b.y(), p.x(), p.y()
    dx, dy = bx - ax, by - ay
    n = dx * dx + dy * dy
    t = 0.0 if n == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / n))
    return float(((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5)
