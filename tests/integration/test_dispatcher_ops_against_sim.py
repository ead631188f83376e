"""Switch lock, signal close and train hold, sent by a session to a real simulator process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import CommandOp, Outcome, train_device
from app.model.state import Aspect
from app.model.topology import Line
from app.session import DispatcherSession
from tests.integration.journal import read_journal

pytestmark = pytest.mark.integration

# These sessions command without a lock service, so without a fencing token: the
# server is told to take such commands (docs/control.md, "Legacy clients").
LEGACY = ("--legacy-commands",)


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting: {what}") from None


def test_lock_close_and_hold_round_trip_through_the_simulator(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess], tmp_path: Path
) -> None:
    sim = start_sim("--trains", "2", "--dwell", "600", *LEGACY)

    async def scenario() -> None:
        session = DispatcherSession(
            demo_line, sim.endpoints, node="WS-T", dispatcher="tester", role="dispatcher"
        )
        session.start()
        state = session.state
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()

            # 单锁 / 单解
            res = await session.command("W0903", CommandOp.LOCK_SWITCH)
            assert (res.outcome, res.reason) == (Outcome.EXECUTED, ""), res
            await until(lambda: state.switches["W0903"].locked, 5, "W0903 shown locked")
            res = await session.command("W0903", CommandOp.LOCK_SWITCH)
            assert (res.outcome, res.reason) == (Outcome.EXECUTED, "switch already locked")
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "switch_locked"), res
            res = await session.command("W0903", CommandOp.UNLOCK_SWITCH)
            assert res.outcome is Outcome.EXECUTED, res
            await until(lambda: not state.switches["W0903"].locked, 5, "W0903 shown unlocked")

            # 封闭 / 解封
            res = await session.command("XPD05", CommandOp.CLOSE_SIGNAL)
            assert res.outcome is Outcome.EXECUTED, res
            await until(lambda: state.signals["XPD05"].closed, 5, "XPD05 shown closed")
            assert state.signals["XPD05"].aspect is Aspect.STOP
            res = await session.command("R_XPD05_XD0506a", CommandOp.SET_ROUTE)
            assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "signal_closed"), res
            assert "XPD05 is closed" in res.reason
            res = await session.command("XPD05", CommandOp.REOPEN_SIGNAL)
            assert res.outcome is Outcome.EXECUTED, res
            await until(lambda: not state.signals["XPD05"].closed, 5, "XPD05 shown open")
            res = await session.command("R_XPD05_XD0506a", CommandOp.SET_ROUTE)
            assert res.outcome is Outcome.EXECUTED, res

            # 扣车 / 放行
            train = state.trains[1]
            res = await session.command(train_device(1), CommandOp.HOLD_TRAIN)
            assert res.outcome is Outcome.EXECUTED, res
            await until(lambda: state.trains[1].held, 5, "train 1 shown held")
            # UDP status keeps arriving (10 a second) and must not wipe the hold out
            first = session._train_seq.get(1, 0)
            await until(
                lambda: session._train_seq.get(1, 0) > first + 5, 5, "train status datagrams"
            )
            assert state.trains[1].held and state.trains[1].section == train.section
            res = await session.command(train_device(1), CommandOp.RELEASE_TRAIN)
            assert res.outcome is Outcome.EXECUTED, res
            await until(lambda: not state.trains[1].held, 5, "train 1 shown released")
            res = await session.command(train_device(99), CommandOp.HOLD_TRAIN)
            assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "unknown_device"), res
        finally:
            await session.aclose()

    asyncio.run(scenario())
    journal = read_journal(tmp_path / "journal-0.jsonl")
    decisions = [(j["device"], j["op"], j["zone"], j["result"], j["reason_code"]) for j in journal]
    train_zone = demo_line.zone_of_section(
        next(p.section for p in demo_line.platforms if p.id == "P01D")
    )
    assert decisions == [
        ("W0903", "lock_switch", "Z3", "executed", ""),
        ("W0903", "lock_switch", "Z3", "executed", ""),
        ("W0903", "throw_reverse", "Z3", "refused", "switch_locked"),
        ("W0903", "unlock_switch", "Z3", "executed", ""),
        ("XPD05", "close_signal", "Z2", "executed", ""),
        ("R_XPD05_XD0506a", "set_route", "Z2", "refused", "signal_closed"),
        ("XPD05", "reopen_signal", "Z2", "executed", ""),
        ("R_XPD05_XD0506a", "set_route", "Z2", "executed", ""),
        ("train:1", "hold_train", train_zone, "executed", ""),
        ("train:1", "release_train", train_zone, "executed", ""),
        ("train:99", "hold_train", "", "refused", "unknown_device"),
    ]
