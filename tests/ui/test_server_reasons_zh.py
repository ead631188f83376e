"""Server refusals by code (issue 18): what the real simulator refuses reaches a Chinese
screen in Chinese, worded by the form and parameters the COMMAND_RESULT carries; an
older server's English prose (no form) is still shown as it came."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.comms.link import LinkTimings
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.topology import Line
from app.session import DispatcherSession
from ui.dialogs import result_text
from ui.i18n import server_reason_text


@pytest.mark.integration
def test_what_the_real_server_refuses_is_told_in_chinese(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    run_async: Callable[..., Any],
    start_sim: Callable[..., SimulatorProcess],
    demo_line: Line,
    chinese: None,
) -> None:
    sim = start_sim("--trains", "0", "--legacy-commands")
    session = DispatcherSession(
        demo_line,
        sim.endpoints,
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
        timings=LinkTimings(heartbeat_s=0.5, reconnect_min_s=0.1, reconnect_max_s=0.5),
    )
    session.start()
    try:
        qtbot.waitUntil(lambda: session.master.can_command, timeout=15_000)
        route = demo_line.routes[0].id
        switch = demo_line.switches[0].id
        not_set = run_async(session.command(route, CommandOp.CANCEL_ROUTE))
        locked = run_async(session.command(switch, CommandOp.LOCK_SWITCH))
        again = run_async(session.command(switch, CommandOp.LOCK_SWITCH))
        throw = run_async(session.command(switch, CommandOp.THROW_REVERSE))
    finally:
        run_async(session.aclose())
    # on the wire: the code, the English (for old clients and the log), the form
    assert (not_set.outcome, not_set.reason_code) == (Outcome.REFUSED, "route_not_set")
    assert not_set.reason == f"route {route} is not set"
    assert (not_set.reason_form, not_set.reason_params) == ("route_not_set", {"route": route})
    assert server_reason_text(not_set) == f"进路 {route} 未排列"
    assert f"进路 {route} 未排列" in result_text(not_set)  # the status bar and event log
    assert "not set" not in result_text(not_set)
    assert locked.outcome is Outcome.EXECUTED and locked.reason == ""
    assert server_reason_text(again) == "道岔已单锁"  # a note on a no-op, in Chinese too
    assert (throw.reason_code, throw.reason_params["position"]) == ("switch_locked", "normal")
    assert server_reason_text(throw) == f"道岔 {switch} 已单锁在定位；请先解锁"


def test_an_old_servers_prose_is_shown_as_it_came(chinese: None) -> None:
    old = CommandResult(
        "c1", "W1", CommandOp.THROW_REVERSE, Outcome.REFUSED, "route_locked", "locked, old words"
    )
    assert server_reason_text(old) == "locked, old words"
    unknown_form = CommandResult(
        "c2", "W1", CommandOp.THROW_REVERSE, Outcome.REFUSED, "new_code", "newer words", "new"
    )
    assert server_reason_text(unknown_form) == "newer words"
    wrong_params = CommandResult(
        "c3", "R1", CommandOp.CANCEL_ROUTE, Outcome.REFUSED, "route_not_set", "x", "route_not_set"
    )
    assert server_reason_text(wrong_params) == "x"  # its parameters missing: the prose
    bare = CommandResult("c4", "R1", CommandOp.CANCEL_ROUTE, Outcome.REFUSED, "route_not_set")
    assert server_reason_text(bare) == "route_not_set"
