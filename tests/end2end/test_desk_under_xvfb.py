"""The desk in a real X server (Xvfb), driven with real key events: the login against the
demo's directory, the idle lock, and quitting with zones held (docs/security.md,
docs/control.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.end2end.test_real_window import assert_not_blank, xvfb

pytestmark = [pytest.mark.xvfb, pytest.mark.integration]

HERE = Path(__file__).resolve().parent


def test_login_lock_and_a_guarded_quit_under_xvfb(tmp_path: Path) -> None:
    shot, log = tmp_path / "locked.png", tmp_path / "hmi.log"
    with xvfb() as display:
        env = dict(
            os.environ,
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            DISPATCHER_DATA=str(tmp_path / "data"),
            PYTHONPATH=str(HERE.parents[1]),
        )
        res = subprocess.run(
            [sys.executable, str(HERE / "desk_driver.py"), str(shot), str(log)],
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
    steps = [line[5:] for line in res.stdout.splitlines() if line.startswith("STEP ")]
    assert res.returncode == 0, (steps, res.stderr[-3000:])
    assert steps[0] == "login refused: wrong dispatcher id or password"
    assert steps[1].startswith("window: ") and "dispatcher-02" in steps[1]
    assert steps[2:5] == [
        "desk locked",
        "ctrl+q while locked: still open True, panel True",  # refused: no question
        "desk unlocked",
    ]
    assert (
        steps[5].startswith("quit asked: You hold Z1 ") and "every other desk is told" in steps[5]
    )
    assert_not_blank(shot, 800, 500)
    text = log.read_text(encoding="utf-8")
    assert "dispatcher-02 logged in as dispatcher" in text
    assert "desk locked (dispatcher-02)" in text and "desk unlocked (dispatcher-02)" in text
    assert "not-my-password" not in text and "demo-dispatcher-02" not in text  # never logged
