"""``dispatcher-hmi --smoke-test`` (what the installer checks run) against a real simulator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.counterparts.sim.launcher import SimulatorProcess
from ui.main import build_parser

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_hmi(*args: str) -> subprocess.CompletedProcess[str]:
    # No QT_QPA_PLATFORM: the option on the command line must be enough (Wine drops QT_*).
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "ui.main", "-platform", "offscreen", "--smoke-test", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_smoke_test_passes_once_a_snapshot_arrives(
    start_sim: Callable[..., SimulatorProcess],
) -> None:
    sim = start_sim(journal=False)
    ep = sim.endpoints[0]
    res = run_hmi("--server", f"{ep.host}:{ep.port}")
    assert res.returncode == 0, res.stderr
    out = res.stdout.strip()
    assert "smoke test ok" in out
    assert "line L2" in out
    assert "20 trains" in out
    assert "platform offscreen" in out


def test_smoke_test_fails_with_a_message_when_no_server_answers() -> None:
    port = free_port()
    res = run_hmi("--server", f"127.0.0.1:{port}", "--smoke-timeout", "1.5")
    assert res.returncode == 3
    assert "smoke test FAILED" in res.stderr
    assert f"127.0.0.1:{port}" in res.stderr
    assert "smoke test ok" not in res.stdout


def test_smoke_test_fails_on_a_bad_configuration(tmp_path: Path) -> None:
    bad = tmp_path / "workstation.yaml"
    bad.write_text("workstation:\n  id: [\n", encoding="utf-8")
    res = run_hmi("--config", str(bad))
    assert res.returncode == 2
    assert str(bad) in res.stderr


def test_platform_option_takes_qt_spelling() -> None:
    args = build_parser().parse_args(["-platform", "offscreen", "--smoke-test"])
    assert args.platform == "offscreen"
    assert args.smoke_test
    assert build_parser().parse_args(["--platform", "windows"]).platform == "windows"
