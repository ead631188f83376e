"""A failover as a dispatcher sees it: the real window (in Chinese) on a real simulator pair
with its alarm producer on a real broker; the master is killed (issue 18).

One failover alarm and, once the dead server stays away, "no redundancy" in the same
alarm list as the server's alarms, each a line in the event log with since-when, in
the window's language; the twelve alarms of the start are not raised again.
``SCREENSHOT_DIR=...`` keeps a picture of the window after the failover.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.alarms.consumer import FeedSettings
from app.alarms.service import AlarmService
from app.comms.link import LinkTimings
from app.counterparts.services import TansuProcess
from app.counterparts.sim.launcher import SimulatorPair
from app.model.topology import Line
from app.session import DispatcherSession
from app.session.health import HOLD_MS
from ui.mainwindow import MainWindow

pytestmark = [pytest.mark.ui, pytest.mark.integration]

TZ = "Asia/Shanghai"  # the demo line's
FLOOD = 12


def test_a_failover_is_told_in_the_list_and_the_log_in_chinese(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    run_async: Callable[..., Any],
    demo_line: Line,
    control_for: Callable[..., Any],
    broker_factory: Callable[[], TansuProcess],
    sim_pair: Callable[..., SimulatorPair],
    chinese: None,
    tmp_path: Path,
) -> None:
    broker = broker_factory()
    sims = sim_pair(
        "--trains",
        "6",
        "--kafka",
        broker.bootstrap,
        "--alarm-flood",
        str(FLOOD),
        "--alarm-rate",
        "0",
        "--alarm-snapshot-s",
        "1",
    )
    session = DispatcherSession(
        demo_line,
        sims.endpoints,
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
        timings=LinkTimings(heartbeat_s=0.5, reconnect_min_s=0.1, reconnect_max_s=0.5),
    )
    alarms = AlarmService(FeedSettings(broker.bootstrap, timezone=TZ))
    window = MainWindow(session, control_for(session, session), alarms=alarms)
    qtbot.addWidget(window, before_close_func=lambda w: run_async(w.aclose()))
    window.resize(1600, 900)
    window.show()
    session.start()
    alarms.start()
    try:
        qtbot.waitUntil(
            lambda: session.state.synchronised and len(alarms.list) == FLOOD, timeout=30_000
        )
        qtbot.wait(1000)  # the standby mirrors the alarms
        server_alarms = {r.alarm_id for r in alarms.list.active()}
        sims.procs["A"].proc.kill()  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: alarms.list.get("local:failover") is not None, timeout=10_000)
        qtbot.waitUntil(
            lambda: alarms.list.get("local:no_redundancy") is not None,
            timeout=HOLD_MS + 5_000,
        )
        qtbot.wait(1500)  # whatever the takeover would raise
        failover = alarms.list.get("local:failover")
        assert failover is not None
        told = "主备切换：主服务器 A → B（任期 2）：A 在所有网络上均失去联系"
        assert failover.event.text_zh == told
        lost = alarms.list.get("local:no_redundancy")
        assert lost is not None and lost.event.text_zh == "失去冗余：主服务器 B，备服务器 A 不可达"
        assert lost.event.raised_ms < lost.event.event_ms  # since the condition began
        rows = {r.alarm_id for r in alarms.list.active()}
        assert rows - server_alarms == {"local:failover", "local:no_redundancy"}  # no flood
        log = window.events.lines()
        assert sum("报警：主备切换：主服务器 A → B" in line for line in log) == 1
        assert any("报警：失去冗余" in line and "起）" in line for line in log)
        assert sum("主备切换完成：B 的线路状态已是最新" in line for line in log) == 1
        assert "主服务器 B（任期 2）" in window.status_bar.master_label.text()
        b1 = window.status_bar.link_labels[session.links[2].name]
        assert "角色 主，任期 2" in b1.toolTip()  # the role in words, not "master"
        folder = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(folder / "failover_zh.png"))
        window.events.raise_()  # the event log's tab, for the picture of what it says
        qtbot.wait(50)
        assert window.grab().save(str(folder / "failover_events_zh.png"))
    finally:
        run_async(alarms.aclose())
        run_async(session.aclose())


def test_every_local_alarm_with_values_is_worded_in_chinese(chinese: None) -> None:
    from app.session import LocalAlarm
    from ui.linkhealth import local_alarm_text

    def worded(code: str, **params: str) -> str:
        return local_alarm_text(LocalAlarm(code, "english", True, 1, tuple(params.items())))

    assert (
        worded("network_down:2", network="2", servers="A,B") == "网络 2 到所有服务器均中断（A, B）"
    )
    assert worded("master_unreachable", standby="B").startswith("主服务器不可达")
    assert worded("no_server", servers="A,B") == "所有服务器均不可达（A, B）"
    assert worded("dual_master", claimants="A:3,B:5", following="B") == (
        "双主：A（任期 3）, B（任期 5） 都自称主服务器；跟随 B"
    )
    cause = worded("failover", **{"from": "A", "to": "B", "epoch": "3", "cause": "superseded"})
    assert cause.endswith("B 的任期更高")
    integrity = worded("link_integrity", link="A@net1", failures="3", window_s="10", kind="late")
    assert integrity.startswith("链路完整性") and "english" not in integrity
    assert local_alarm_text(LocalAlarm("cab_fault:7", "words as given", True, 1)) == (
        "words as given"
    )
