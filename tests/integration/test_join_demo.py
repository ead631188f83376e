"""A second desk joins the demo: the real ``dispatcher-hmi --demo`` (offscreen) writes its
connection file and says where; ``dispatcher-hmi --join-demo`` connects with its link key
as workstation WS-02; a desk with another key is told "the server refused the link key"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def hmi(*args: str, log: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    argv = [sys.executable, "-m", "ui.main", "--lang", "en", "--log-file", str(log), *args]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_second_desk_joins_the_demo_and_a_wrong_key_is_told(
    tmp_path: Path, private_user_data: Path
) -> None:
    if shutil.which("redis-server") is None and not os.environ.get("CI"):
        pytest.skip("redis-server is not installed")
    demo_log = tmp_path / "demo.log"
    demo = hmi("--demo", "--no-login", "--quit-after", "60", log=demo_log)
    connection = private_user_data / "demo" / "connection.json"
    try:
        wait_for(connection.exists, 40)
        assert connection.stat().st_mode & 0o077 == 0  # private, like the key beside it
        key_file = Path(json.loads(connection.read_text())["link_key_file"])
        assert key_file.stat().st_mode & 0o077 == 0
        wait_for(lambda: "--join-demo (connection file" in demo_log.read_text(), 10)
        assert str(connection) in demo_log.read_text()

        join_log = tmp_path / "join.log"
        joiner = hmi("--join-demo", "--dispatcher", "dispatcher-02", "--quit-after", "6",
                     log=join_log)  # fmt: skip
        out, _ = joiner.communicate(timeout=40)
        assert joiner.returncode == 0, out
        text = join_log.read_text()
        assert "as workstation WS-02" in text
        assert "handshake -> up (hello)" in text

        # another key: the server says so, the desk says "the server refused the link key"
        bad_key = tmp_path / "other.key"
        bad_key.write_text("demo " + "00" * 32 + "\n")
        bad_key.chmod(0o600)
        other = tmp_path / "other.json"
        doc = json.loads(connection.read_text())
        other.write_text(json.dumps({**doc, "link_key_file": str(bad_key)}))
        wrong_log = tmp_path / "wrong.log"
        wrong = hmi("--join-demo", str(other), "--dispatcher", "dispatcher-02",
                    "--quit-after", "4", log=wrong_log)  # fmt: skip
        out, _ = wrong.communicate(timeout=40)
        assert wrong.returncode == 0, out
        text = wrong_log.read_text()
        assert "the server refused the link key" in text
        assert "closed by peer" not in text
    finally:
        demo.terminate()
        demo.communicate(timeout=30)
    assert not connection.exists() and not key_file.exists()  # gone with the demo


def test_joining_without_a_demo_says_so(tmp_path: Path) -> None:
    joiner = hmi("--join-demo", "--quit-after", "1", log=tmp_path / "j.log")
    out, _ = joiner.communicate(timeout=30)
    assert joiner.returncode == 2
    assert "no demo to join" in out and "dispatcher-hmi --demo" in out
