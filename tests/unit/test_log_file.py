"""The HMI's log file: written beside stderr, rotated; an unusable path never stops the program."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, sys
from pathlib import Path
from app.wiring import configure_logging
used = configure_logging("INFO", Path(sys.argv[1]))
logging.getLogger("t").info("hello from the test")
print("USED", used)
"""


def run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_log_lines_go_to_the_file_and_to_stderr(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "hmi.log"
    proc = run(log)
    assert f"USED {log}" in proc.stdout
    assert "hello from the test" in log.read_text(encoding="utf-8")
    assert "hello from the test" in proc.stderr


def test_an_unusable_log_path_is_said_and_stderr_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run(blocker / "hmi.log")
    assert "USED None" in proc.stdout
    assert "logging to stderr only" in proc.stderr
    assert "hello from the test" in proc.stderr


def test_the_hmi_log_file_is_under_the_user_data_folder(private_user_data: Path) -> None:
    from app.wiring import hmi_log_file

    assert hmi_log_file() == private_user_data / "logs" / "hmi.log"
