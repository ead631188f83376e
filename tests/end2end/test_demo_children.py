"""The demo's children end with the program however it ends: a window killed with
SIGKILL (or crashing) left its simulators, redis-server and broker running for good,
each holding its ports (seen: orphans of crashed soak runs, parent pid 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /proc, prctl"),
]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def test_killing_the_demo_ends_its_simulators_redis_and_broker(tmp_path: Path) -> None:
    log_file = tmp_path / "hmi.log"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DISPATCHER_DATA=str(tmp_path / "data"))
    argv = ["--demo", "--no-login", "--log-file", str(log_file), "--quit-after", "120"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.main", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while "alarm feed catching_up -> live" not in _text(log_file):
            assert proc.poll() is None, _text(log_file)[-3000:]
            assert time.monotonic() < deadline, _text(log_file)[-3000:]
            time.sleep(0.2)
        children = _children(proc.pid)
        # the simulator pair, redis-server and the broker at least
        assert len(children) >= 3, children
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while (left := {p for p in children if _alive(p)}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"still running after the program was killed: {left}"
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
