"""The real program under Xvfb (the demo, in Chinese): its master simulator killed with
SIGKILL, the workstation tells one failover, then no redundancy, and the window at the
end is not blank (``SCREENSHOT_DIR=...`` keeps it) (issue 18)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.end2end.test_demo_children import _alive, _children, _text
from tests.end2end.test_real_window import assert_not_blank, xvfb

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /proc"),
]


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _master_simulator(pid: int) -> int | None:
    """The demo's simulator that started as master (``--role master``)."""
    for child in _children(pid):
        args = _cmdline(child)
        role = args[args.index("--role") + 1] if "--role" in args else ""
        if "app.counterparts.sim" in args and role == "master":
            return child
    return None


def test_the_demo_tells_a_killed_master_once(tmp_path: Path) -> None:
    log_file = tmp_path / "hmi.log"
    shot = tmp_path / "failover.png"
    with xvfb() as display:
        env = dict(
            os.environ,
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            DISPATCHER_DATA=str(tmp_path / "data"),
        )
        argv = ["--demo", "--no-login", "--lang", "zh_CN", "--log-file", str(log_file)]
        argv += ["--screenshot", str(shot), "--quit-after", "45"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.main", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        master = None
        try:
            deadline = time.monotonic() + 40
            while "alarm feed catching_up -> live" not in _text(log_file):
                assert proc.poll() is None, _text(log_file)[-3000:]
                assert time.monotonic() < deadline, _text(log_file)[-3000:]
                time.sleep(0.2)
            master = _master_simulator(proc.pid)
            assert master is not None, "no master simulator among the demo's children"
            time.sleep(1.0)  # the standby mirrors the alarms
            os.kill(master, signal.SIGKILL)
            deadline = time.monotonic() + 15
            while "local alarm no_redundancy" not in _text(log_file):
                assert proc.poll() is None, _text(log_file)[-3000:]
                assert time.monotonic() < deadline, _text(log_file)[-3000:]
                time.sleep(0.2)
            log = _text(log_file)
            assert log.count("local alarm failover:") == 1, log[-3000:]
            assert "failover: master A -> B (epoch 2), cause master_lost" in log
            proc.wait(60)
            assert proc.returncode == 0, _text(log_file)[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
            if master is not None and _alive(master):
                os.kill(master, signal.SIGKILL)
    assert_not_blank(shot, 800, 500)
    if folder := os.environ.get("SCREENSHOT_DIR"):
        shutil.copyfile(shot, Path(folder) / "demo_failover_zh.png")
