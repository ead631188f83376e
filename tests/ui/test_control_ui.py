"""Zone control in the window, against a real simulator, real Redis and other processes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.comms.link import LinkTimings
from app.config import load_workstation
from app.control.redlock import Redlock, clients_for, close_clients
from app.counterparts.services import RedisProcess
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import CommandOp
from app.model.devices import DeviceRef
from app.model.topology import Line
from app.paths import default_workstation_file
from app.session import DispatcherSession
from app.wiring import build_control
from ui import style
from ui.mainwindow import MainWindow
from ui.zones import ZoneKind

pytestmark = [pytest.mark.ui, pytest.mark.integration]

ME = "tester@WS-T"


@dataclasses.dataclass
class Desk:
    sim: SimulatorProcess
    redis: RedisProcess
    session: DispatcherSession
    window: MainWindow
    journal: Path


def cli(tmp_path: Path, redis: RedisProcess, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--redis", redis.address, "zones", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, DISPATCHER_DATA=str(tmp_path / "data")),
    )


@pytest.fixture
def desk(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    run_async: Callable[..., Any],
    start_sim: Callable[..., SimulatorProcess],
    redis_factory: Callable[[], RedisProcess],
    demo_line: Line,
    tmp_path: Path,
) -> Iterator[Desk]:
    sim = start_sim("--trains", "0")
    redis = redis_factory()
    ws = load_workstation(default_workstation_file())
    session = DispatcherSession(
        demo_line,
        sim.endpoints,
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
        timings=LinkTimings(heartbeat_s=0.5, reconnect_min_s=0.1, reconnect_max_s=0.5),
    )
    control = build_control(
        ws, session, redis_nodes=[redis.address], audit_log=str(tmp_path / "audit.jsonl")
    )
    window = MainWindow(session, control)
    # pytest-qt closes and deletes its widgets before fixtures are torn down: the
    # window is shut down then, not after (its C++ side may be gone by then).
    qtbot.addWidget(window, before_close_func=lambda w: run_async(w.aclose()))
    window.resize(1600, 900)
    window.show()
    session.start()
    control.start()
    try:
        qtbot.waitUntil(lambda: session.master.can_command, timeout=15_000)
        qtbot.waitUntil(lambda: control.status().ok, timeout=5_000)
        yield Desk(sim, redis, session, window, tmp_path / "journal-0.jsonl")
    finally:
        run_async(control.aclose())
        run_async(session.aclose())


def bracket(window: MainWindow, zone: str) -> Any:
    return window.scene.zone_items[zone][0]


def test_zone_outline_follows_transfers_made_by_other_processes(
    qtbot: QtBot, desk: Desk, tmp_path: Path
) -> None:
    w = desk.window
    qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.FREE, timeout=5_000)
    assert "free" in bracket(w, "Z1").text
    # bob takes Z1 on his desk and stays logged in (his presence keeps the zone his).
    bob = cli(
        tmp_path,
        desk.redis,
        *("--as", "bob", "--workstation", "WS-B"),
        "--take",
        "Z1",
        "--hold",
        "30",
    )
    try:
        qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.OTHER, timeout=5_000)
        assert "bob@WS-B" in bracket(w, "Z1").text
        dock = w.zones.dock
        assert dock is not None
        row = dock.rows["Z1"]
        assert dock.table.item(row, 1).text() == "bob@WS-B"
        # The menu says why, with the actions disabled ...
        menu = w.menus.switch_menu("W0101")
        assert not any(a.isEnabled() for a in menu.actions() if a.objectName().startswith("throw"))
        assert any("held by bob@WS-B" in a.text() for a in menu.actions())
        # ... and commanding Z1 is refused here before any dialog opens.
        assert w.request_command(DeviceRef("switch", "W0101"), CommandOp.THROW_REVERSE) is None
        assert "held by bob@WS-B" in w.statusBar().currentMessage()
        # A supervisor elsewhere forces the zone to this desk.
        sup = cli(
            tmp_path,
            desk.redis,
            *("--as", "sup", "--workstation", "WS-S", "--role", "supervisor"),
            *("--force", "Z1", ME),
        )
        _, err = sup.communicate(timeout=30)
        assert sup.returncode == 0, err
        qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.MINE, timeout=5_000)
        assert dock.table.item(row, 1).text() == ME
        qtbot.waitUntil(dock.release_button.isEnabled, timeout=2_000)
    finally:
        if bob.poll() is None:
            bob.kill()
        bob.communicate(timeout=10)


def test_a_request_for_my_zone_is_told_and_shown_where_it_is_seen(
    qtbot: QtBot, desk: Desk, run_async: Callable[..., Any], tmp_path: Path
) -> None:
    """Another dispatcher asks for a zone this desk holds: the bracket on the
    schematic says who, in the attention colour; the event log and the status
    bar say it once; the dock's Requests column, next to the holder, shows it."""
    w = desk.window
    dock = w.zones.dock
    assert w.control.authority is not None and dock is not None
    run_async(w.control.authority.take("Z1"))
    qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.MINE, timeout=5_000)
    assert not bracket(w, "Z1").look.requested
    bob = cli(
        tmp_path,
        desk.redis,
        *("--as", "bob", "--workstation", "WS-B"),
        "--request",
        "Z1",
        "--hold",
        "30",
    )
    try:
        qtbot.waitUntil(lambda: bracket(w, "Z1").look.requested, timeout=5_000)
        look = bracket(w, "Z1").look
        assert look.kind is ZoneKind.MINE and "asked for by bob@WS-B" in look.caption
        row = dock.rows["Z1"]
        assert dock.table.item(row, 2).text() == "bob@WS-B"
        assert dock.table.item(row, 0).foreground().color() == style.ATTENTION
        told = [line for line in w.events.lines() if "asks for zone Z1" in line]
        assert len(told) == 1 and "bob@WS-B" in told[0]
        assert "bob@WS-B asks for zone Z1" in w.statusBar().currentMessage()
        qtbot.waitUntil(dock.grant_button.isEnabled, timeout=2_000)
        # Granting (confirmed) ends it: the zone is bob's, nothing is asked for any more.
        dock.select_zone("Z1")
        dock.confirm = lambda _title, _question: True
        dock.grant_button.click()
        qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.OTHER, timeout=5_000)
        assert not bracket(w, "Z1").look.requested
    finally:
        if bob.poll() is None:
            bob.kill()
        bob.communicate(timeout=10)


