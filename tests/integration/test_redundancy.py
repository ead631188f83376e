"""Fault tests: two servers on two networks, killed, paused, cut and doubled.

Every target is a loopback address; servers are real simulator processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.comms.link import LinkState, LinkTimings
from app.counterparts.sim.launcher import SimulatorPair, SimulatorProcess
from app.model.commands import CommandOp, Outcome
from app.model.state import Changes, SwitchPosition
from app.model.topology import Line
from app.session import DispatcherSession, Endpoint

pytestmark = pytest.mark.integration

# These sessions command without a lock service, so without a fencing token: the
# server is told to take such commands (docs/control.md, "Legacy clients").
LEGACY = ("--legacy-commands",)

HB = LinkTimings()  # 500 ms interval, 3 missed: a peer is dead after 1.5 s


def session_for(line: Line, endpoints: list[Endpoint]) -> DispatcherSession:
    return DispatcherSession(
        line, endpoints, node="WS-F", dispatcher="tester", role="dispatcher", timings=HB
    )


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for ``predicate``; returns the seconds it took."""
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"after {timeout} s: {what}")
    return time.monotonic() - t0


def cli_state(endpoint: Endpoint) -> dict[str, object]:
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "--server", f"{endpoint.host}:{endpoint.port}", "state"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    state: dict[str, object] = json.loads(res.stdout)
    return state


def following(session: DispatcherSession, server: str, role: str = "master") -> bool:
    m = session.master
    return m.server == server and m.role == role and session.state.synchronised


def test_all_four_links_up_and_state_from_the_master(
    demo_line: Line, sim_pair: Callable[..., SimulatorPair]
) -> None:
    pair = sim_pair("--time-scale", "10", *LEGACY)

    async def scenario() -> None:
        session = session_for(demo_line, pair.endpoints)
        session.start()
        try:
            await until(lambda: all(lk.is_up() for lk in session.links), 10, "all four links up")
            await until(lambda: following(session, "A"), 10, "following A")
            roles = {(lk.server, lk.peer_role) for lk in session.links}
            assert roles == {("A", "master"), ("B", "standby")}
            await until(lambda: all(lk.rtt_ms is not None for lk in session.links), 5, "RTTs")
            assert not session.alarms
        finally:
            await session.aclose()

    asyncio.run(scenario())


def test_kill_master_fails_over_within_the_bound_and_matches_the_survivor(
    demo_line: Line, sim_pair: Callable[..., SimulatorPair]
) -> None:
    pair = sim_pair("--trains", "0", *LEGACY)

    async def scenario() -> float:
        session = session_for(demo_line, pair.endpoints)
        session.start()
        try:
            await until(lambda: following(session, "A"), 10, "following A")
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert res.outcome is Outcome.EXECUTED
            await until(
                lambda: session.state.switches["W0903"].position is SwitchPosition.REVERSE,
                10,
                "W0903 reverse",
            )
            await asyncio.sleep(0.3)  # a few replicas reach B
            os.kill(pair.procs["A"].pid, signal.SIGKILL)
            took = await until(lambda: following(session, "B"), 10, "following B as master")
            assert session.state.switches["W0903"].position is SwitchPosition.REVERSE
            assert session.failovers >= 1
            res = await session.command("W0903", CommandOp.THROW_NORMAL)
            assert res.outcome is Outcome.EXECUTED, res
            await until(
                lambda: session.state.switches["W0903"].position is SwitchPosition.NORMAL,
                10,
                "W0903 back to normal on B",
            )
            ours = session.state.to_json()
        finally:
            await session.aclose()
        survivor = cli_state(pair.endpoints[2])
        for kind in ("sections", "switches", "signals", "routes"):
            strip = [{k: v for k, v in r.items() if k != "since_ms"} for r in ours[kind]]  # type: ignore[attr-defined]
            theirs = [{k: v for k, v in r.items() if k != "since_ms"} for r in survivor[kind]]  # type: ignore[attr-defined]
            assert strip == theirs, kind
        return took

    took = asyncio.run(scenario())
    # The standby promotes after the dead interval; then one tick and a snapshot.
    assert took < HB.dead_after_s * 1.2 + 0.7, f"failover took {took:.2f} s"


