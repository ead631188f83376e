"""Who may command (authorise): the session's role and dispatcher decide, not the
command's; and a standby decides nothing (CommandDesk)."""

from __future__ import annotations

import asyncio

import pytest

from app.counterparts.sim.deciding import CommandDesk, authorise
from app.counterparts.sim.guard import LEGACY, CommandGuard
from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.world import ServiceSettings, World
from app.model.commands import Command, CommandOp, Outcome
from app.model.topology import Line
from app.protocol.messages import Hello


def cmd(role: str = "dispatcher", dispatcher: str = "d.li") -> Command:
    return Command("c1", "W0903", CommandOp.THROW_REVERSE, dispatcher, role, "", "k1")


def hello(role: str, dispatcher: str = "d.li") -> Hello:
    return Hello("WS-1", role, "L2", "x", dispatcher=dispatcher)


def refused(command: Command, session: Hello | None) -> str:
    with pytest.raises(Refused) as info:
        authorise(command, session)
    assert info.value.code == "not_authorised"
    return info.value.reason


def test_a_dispatcher_or_supervisor_session_may_command() -> None:
    authorise(cmd(), hello("dispatcher"))
    authorise(cmd("supervisor"), hello("supervisor"))
    authorise(cmd(), None)  # no session known (a unit test, a legacy path)
    authorise(cmd(dispatcher="anyone"), hello("dispatcher", dispatcher=""))


def test_the_session_decides_not_the_command() -> None:
    assert refused(cmd(), hello("observer")) == "a session with role 'observer' may not command"
    assert refused(cmd("supervisor"), hello("dispatcher")) == (
        "the command says role 'supervisor', its session is 'dispatcher'"
    )
    assert refused(cmd(dispatcher="d.wang"), hello("dispatcher")) == (
        "the command names dispatcher 'd.wang', its session is 'd.li'"
    )
    assert refused(cmd("observer"), None) == "role 'observer' may not command"


def test_a_standby_refuses_before_anything_else(demo_line: Line) -> None:
    role = ["standby"]
    desk = CommandDesk(
        World(demo_line, ServiceSettings(trains=0)),
        CommandGuard(LEGACY),
        Journal(None),
        node="B",
        role=lambda: role[0],
    )
    res = asyncio.run(desk.execute(cmd(), hello("observer")))
    assert (res.outcome, res.reason_code, res.reason) == (
        Outcome.REFUSED,
        "not_master",
        "server B is standby",
    )
    role[0] = "master"
    res = asyncio.run(desk.execute(cmd(), hello("dispatcher")))
    assert res.outcome is Outcome.EXECUTED
    asyncio.run(desk.aclose())
    asyncio.run(desk.aclose())
