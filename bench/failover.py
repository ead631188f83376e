"""Failover after kill -9 of the master, against the heartbeat timeout.

A real simulator pair on loopback (two servers, two networks each) and a real
HMI session. Each round kills the current master with SIGKILL and measures,
on the HMI, the time from the kill until its line state is synchronised again
from the other server acting as master. The killed server is restarted as
standby before the next round, so rounds alternate A and B.

The links are protected (a fresh link key for the pair and the session,
``docs/security.md``) unless ``--no-mac``: a failover includes new handshakes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import time
from typing import Any

from app.comms.link import LinkTimings
from app.config import load_line
from app.counterparts.sim.launcher import SimulatorPair, demo_link_keys
from app.paths import default_line_file
from app.protocol.security import LinkKeys, LinkPolicy
from app.session import DispatcherSession


async def _rounds(
    pair: SimulatorPair, rounds: int, timings: LinkTimings, keys: LinkKeys | None
) -> list[float]:
    line = load_line(default_line_file())
    session = DispatcherSession(
        line,
        pair.endpoints,
        node="BENCH",
        dispatcher="bench",
        role="dispatcher",
        timings=timings,
        policy=LinkPolicy(keys) if keys is not None else None,
    )
    session.start()
    times: list[float] = []

    def following(server: str) -> bool:
        m = session.master
        return m.server == server and m.role == "master" and session.state.synchronised

    try:
        async with asyncio.timeout(20):
            while not (following("A") and all(lk.is_up() for lk in session.links)):
                await asyncio.sleep(0.01)
        master, standby = "A", "B"
        for _ in range(rounds):
            await asyncio.sleep(1.0)  # steady state: replicas flowing
            t0 = time.monotonic()
            os.kill(pair.procs[master].pid, signal.SIGKILL)
            async with asyncio.timeout(30):
                while not following(standby):
                    await asyncio.sleep(0.002)
            times.append(time.monotonic() - t0)
            await asyncio.get_running_loop().run_in_executor(None, pair.restart, master)
            async with asyncio.timeout(20):
                while not all(lk.is_up() for lk in session.links):
                    await asyncio.sleep(0.01)
            master, standby = standby, master
    finally:
        await session.aclose()
    return times


def run(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench failover", description=__doc__)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--no-mac", action="store_true", help="unprotected links (no link key)")
    args = p.parse_args(argv)
    timings = LinkTimings()
    timeout_ms = timings.dead_after_s * 1000
    keys = None if args.no_mac else demo_link_keys()
    with SimulatorPair(default_line_file(), ["--time-scale", "5"], link_keys=keys) as pair:
        times = asyncio.run(_rounds(pair, args.rounds, timings, keys))
    ms = sorted(t * 1000 for t in times)
    median = statistics.median(ms)
    mac = "off" if keys is None else "on"
    print(
        f"failover after kill -9, {len(ms)} rounds, MAC {mac}: " + ", ".join(f"{m:.0f}" for m in ms)
    )
    print(f"  median {median:.0f} ms, worst {ms[-1]:.0f} ms; heartbeat timeout {timeout_ms:.0f} ms")
    print(f"  ratio median/timeout {median / timeout_ms:.2f} (target <= 1.2)")
    return {
        "failover_ms": round(median, 1),
        "failover_worst_ms": round(ms[-1], 1),
        "heartbeat_timeout_ms": timeout_ms,
        "failover_ratio": round(median / timeout_ms, 3),
        "failover_mac": keys is not None,
    }
