"""``dispatcher-cli state`` as a real child process against a real simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from app.counterparts.sim.launcher import SimulatorProcess

pytestmark = pytest.mark.integration


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_state_prints_the_live_line_as_json(start_sim: Callable[..., SimulatorProcess]) -> None:
    sim = start_sim()
    ep = sim.endpoints[0]
    res = run_cli("--server", f"{ep.host}:{ep.port}", "state")
    assert res.returncode == 0, res.stderr
    state = json.loads(res.stdout)
    assert state["line"] == "L2"
    assert isinstance(state["seq"], int)
    assert len(state["trains"]) == 20
    assert len(state["sections"]) > 100
    occupied = {s["id"] for s in state["sections"] if s["occupied"]}
    assert {t["section"] for t in state["trains"]} <= occupied


def test_state_without_a_server_fails_clearly() -> None:
    res = run_cli("--server", "127.0.0.1:1", "state", "--timeout", "1.5")
    assert res.returncode == 1
    assert "no line state within 1.5 s" in res.stderr
    assert res.stdout == ""
