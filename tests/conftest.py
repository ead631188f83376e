"""Shared fixtures: the demo line, and simulator child processes on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display unless they start Xvfb themselves.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.config import load_line
from app.model.topology import Line
from app.paths import default_line_file, default_workstation_file
from app.sim.launcher import SimulatorProcess

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


class RedisServer:
    """A real ``redis-server`` child on a free loopback port, for one test."""

    def __init__(self, workdir: Path) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> RedisServer:
        import time

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                self.host,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING within 10 s")

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait(10)


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[[], RedisServer]]:
    """``redis_factory()`` starts one more real redis-server; all stop after the test."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing on CI: the bootstrap must install it")
        pytest.skip("redis-server is not installed (python3 installer/bootstrap.py test)")
    servers: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