def test_being_executed_by_another_dispatcher_sends_nothing(
    qtbot: QtBot, desk: Desk, run_async: Callable[..., Any]
) -> None:
    w = desk.window
    assert w.control.authority is not None
    run_async(w.control.authority.take("Z1"))
    qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.MINE, timeout=5_000)

    clients = clients_for([desk.redis.address])
    other = Redlock(clients, ttl_ms=30_000)
    grant = run_async(other.acquire("device:W0101", "bob@WS-B"))
    try:
        dialog = w.request_command(DeviceRef("switch", "W0101"), CommandOp.THROW_REVERSE)
        assert dialog is not None
        assert dialog.request.device.id == "W0101" and "Z1" in dialog.request.zone
        qtbot.waitUntil(dialog.isVisible)
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
        log = w.commands.log
        qtbot.waitUntil(lambda: bool(log.rows()) and "…" not in log.rows()[0][5], timeout=5_000)
        row = log.rows()[0]
        assert row[2] == "W0101" and row[4] == "Z1"
        assert "refused" in row[5] and row[6] == "being executed by bob@WS-B"
        assert "being executed by bob@WS-B" in w.statusBar().currentMessage()
    finally:
        run_async(other.release(grant))
        run_async(other.aclose())
        run_async(close_clients(clients))
    # Nothing reached the server.
    assert not desk.journal.exists() or desk.journal.read_text() == ""

    # The lock is free now: the same command goes out and is executed, with a token.
    dialog = w.request_command(DeviceRef("switch", "W0101"), CommandOp.THROW_REVERSE)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "executed" in log.rows()[0][5], timeout=5_000)
    [entry] = [json.loads(x) for x in desk.journal.read_text().splitlines()]
    assert (entry["dispatcher"], entry["result"]) == ("tester", "executed")
    assert entry["fencing_token"] == int(log.rows()[0][7]) > 0


def test_redis_down_is_unmistakable_and_commands_are_refused(
    qtbot: QtBot, desk: Desk, tmp_path: Path
) -> None:
    w = desk.window
    banner, label = w.zones.banner, w.status_bar.control_label
    assert not banner.isVisible()
    assert "Redis up" in label.text()
    desk.redis.stop()
    qtbot.waitUntil(banner.isVisible, timeout=10_000)
    assert "every command is refused" in banner.text()
    assert "REDIS DOWN" in label.text()
    qtbot.waitUntil(lambda: bracket(w, "Z1").look.kind is ZoneKind.UNKNOWN, timeout=5_000)
    menu = w.menus.switch_menu("W0101")
    actions = {a.objectName(): a for a in menu.actions()}
    assert not actions["throw_reverse"].isEnabled()
    assert any("Redis down" in a.text() for a in menu.actions())
    assert w.request_command(DeviceRef("switch", "W0101"), CommandOp.THROW_REVERSE) is None
    path = tmp_path / "redis-down.png"
    assert w.grab().save(str(path))


def test_every_item_model_of_the_full_window_passes_qt_checks(
    desk: Desk, qtmodeltester: Any
) -> None:
    """Zone control, command log, coupling, link health, event log, alarms: Qt's model checks."""
    from PySide6.QtWidgets import QAbstractItemView

    views = desk.window.findChildren(QAbstractItemView)
    models = {id(v.model()): v.model() for v in views if v.model() is not None}
    names = {v.objectName() for v in views}
    assert {"linkTable"} <= names
    assert desk.window.zones.dock is not None and desk.window.commands.log is not None
    for model in models.values():
        qtmodeltester.check(model)
