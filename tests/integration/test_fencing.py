"""The server refuses a repeated intent and a stale fencing token, even across a failover."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from app.counterparts.sim.launcher import SimulatorPair, SimulatorProcess
from app.model.commands import CommandOp, Outcome
from app.model.topology import Line
from app.session import DispatcherSession
from tests.integration.journal import read_journal

pytestmark = pytest.mark.integration


def journal(path: Path) -> list[dict[str, object]]:
    return read_journal(path)


async def synced(session: DispatcherSession, server: str = "A") -> None:
    async with asyncio.timeout(15):
        while not (
            session.master.server == server
            and session.master.can_command
            and session.state.synchronised
        ):
            await asyncio.sleep(0.01)


def test_same_key_twice_executes_once(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess], tmp_path: Path
) -> None:
    sim = start_sim("--trains", "0")

    async def scenario() -> None:
        s = DispatcherSession(demo_line, sim.endpoints, node="W", dispatcher="d", role="dispatcher")
        s.start()
        try:
            await synced(s)
            first = await s.command(
                "W0903", CommandOp.THROW_REVERSE, idempotency_key="intent-1", fencing_token=4
            )
            again = await s.command(
                "W0903", CommandOp.THROW_REVERSE, idempotency_key="intent-1", fencing_token=4
            )
            assert first.outcome is again.outcome is Outcome.EXECUTED
            assert first.command_id != again.command_id
        finally:
            await s.aclose()

    asyncio.run(scenario())
    entries = journal(tmp_path / "journal-0.jsonl")
    assert [(e["idempotency_key"], e["result"], e["repeat"]) for e in entries] == [
        ("intent-1", "executed", False),
        ("intent-1", "executed", True),
    ]


def test_stale_fencing_token_is_refused(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess]
) -> None:
    sim = start_sim("--trains", "0")  # strict: key and token required

    async def scenario() -> None:
        s = DispatcherSession(demo_line, sim.endpoints, node="W", dispatcher="d", role="dispatcher")
        s.start()
        try:
            await synced(s)
            res = await s.command("W0903", CommandOp.THROW_REVERSE)
            assert res.reason_code == "no_token"
            res = await s.command("W0903", CommandOp.THROW_REVERSE, fencing_token=12)
            assert res.outcome is Outcome.EXECUTED
            # A client whose lock expired while it was paused comes back with token 11.
            res = await s.command("W0903", CommandOp.THROW_NORMAL, fencing_token=11)
            assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "stale_token")
        finally:
            await s.aclose()

    asyncio.run(scenario())


def test_a_retry_after_failover_is_not_executed_again(
    demo_line: Line, sim_pair: Callable[..., SimulatorPair], tmp_path: Path
) -> None:
    pair = sim_pair("--trains", "0")

    async def scenario() -> None:
        s = DispatcherSession(
            demo_line, pair.endpoints, node="W", dispatcher="d", role="dispatcher"
        )
        s.start()
        try:
            await synced(s, "A")
            res = await s.command(
                "W0903", CommandOp.THROW_REVERSE, idempotency_key="k-fo", fencing_token=3
            )
            assert res.outcome is Outcome.EXECUTED
            await asyncio.sleep(0.3)  # replicas carry the key to B
            os.kill(pair.procs["A"].pid, signal.SIGKILL)
            await synced(s, "B")
            retry = await s.command(
                "W0903", CommandOp.THROW_REVERSE, idempotency_key="k-fo", fencing_token=3
            )
            assert retry.outcome is Outcome.EXECUTED
            stale = await s.command("W0903", CommandOp.THROW_NORMAL, fencing_token=2)
            assert stale.reason_code == "stale_token"
        finally:
            await s.aclose()

    asyncio.run(scenario())
    on_b = journal(tmp_path / "journal-B.jsonl")
    assert (on_b[0]["idempotency_key"], on_b[0]["repeat"]) == ("k-fo", True)
    executed = [
        e
        for name in ("journal-A.jsonl", "journal-B.jsonl")
        for e in journal(tmp_path / name)
        if e["idempotency_key"] == "k-fo" and not e["repeat"]
    ]
    assert len(executed) == 1
