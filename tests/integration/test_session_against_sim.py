"""The HMI core against a real simulator process over loopback sockets."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import CommandOp, Outcome
from app.model.state import Changes, SwitchPosition
from app.model.topology import Line
from app.session import DispatcherSession, Endpoint
from tests.integration.journal import read_journal

pytestmark = pytest.mark.integration

# These sessions command without a lock service, so without a fencing token: the
# server is told to take such commands (docs/control.md, "Legacy clients").
LEGACY = ("--legacy-commands",)


def session_for(line: Line, sim: SimulatorProcess, role: str = "dispatcher") -> DispatcherSession:
    return DispatcherSession(line, sim.endpoints, node="WS-T", dispatcher="tester", role=role)


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)
    assert predicate(), what


def test_a_train_moves_from_one_section_to_the_next(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess]
) -> None:
    sim = start_sim("--time-scale", "20", "--dwell", "5", *LEGACY)

    async def scenario() -> None:
        session = session_for(demo_line, sim)
        session.start()
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()
            first = {t.id: t.section for t in session.state.trains.values()}
            assert len(first) == 20
            await until(
                lambda: any(session.state.trains[i].section != s for i, s in first.items()),
                30,
                "no train changed section",
            )
            moved = [t for t in session.state.trains.values() if t.section != first[t.id]]
            train = moved[0]
            # The new section joins the old one: a train moves along the track, never jumps.
            assert train.section in demo_line.neighbours(first[train.id])
        finally:
            await session.aclose()

    asyncio.run(scenario())


def test_switch_throw_executed_and_refused_with_reason(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess], tmp_path: Path
) -> None:
    sim = start_sim("--trains", "0", *LEGACY)

    async def scenario() -> None:
        session = session_for(demo_line, sim)
        session.start()
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert res.outcome is Outcome.EXECUTED, res
            await until(
                lambda: session.state.switches["W0903"].position is SwitchPosition.REVERSE,
                10,
                "switch never reported reverse",
            )
            res = await session.command("R_SPD09_SDT09A", CommandOp.SET_ROUTE)
            assert res.outcome is Outcome.EXECUTED, res
            await until(lambda: "R_SPD09_SDT09A" in session.state.routes, 5, "route not shown")
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert res.outcome is Outcome.REFUSED
            assert res.reason_code == "route_locked"
            assert "locked in route R_SPD09_SDT09A" in res.reason
        finally:
            await session.aclose()

    asyncio.run(scenario())
    journal = read_journal(tmp_path / "journal-0.jsonl")
    assert [(j["device"], j["op"], j["result"]) for j in journal] == [
        ("W0903", "throw_reverse", "executed"),
        ("R_SPD09_SDT09A", "set_route", "executed"),
        ("W0903", "throw_reverse", "refused"),
    ]


def test_observer_is_refused_before_sending(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess], tmp_path: Path
) -> None:
    sim = start_sim("--trains", "0", *LEGACY)

    async def scenario() -> None:
        session = session_for(demo_line, sim, role="observer")
        session.start()
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "not_authorised")
        finally:
            await session.aclose()

    asyncio.run(scenario())
    assert (tmp_path / "journal-0.jsonl").read_text() == ""


def test_no_link_means_a_failed_outcome_not_a_hang(demo_line: Line) -> None:
    async def scenario() -> None:
        session = DispatcherSession(
            demo_line, [Endpoint("A", "127.0.0.1", 1)], node="x", dispatcher="d", role="dispatcher"
        )
        session.start()
        try:
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert (res.outcome, res.reason_code) == (Outcome.FAILED, "no_link")
        finally:
            await session.aclose()

    asyncio.run(scenario())


def test_killed_server_marks_the_state_stale_at_once(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess]
) -> None:
    sim = start_sim("--trains", "4", *LEGACY)

    async def scenario() -> None:
        session = session_for(demo_line, sim)
        seen: list[Changes] = []
        session.state_changed.connect(seen.append)
        session.start()
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()
            seen.clear()
            os.kill(sim.pid, signal.SIGKILL)
            await until(lambda: not session.state.synchronised, 5, "state still claims to be live")
            assert any(c.full for c in seen), "views were not told"
            assert session.master.server is None and session.command_link() is None
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert (res.outcome, res.reason_code) == (Outcome.FAILED, "no_link")
        finally:
            await session.aclose()

    asyncio.run(scenario())
