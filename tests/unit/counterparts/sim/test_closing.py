"""One name for closing: the simulator's parts close with an idempotent ``aclose()``."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from app.counterparts.sim.alarms import AlarmSettings, AlarmSystem, Worker
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.server import ServerSettings, SimServer
from app.counterparts.sim.world import ServiceSettings, World
from app.model.topology import Line


class Kafka:
    """A broker that takes everything and counts the flushes."""

    on_error = None

    def __init__(self) -> None:
        self.flushes = 0

    def produce(self, *args: Any) -> None: ...

    def poll(self) -> None: ...

    def outstanding(self) -> int:
        return 0

    def reset(self) -> int:
        return 0

    def dispose(self) -> None: ...

    def create_topic(self, topic: str) -> None: ...

    def topics(self) -> set[str]:
        return set()

    def flush(self, timeout_s: float) -> int:
        self.flushes += 1
        return 0


def run_now(fn: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(fn())
    return future


def test_the_worker_stops_once() -> None:
    worker = Worker()
    assert worker.submit(lambda: 42).result(2) == 42

    async def close() -> None:
        await worker.aclose()
        await worker.aclose()

    asyncio.run(close())
    assert not worker._thread.is_alive()


def test_the_server_and_its_alarms_and_journal_close_once(demo_line: Line, tmp_path: Path) -> None:
    kafka = Kafka()
    alarms = AlarmSystem(
        demo_line, AlarmSettings("127.0.0.1:1"), server="A", kafka=kafka, run=run_now
    )
    journal = Journal(tmp_path / "journal.jsonl")
    server = SimServer(
        World(demo_line, ServiceSettings(trains=0)), ServerSettings(), journal, alarms
    )

    async def close() -> None:
        await server.aclose()
        await server.aclose()
        await alarms.aclose()
        await journal.aclose()

    asyncio.run(close())
    assert kafka.flushes == 1
    assert journal._file is None
