"""Soak: the HMI core against the simulator pair at ten times normal traffic.

Normal traffic is 20 trains reported every 100 ms, with deltas each 100 ms
tick. The soak runs 40 trains on a 20 ms tick (2 x 5 = 10x the datagrams and
delta frames) with simulated time 10x faster, so routes, switches and
sections change ten times as often too. The HMI core (links, line state, no
Qt) runs in this process; its resident set size (``/proc/self/statm``) and
tracemalloc's traced memory are sampled every few seconds. After a warm-up,
a least-squares line through the samples gives the growth in MB per hour.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import tracemalloc
from typing import Any

from app.config import load_line
from app.paths import default_line_file
from app.session import DispatcherSession
from app.sim.launcher import SimulatorPair

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mx) * (v - my) for t, v in samples)
    return cov / var * 3600


async def _soak(pair: SimulatorPair, seconds: float, every: float) -> dict[str, Any]:
    line = load_line(default_line_file())
    session = DispatcherSession(
        line, pair.endpoints, node="SOAK", dispatcher="soak", role="dispatcher"
    )
    changes = 0

    def count(_: object) -> None:
        nonlocal changes
        changes += 1

    session.state_changed.connect(count)
    session.start()
    rss: list[tuple[float, float]] = []
    traced: list[tuple[float, float]] = []
    try:
        async with asyncio.timeout(30):
            await session.wait_synchronised()
        t0 = time.monotonic()
        while (now := time.monotonic() - t0) < seconds:
            await asyncio.sleep(every)
            rss.append((now, rss_mb()))
            traced.append((now, tracemalloc.get_traced_memory()[0] / 1e6))
        frames = sum(lk._conn.frames_received for lk in session.links)
        datagrams = sum(lk.datagrams for lk in session.links)
        gaps, failovers = session.gaps, session.failovers
    finally:
        await session.close()
    warm = [s for s in rss if s[0] >= seconds * 0.25]
    warm_traced = [s for s in traced if s[0] >= seconds * 0.25]
    return {
        "seconds": round(seconds, 1),
        "samples": len(rss),
        "rss_start_mb": round(rss[0][1], 2),
        "rss_end_mb": round(rss[-1][1], 2),
        "rss_growth_mb_per_hour": round(slope_per_hour(warm), 3),
        "traced_growth_mb_per_hour": round(slope_per_hour(warm_traced), 3),
        "frames": frames,
        "datagrams": datagrams,
        "state_changes": changes,
        "gaps": gaps,
        "failovers": failovers,
    }


def run(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--sample-s", type=float, default=5.0)
    args = p.parse_args(argv)
    seconds = args.minutes * 60
    tracemalloc.start(1)
    sim_args = ["--trains", "40", "--tick", "0.02", "--time-scale", "10", "--log-level", "WARNING"]
    with SimulatorPair(default_line_file(), sim_args) as pair:
        result = asyncio.run(_soak(pair, seconds, min(args.sample_s, seconds / 4)))
    tracemalloc.stop()
    print(
        f"soak {result['seconds']} s at 10x traffic: {result['frames']} frames, "
        f"{result['datagrams']} datagrams, {result['state_changes']} state changes"
    )
    print(
        f"  RSS {result['rss_start_mb']} -> {result['rss_end_mb']} MB; after warm-up "
        f"{result['rss_growth_mb_per_hour']} MB/h (target <= 1), traced "
        f"{result['traced_growth_mb_per_hour']} MB/h"
    )
    return result
