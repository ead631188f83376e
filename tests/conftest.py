"""Shared fixtures: the demo line, and simulator child processes on loopback."""

from __future__ import annotations

import os
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
