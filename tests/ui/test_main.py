"""``dispatcher-hmi`` as a program: --check-config without Qt, --demo --screenshot end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from ui.main import build_parser

pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_check_config_imports_no_qt(demo_line_path: Path, workstation_path: Path) -> None:
    code = (
        "import sys\n"
        "from ui.main import main\n"
        f"rc = main(['--check-config', {str(demo_line_path)!r}, {str(workstation_path)!r}])\n"
        "assert not any(m.split('.')[0] == 'PySide6' for m in sys.modules), 'Qt imported'\n"
        "sys.exit(rc)\n"
    )
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("OK ") == 2


def test_check_config_reports_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("line:\n  id: [\n", encoding="utf-8")
    result = run("-m", "ui.main", "--check-config", str(bad))
    assert result.returncode != 0
    assert str(bad) in result.stdout + result.stderr


def test_options() -> None:
    args = build_parser().parse_args(
        [
            "--demo",
            "--screenshot",
            "x.png",
            "--quit-after",
            "2",
            "--lang",
            "en",
            "--server",
            "127.0.0.1:7101",
            "--server",
            "127.0.0.1:7102",
        ]
    )
    assert args.demo and args.screenshot == "x.png" and args.quit_after == 2.0
    assert args.server == ["127.0.0.1:7101", "127.0.0.1:7102"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--lang", "fr"])


@pytest.mark.integration
def test_demo_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "overview.png"
    result = run(
        "-m",
        "ui.main",
        "--demo",
        "--demo-time-scale",
        "5",
        "--screenshot",
        str(shot),
        "--quit-after",
        "4",
        "--lang",
        "en",
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1920, 1080)
    # a clean shutdown: no tracebacks, no warnings, no tasks left behind
    for bad in ("Traceback", "Task was destroyed", "Warning", "WARNING", "Error", "ERROR"):
        assert bad not in result.stderr, result.stderr
    assert "screenshot saved" in result.stderr
    assert "simulator pair stopped" in result.stderr
