"""The real program in a real X server (Xvfb): the window renders, and not blank."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.integration]


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing on CI: the bootstrap must install xvfb")
        pytest.skip("Xvfb is not installed (python3 installer/bootstrap.py test installs it)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "1920x1080x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    try:
        assert number.isdigit(), "Xvfb did not report a display"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_main_window_under_xvfb_is_not_blank(xvfb_display: str, tmp_path: Path, lang: str) -> None:
    """The demo in each language (UPDATE_SCREENSHOTS=1: saved as docs/screenshots/main-LANG.png)."""
    shot = tmp_path / "window.png"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    argv = ["--demo", "--lang", lang, "--screenshot", str(shot), "--quit-after", "8"]
    res = subprocess.run(
        [sys.executable, "-m", "ui.main", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert shot.exists()

    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= 800 and image.height() >= 500
    # Sample a grid: a rendered schematic has many colours and no dominant blank.
    colours: dict[int, int] = {}
    step = 7
    samples = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            rgb = image.pixel(x, y) & 0xFFFFFF
            colours[rgb] = colours.get(rgb, 0) + 1
            samples += 1
    commonest = max(colours.values()) / samples
    assert len(colours) > 20, f"only {len(colours)} colours: looks blank"
    assert commonest < 0.97, f"{commonest:.0%} of the window is one colour"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOTS / f"main-{lang}.png")
