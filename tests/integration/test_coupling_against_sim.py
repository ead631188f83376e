"""Coupling and uncoupling (联挂解编) end to end against a real simulator process.

The session confirms every consist's state from the units' UDP reports; each
fault the simulator injects into those reports must show the way
docs/coupling.md says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import CommandOp, Outcome, train_device
from app.model.coupling import ConsistState, ConsistView
from app.model.state import CabRole, CouplingState
from app.model.topology import Line
from app.session import DispatcherSession, LocalAlarm

pytestmark = pytest.mark.integration

# These sessions command without a lock service, so without a fencing token: the
# server is told to take such commands (docs/control.md, "Legacy clients").
LEGACY = ("--legacy-commands",)

FRONT, REAR = 1, 3  # --trains 2 --pairs 1: unit 3 stands behind train 1


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting: {what}") from None


def consist(session: DispatcherSession, unit: int) -> ConsistView | None:
    return session.coupling.consist_of(unit)


def state_of(session: DispatcherSession, unit: int) -> ConsistState | None:
    view = consist(session, unit)
    return view.state if view is not None else None


def test_couple_faults_and_uncouple_through_the_simulator(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess]
) -> None:
    sim = start_sim("--trains", "2", "--pairs", "1", "--couple-s", "1", "--dwell", "600", *LEGACY)

    async def scenario() -> None:
        session = DispatcherSession(
            demo_line, sim.endpoints, node="WS-C", dispatcher="tester", role="dispatcher"
        )
        alarms: list[LocalAlarm] = []
        session.alarm.connect(alarms.append)
        session.start()
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()
            await until(
                lambda: (
                    state_of(session, FRONT) is ConsistState.UNCOUPLED
                    and state_of(session, REAR) is ConsistState.UNCOUPLED
                ),
                5,
                "both units confirmed uncoupled, each its own consist",
            )

            async def command(op: CommandOp, unit: int, arg: str = "") -> tuple[Outcome, str]:
                res = await session.command(train_device(unit), op, arg=arg)
                return res.outcome, res.reason_code or res.reason

            assert (await command(CommandOp.COUPLE_TRAIN, 2))[1] == "no_partner"
            assert await command(CommandOp.COUPLE_TRAIN, REAR) == (
                Outcome.EXECUTED,
                f"coupling with train:{FRONT}",
            )
            await until(
                lambda: (
                    state_of(session, FRONT) is ConsistState.COUPLED
                    and state_of(session, REAR) is ConsistState.COUPLED
                ),
                10,
                "the two units confirmed as one coupled consist",
            )
            view = consist(session, FRONT)
            assert view is not None and view.id == FRONT and view.confirmed
            assert [(u.unit, u.index, u.cab) for u in view.ordered_units()] == [
                (FRONT, 0, CabRole.MASTER),
                (REAR, 1, CabRole.SLAVE),
            ]
            assert consist(session, REAR) is view
            assert session.state.trains[REAR].coupling is CouplingState.COUPLED

            # flicker: the state alternates every cycle, so it is never confirmed
            assert (await command(CommandOp.INJECT_FAULT, FRONT, "flicker"))[0] is Outcome.EXECUTED
            await until(lambda: not view.confirmed, 5, "flicker shows as unconfirmed")
            for _ in range(15):
                await asyncio.sleep(0.1)
                assert view.state is ConsistState.COUPLED  # never the flickering value
            # disagreeing units: unconfirmed, the count reset on every cycle
            await command(CommandOp.INJECT_FAULT, FRONT, "disagree")
            await until(lambda: view.disagreeing, 5, "units disagree")
            disagreements = session.coupling.stats.disagreements
            await until(lambda: session.coupling.stats.disagreements > disagreements + 5, 5, "more")
            assert view.state is ConsistState.COUPLED
            # two masters (双主): the state and a local alarm
            await command(CommandOp.INJECT_FAULT, FRONT, "dual_master")
            await until(lambda: view.state is ConsistState.DUAL_MASTER, 5, "dual master")
            code = f"consist_dual_master:{FRONT}"
            assert code in session.alarms and "双主" in session.alarms[code].text
            # no master: that alarm instead
            await command(CommandOp.INJECT_FAULT, FRONT, "no_master")
            await until(lambda: view.state is ConsistState.NO_MASTER, 5, "no master")
            assert code not in session.alarms
            assert f"consist_no_master:{FRONT}" in session.alarms
            # lost reports: unknown (never the last state shown as fresh); the alarm stays
            await command(CommandOp.INJECT_FAULT, FRONT, "lost")
            await until(lambda: view.state is ConsistState.UNKNOWN, 5, "lost: unknown")
            assert f"consist_no_master:{FRONT}" in session.alarms
            # cleared: confirmed coupled again, the alarm cleared
            assert (await command(CommandOp.INJECT_FAULT, FRONT, "none"))[0] is Outcome.EXECUTED
            await until(lambda: view.state is ConsistState.COUPLED, 5, "coupled again")
            assert not [c for c in session.alarms if c.startswith("consist_")]
            assert [(a.code.split(":")[0], a.active) for a in alarms] == [
                ("consist_dual_master", True),
                ("consist_dual_master", False),
                ("consist_no_master", True),
                ("consist_no_master", False),
            ]

            # 解编
            assert (await command(CommandOp.UNCOUPLE_TRAIN, REAR))[0] is Outcome.EXECUTED
            await until(
                lambda: (
                    state_of(session, FRONT) is ConsistState.UNCOUPLED
                    and consist(session, REAR) is not view
                    and state_of(session, REAR) is ConsistState.UNCOUPLED
                ),
                10,
                "two lone units again",
            )
            assert (await command(CommandOp.UNCOUPLE_TRAIN, FRONT))[1] == "not_coupled"
            assert session.coupling.stats.skips == 0  # every step was seen in order
        finally:
            await session.aclose()

    asyncio.run(scenario())


def test_a_fault_injected_at_start_is_never_confirmed_as_healthy(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess]
) -> None:
    sim = start_sim("--trains", "1", "--pairs", "1", "--coupling-fault", "1=lost", *LEGACY)

    async def scenario() -> None:
        session = DispatcherSession(
            demo_line, sim.endpoints, node="WS-C", dispatcher="tester", role="dispatcher"
        )
        session.start()
        try:
            async with asyncio.timeout(10):
                await session.wait_synchronised()
            await until(
                lambda: state_of(session, 2) is ConsistState.UNCOUPLED, 5, "unit 2 confirmed"
            )
            await asyncio.sleep(0.5)
            assert consist(session, 1) is None  # unit 1 never reported: nothing shown for it
        finally:
            await session.aclose()

    asyncio.run(scenario())
