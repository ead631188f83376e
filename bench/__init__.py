"""Benchmarks: ``python -m bench <name> [options]``; ``python -m bench --help`` lists them.

A benchmark is a module with ``run(argv: list[str]) -> dict[str, Any]``: it
parses its own options, prints what a person reads, and returns its figures,
which ``python -m bench`` prints as the last line, one JSON object. Register a
new one below; its module is imported only when it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Run = Callable[[list[str]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    module: str
    help: str

    def load(self) -> Run:
        run: Run = importlib.import_module(self.module).run
        return run


BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str, module: str, help: str) -> None:
    if name in BENCHMARKS:
        raise ValueError(f"benchmark {name!r} is already registered")
    BENCHMARKS[name] = Benchmark(name, module, help)


register("comms", "bench.comms", "TCP framing and UDP status receive: throughput, allocations")
register(
    "failover", "bench.failover", "failover after kill -9 of the master vs the heartbeat timeout"
)
register("soak", "bench.soak", "long run at 10x traffic: RSS and traced memory growth")
register("locks", "bench.locks", "device locks: ours vs redis-py, Redlock over 3 nodes, contention")
register(
    "alarms", "bench.alarms", "alarm catch-up vs full replay, ingest vs raw consume, live latency"
)
register("iscs", "bench.iscs", "ISCS hand-offs: exactly once, resident memory of both processes")
register(
    "render", "bench.render", "60 trains at 10 Hz + 5 alarms/s: paint p95, loop lag p99, start-up"
)
register("coupling", "bench.coupling", "60 consists at 10 Hz through UDP into the coupling model")
register("fuzz", "bench.fuzz", "random and mutated inputs at every boundary: crashes, hangs")
register(
    "traingraph",
    "bench.traingraph",
    "train graph: 1 000 trips x 100 stations, 60 trains live: paint and zoom p95, store memory",
)
register(
    "replay",
    "bench.replay",
    "black box on a sim pair with a failover: recorder CPU, bytes a day, seek p95, replay paint",
)
