"""One clock (issue 18): every time on screen in the line's time zone, whatever the
machine's, and the Redis banner a sentence (a cause by code), not an exception's text.

The machine's zone is set to New York for these tests (``TZ`` and ``time.tzset``), the
demo line's is Shanghai: a time formatted in the machine's zone shows twelve or
thirteen hours off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytestqt.qtbot import QtBot

from app.comms.link import LinkTimings
from app.config import load_workstation
from app.counterparts.services import RedisProcess
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.refusal import Refusal, RefusalCode
from app.model.topology import Line
from app.paths import default_workstation_file
from app.session import DispatcherSession
from app.wiring import build_control
from ui import clock
from ui.i18n import refusal_text
from ui.mainwindow import MainWindow

LINE_TZ = ZoneInfo("Asia/Shanghai")
MOMENT_MS = 1_765_000_000_000  # 2025-12-06 05:46:40 UTC: 13:46:40 in Shanghai, 00:46:40 NY


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.fixture
def line_zone_shown() -> Iterator[None]:
    before = clock.shown_zone()
    clock.set_line_zone(LINE_TZ)
    try:
        yield
    finally:
        clock.set_line_zone(before)


def test_a_refusal_says_since_when_in_the_line_zone_and_why_in_words(
    new_york: None, chinese: None, line_zone_shown: None
) -> None:
    down = Refusal.of(RefusalCode.AUTHORITY_DOWN, since_ms=MOMENT_MS, cause="connection_refused")
    shown = refusal_text(down)
    assert "13:46:40" in shown and "00:46:40" not in shown
    assert "连接被拒绝" in shown and "connection_refused" not in shown
    assert shown.startswith("控制权服务不可用")
    # the English rendering for the log and the CLI: the machine's clock, the sentence
    assert str(down) == (
        "zone authority unavailable: Redis down since 00:46:40 (the connection was refused)"
    )


def test_the_event_log_and_the_alarm_times_follow_the_line_zone(new_york: None) -> None:
    assert clock.time_text(MOMENT_MS, LINE_TZ) == "13:46:40"
    assert dt.datetime.fromtimestamp(MOMENT_MS / 1000).strftime("%H:%M:%S") == "00:46:40"


@pytest.mark.ui
@pytest.mark.integration
def test_the_redis_banner_is_a_sentence_with_the_line_zone_time(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    run_async: Callable[..., Any],
    start_sim: Callable[..., SimulatorProcess],
    redis_factory: Callable[[], RedisProcess],
    demo_line: Line,
    tmp_path: Path,
    new_york: None,
    chinese: None,
) -> None:
    assert demo_line.timezone == "Asia/Shanghai"
    sim = start_sim("--trains", "0")
    redis = redis_factory()
    session = DispatcherSession(
        demo_line,
        sim.endpoints,
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
        timings=LinkTimings(heartbeat_s=0.5, reconnect_min_s=0.1, reconnect_max_s=0.5),
    )
    control = build_control(
        load_workstation(default_workstation_file()),
        session,
        redis_nodes=[redis.address],
        audit_log=str(tmp_path / "audit.jsonl"),
    )
    window = MainWindow(session, control)
    qtbot.addWidget(window, before_close_func=lambda w: run_async(w.aclose()))
    window.resize(1600, 900)
    window.show()
    session.start()
    control.start()
    try:
        qtbot.waitUntil(lambda: control.status().ok, timeout=15_000)
        redis.stop()
        banner = window.zones.banner
        qtbot.waitUntil(banner.isVisible, timeout=10_000)
        store = control.authority
        assert store is not None and store.down_since_ms is not None
        since = store.down_since_ms
        line_time = dt.datetime.fromtimestamp(since / 1000, LINE_TZ).strftime("%H:%M:%S")
        machine_time = time.strftime("%H:%M:%S", time.localtime(since / 1000))
        assert line_time != machine_time
        text = banner.text()
        assert line_time in text and machine_time not in text
        assert "Error" not in text and "ConnectionError" not in text
        assert "连接被拒绝" in text or "连接已断开" in text
        zones = window.zones.dock
        assert zones is not None  # the zone dock says it too, in Chinese, the line's time
        assert line_time in zones.status.text() and "控制权服务不可用" in zones.status.text()
        assert os.environ["TZ"] == "America/New_York"
        assert window.grab().save(
            str(Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "redis_down_zh.png")
        )
    finally:
        run_async(control.aclose())
        run_async(session.aclose())


def test_the_stale_alarm_list_says_why_in_words_not_the_brokers_text(
    qtbot: QtBot, run_async: Callable[..., Any], chinese: None
) -> None:
    from app.alarms.consumer import FeedCause, FeedSettings, FeedState, FeedStatus
    from app.alarms.service import AlarmService
    from ui.alarmlist import AlarmDock
    from ui.horn import Horn

    service = AlarmService(FeedSettings("127.0.0.1:1"), clock_ms=lambda: 61_000)
    dock = AlarmDock(service, horn=Horn(audible=False))
    qtbot.addWidget(dock)
    service.status = FeedStatus(
        FeedState.STALE,
        "alarms.20251206",
        0,
        0,
        0,
        1_000,
        reason="broker unreachable: KafkaError{code=_TRANSPORT,val=-195}",
        cause=FeedCause.BROKER_UNREACHABLE,
    )
    service.status_changed.emit(service.status)
    qtbot.waitUntil(lambda: dock.stale.isVisibleTo(dock), timeout=2_000)
    text = dock.stale.text()
    assert "60" in text and "无法连接报警代理" in text and "KafkaError" not in text
    run_async(dock.aclose())
