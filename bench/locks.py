"""Device locks: our Redlock against redis-py's lock, one node and three, and contention.

``python -m bench locks [--quick] [--rounds N] [--workers W] [--resources R] [--per-worker K]``

Starts its own redis-server processes (three, on free loopback ports) and runs
everything in this one process.

Latency (one acquire + release, p50 over ``--rounds``)
    ours over one node (``Redlock``, N = 1) against redis-py's
    ``redis.asyncio.lock.Lock`` on the same server, and ours over the three
    servers (N = 3, quorum 2). Each round runs the three variants once, in a
    random order, so they share the machine's noise; a warm-up comes first.
    Every variant has its own client from ``clients_for`` (the same settings) and
    its own keys (so fence counters of one variant never lag behind another's).
    ``lock_ratio`` is ours / redis-py (target <= 1.1, we also take a fencing
    token); ``redlock3_ratio_vs_single`` is N = 3 / N = 1 (target <= 1.5: the
    nodes are asked in parallel, not one after the other).

Contention
    ``--workers`` asyncio tasks, each a workstation with its own clients and
    ``Redlock`` over the three servers, take random locks among ``--resources``
    until each has had ``--per-worker`` grants; a busy lock is tried again after
    a short random pause. A shared in-memory table of who is inside each
    critical section counts ``duplicates`` (two holders at once: must be 0), and
    ``fencing_regressions`` counts grants whose fencing token is not above the
    previous holder's of that resource (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock

from app.control.redlock import LockBusy, LockUnavailable, Redlock, clients_for, close_clients
from app.counterparts.services import RedisProcess


@dataclass(frozen=True, slots=True)
class Options:
    rounds: int
    warmup: int
    workers: int
    resources: int
    per_worker: int
    quick: bool


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench locks", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run (< 15 s)")
    p.add_argument("--rounds", type=int, help="acquire+release rounds per variant (5000)")
    p.add_argument("--workers", type=int, default=8, help="contending workstations (8)")
    p.add_argument("--resources", type=int, default=5, help="locks they contend for (5)")
    p.add_argument("--per-worker", type=int, help="grants each worker takes (250)")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    rounds = a.rounds or (600 if quick else 5000)
    return Options(
        rounds=rounds,
        warmup=max(50, rounds // 10),
        workers=a.workers,
        resources=a.resources,
        per_worker=a.per_worker or (40 if quick else 250),
        quick=quick,
    )


# -- latency -------------------------------------------------------------------------


async def latency(addresses: list[str], opts: Options) -> dict[str, list[float]]:
    single = clients_for(addresses[:1])
    triple = clients_for(addresses)
    baseline = clients_for(addresses[:1])
    ours1 = Redlock(single, prefix="bench1")
    ours3 = Redlock(triple, prefix="bench3")
    theirs = Lock(baseline[0], "bench:redis-py", timeout=5.0)

    async def ours_single() -> None:
        await ours1.release(await ours1.acquire("device:B1", "bench@ws1"))

    async def ours_triple() -> None:
        await ours3.release(await ours3.acquire("device:B1", "bench@ws1"))

    async def redis_py() -> None:
        if not await theirs.acquire(blocking=False):
            raise RuntimeError("redis-py lock not acquired (nobody else holds it)")
        await theirs.release()

    variants = {"ours1": ours_single, "redis_py": redis_py, "ours3": ours_triple}
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants.items())
    try:
        for i in range(opts.warmup + opts.rounds):
            random.shuffle(order)
            for name, op in order:
                t0 = time.perf_counter()
                await op()
                elapsed = time.perf_counter() - t0
                if i >= opts.warmup:
                    times[name].append(elapsed * 1000.0)
    finally:
        await ours1.aclose()
        await ours3.aclose()
        await close_clients(single + triple + baseline)
    return times


# -- contention ----------------------------------------------------------------------


@dataclass(slots=True)
class Contention:
    duplicates: int = 0
    fencing_regressions: int = 0
    acquired: int = 0
    busy: int = 0
    unavailable: int = 0
    seconds: float = 0.0


async def contention(addresses: list[str], opts: Options) -> Contention:
    stats = Contention()
    inside: dict[str, str | None] = {}
    last_fence: dict[str, int] = {}
    resources = [f"device:C{n}" for n in range(opts.resources)]

    async def worker(n: int) -> None:
        clients = clients_for(addresses)
        lock = Redlock(clients, prefix="benchc", retry_delay_ms=(1, 5))
        try:
            done = 0
            while done < opts.per_worker:
                resource = random.choice(resources)
                try:
                    grant = await lock.acquire(resource, f"w{n}@bench")
                except LockBusy:
                    stats.busy += 1
                    await asyncio.sleep(random.uniform(0, 0.001))
                    continue
                except LockUnavailable:
                    stats.unavailable += 1
                    await asyncio.sleep(0.01)
                    continue
                if inside.get(resource) is not None:
                    stats.duplicates += 1
                inside[resource] = grant.holder
                if grant.fencing_token <= last_fence.get(resource, 0):
                    stats.fencing_regressions += 1
                last_fence[resource] = grant.fencing_token
                await asyncio.sleep(0)  # the others run while we are inside
                if random.random() < 0.2:
                    await asyncio.sleep(0.0005)
                inside[resource] = None
                await lock.release(grant)
                stats.acquired += 1
                done += 1
        finally:
            await lock.aclose()
            await close_clients(clients)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(opts.workers)))
    stats.seconds = time.perf_counter() - t0
    return stats


# -- the run -------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def table(res: dict[str, Any]) -> str:
    rows = [
        ("", "ours", "baseline", "ratio", "target"),
        (
            "acquire+release p50, 1 node (ms)",
            f"{res['lock_p50_ms']:.3f}",
            f"{res['redis_py_lock_p50_ms']:.3f} redis-py",
            f"{res['lock_ratio']:.2f}",
            "<= 1.1",
        ),
        (
            "acquire+release p50, 3 nodes (ms)",
            f"{res['redlock3_p50_ms']:.3f}",
            f"{res['lock_p50_ms']:.3f} ours, 1 node",
            f"{res['redlock3_ratio_vs_single']:.2f}",
            "<= 1.5",
        ),
        (
            "acquire+release p99 (ms)",
            f"{res['lock_p99_ms']:.3f} / {res['redlock3_p99_ms']:.3f} (3)",
            f"{res['redis_py_lock_p99_ms']:.3f}",
            "",
            "",
        ),
        (
            f"contention {res['contention_workers']} workers x {res['contention_resources']}"
            " locks, 3 nodes",
            f"{res['contention_acquired']} grants, {res['contention_busy']} busy",
            f"{res['contention_grants_per_s']:.0f} grants/s",
            "",
            "",
        ),
        ("  two holders at once (duplicates)", str(res["duplicates"]), "", "", "= 0"),
        ("  fencing token not increasing", str(res["fencing_regressions"]), "", "", "= 0"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def run(argv: list[str]) -> dict[str, Any]:
    """The ``locks`` benchmark: prints the table, returns the figures (see the module doc)."""
    opts = parse_args(argv)
    if shutil.which("redis-server") is None:
        raise SystemExit(
            "bench locks: redis-server is not installed; this benchmark starts its own"
            " (python3 installer/bootstrap.py test installs it)"
        )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-locks-") as tmp:
        servers: list[RedisProcess] = []
        try:
            for n in range(3):
                servers.append(RedisProcess(Path(tmp) / f"redis-{n}").start())
            addresses = [s.address for s in servers]
            times = asyncio.run(latency(addresses, opts))
            crowd = asyncio.run(contention(addresses, opts))
            redis_version = asyncio.run(_redis_version(servers[0]))
        finally:
            for server in servers:
                server.stop()
    ours1 = statistics.median(times["ours1"])
    theirs = statistics.median(times["redis_py"])
    ours3 = statistics.median(times["ours3"])
    res: dict[str, Any] = {
        "lock_p50_ms": round(ours1, 4),
        "redis_py_lock_p50_ms": round(theirs, 4),
        "lock_ratio": round(ours1 / theirs, 3),
        "redlock3_p50_ms": round(ours3, 4),
        "redlock3_ratio_vs_single": round(ours3 / ours1, 3),
        "lock_p99_ms": round(_p(times["ours1"], 0.99), 4),
        "redis_py_lock_p99_ms": round(_p(times["redis_py"], 0.99), 4),
        "redlock3_p99_ms": round(_p(times["ours3"], 0.99), 4),
        "duplicates": crowd.duplicates,
        "fencing_regressions": crowd.fencing_regressions,
        "contention_acquired": crowd.acquired,
        "contention_busy": crowd.busy,
        "contention_unavailable": crowd.unavailable,
        "contention_workers": opts.workers,
        "contention_resources": opts.resources,
        "contention_grants_per_s": round(crowd.acquired / crowd.seconds, 1),
    }
    print(
        f"device locks, loopback redis-server {redis_version}, Python"
        f" {platform.python_version()} on {sys.platform}; {opts.rounds} interleaved rounds"
        f" after {opts.warmup} warm-up"
    )
    print(table(res))
    res["config"] = {
        "rounds": opts.rounds,
        "warmup": opts.warmup,
        "per_worker": opts.per_worker,
        "quick": opts.quick,
        "redis": redis_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return res


async def _redis_version(server: RedisProcess) -> str:
    client = aioredis.Redis(host=server.host, port=server.port, decode_responses=True)
    try:
        info = await client.info("server")
        return str(info.get("redis_version", "?"))
    finally:
        await client.aclose()