def test_paused_master_pending_command_fails_with_a_reason_then_old_master_steps_down(
    demo_line: Line, sim_pair: Callable[..., SimulatorPair]
) -> None:
    pair = sim_pair("--trains", "4", *LEGACY)

    async def scenario() -> None:
        session = DispatcherSession(
            demo_line,
            pair.endpoints,
            node="WS-P",
            dispatcher="t",
            role="dispatcher",
            timings=HB,
            command_timeout_s=8.0,
        )
        session.start()
        a = pair.procs["A"]
        try:
            await until(lambda: following(session, "A"), 10, "following A")
            os.kill(a.pid, signal.SIGSTOP)
            t0 = time.monotonic()
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            waited = time.monotonic() - t0
            # Sent, and the answer lost with the link: unknown, never "failed"/"not sent".
            assert res.outcome is Outcome.UNKNOWN
            assert res.reason_code == "link_down", res
            assert "heartbeat timeout" in res.reason or "failed" in res.reason
            assert waited < HB.dead_after_s + 1.0
            await until(lambda: following(session, "B"), 10, "B took over")
            os.kill(a.pid, signal.SIGCONT)
            # A wakes up, hears B's higher epoch and becomes standby.
            await until(
                lambda: (
                    {lk.peer_role for lk in session.links if lk.server == "A" and lk.is_up()}
                    == {"standby"}
                ),
                15,
                "A back as standby",
            )
            assert following(session, "B")
            assert "dual_master" not in session.alarms
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert res.outcome is Outcome.EXECUTED
        finally:
            if a.proc is not None:
                os.kill(a.pid, signal.SIGCONT)
            await session.aclose()

    asyncio.run(scenario())


def test_cutting_one_network_interrupts_nothing_and_both_fails_over_to_standby_state(
    demo_line: Line, sim_pair: Callable[..., SimulatorPair], relay_class: type[Any]
) -> None:
    pair = sim_pair("--time-scale", "10", *LEGACY)

    async def scenario() -> None:
        relays = [
            relay_class(ep, "127.0.0.1" if i % 2 == 0 else "127.0.0.2")
            for i, ep in enumerate(pair.endpoints)
        ]
        endpoints = [await r.start() for r in relays]
        a_net1, a_net2, b_net1, _b_net2 = relays
        session = session_for(demo_line, endpoints)
        full: list[Changes] = []
        session.state_changed.connect(lambda c: full.append(c) if c.full else None)
        session.start()
        try:
            await until(lambda: all(lk.is_up() for lk in session.links), 10, "links up")
            await until(lambda: following(session, "A"), 10, "following A")
            full.clear()
            seq0 = session.state.seq
            trains0 = {t.id: (t.section, t.offset_m) for t in session.state.trains.values()}
            a_net1.cut()
            b_net1.cut()
            await asyncio.sleep(HB.dead_after_s + 1.5)
            assert [lk.state for lk in session.links] != [LinkState.UP] * 4
            assert session.links[1].is_up() and session.links[3].is_up()
            assert full == [], "the state was interrupted by losing one network"
            assert following(session, "A")
            assert session.state.seq is not None and seq0 is not None
            assert session.state.seq > seq0
            moved = {t.id: (t.section, t.offset_m) for t in session.state.trains.values()}
            assert moved != trains0
            # Now A's second network too: A is alive but unreachable.
            a_net2.cut()
            await until(lambda: following(session, "B", "standby"), 10, "B's state shown")
            res = await session.command("W0903", CommandOp.THROW_REVERSE)
            assert (res.outcome, res.reason_code) == (Outcome.FAILED, "master_unreachable")
            a_net1.restore()
            await until(lambda: following(session, "A"), 15, "back on A")
        finally:
            await session.aclose()
            for r in relays:
                await r.close()

    asyncio.run(scenario())


def test_two_masters_follow_the_higher_epoch_and_raise_an_alarm(
    demo_line: Line, start_sim: Callable[..., SimulatorProcess]
) -> None:
    low = start_sim("--node", "A", "--epoch", "3", "--trains", "0", *LEGACY)
    high = start_sim("--node", "B", "--epoch", "5", "--trains", "0", *LEGACY)

    async def scenario() -> None:
        session = session_for(demo_line, low.endpoints + high.endpoints)
        alarms = []
        session.alarm.connect(alarms.append)
        session.start()
        try:
            await until(lambda: following(session, "B"), 10, "following B (epoch 5)")
            await until(lambda: "dual_master" in session.alarms, 5, "dual master alarm")
            assert "A (epoch 3)" in session.alarms["dual_master"].text
            high.stop()
            await until(lambda: following(session, "A"), 10, "following A after B left")
            assert "dual_master" not in session.alarms
            assert [a.active for a in alarms if a.code == "dual_master"] == [True, False]
            # following A again after B left is a failover, told with its cause
            told = [a for a in alarms if a.code == "failover" and a.active]
            assert told[-1].param("from") == "B" and told[-1].param("cause") == "master_lost"
        finally:
            await session.aclose()

    asyncio.run(scenario())
