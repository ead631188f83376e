"""The real program in a real X server (Xvfb): the window renders, and not blank."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.integration]


@contextlib.contextmanager
def xvfb(screen: str = "1920x1080x24") -> Iterator[str]:
    """A private X server (its display, ":N") with one screen of ``screen``."""
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
            screen,
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


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    with xvfb() as display:
        yield display


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_main_window_under_xvfb_is_not_blank(xvfb_display: str, tmp_path: Path, lang: str) -> None:
    """The demo in each language (UPDATE_SCREENSHOTS=1: saved as docs/screenshots/main-LANG.png)."""
    shot = tmp_path / "window.png"
    # a fresh user: no saved layout (QSettings), no logs of earlier runs
    env = dict(
        os.environ,
        DISPLAY=xvfb_display,
        QT_QPA_PLATFORM="xcb",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        DISPATCHER_DATA=str(tmp_path / "data"),
    )
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

    assert_not_blank(shot, 800, 500)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOTS / f"main-{lang}.png")


def assert_not_blank(shot: Path, min_width: int, min_height: int) -> None:
    """A rendered schematic has many colours and no dominant blank (a grid of samples)."""
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= min_width and image.height() >= min_height
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


#: the program at a window size of its own: dispatcher-hmi's --screenshot takes the
#: window at ui.runtime.SCREENSHOT_SIZE (1920x1080); this runs it at another
SIZED_RUN = (
    "import sys, ui.runtime as r; w, h = sys.argv[1].split('x'); "
    "r.SCREENSHOT_SIZE = (int(w), int(h)); from ui.main import main; "
    "sys.exit(main(sys.argv[2:]))"
)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_window_on_a_1366x768_screen_is_not_blank(tmp_path: Path, lang: str) -> None:
    """A 1366x768 screen (UPDATE_SCREENSHOTS=1: saved as docs/screenshots/main-LANG-1366x768.png):
    the window fits the screen and renders (the docks start small: tests/ui/test_size.py)."""
    shot = tmp_path / "window.png"
    with xvfb("1366x768x24") as display:
        env = dict(
            os.environ,
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            DISPATCHER_DATA=str(tmp_path / "data"),
        )
        argv = ["--demo", "--lang", lang, "--screenshot", str(shot), "--quit-after", "8"]
        res = subprocess.run(
            [sys.executable, "-c", SIZED_RUN, "1366x768", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert res.returncode == 0, res.stderr[-3000:]
    assert_not_blank(shot, 1366, 768)
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1366, 768)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOTS / f"main-{lang}-1366x768.png")


def test_commanding_clicks_keys_and_dialogs_in_a_real_x_server(
    xvfb_display: str, tmp_path: Path
) -> None:
    """The commanding tests (the confirmation's place and frame, Enter on the focused
    confirm button, the command keys, clicks beside devices, Find's frame, the legend)
    in a real X server: real window placement, focus and shortcuts, not offscreen's."""
    here = Path(__file__).resolve().parents[1] / "ui"
    env = dict(
        os.environ,
        DISPLAY=xvfb_display,
        QT_QPA_PLATFORM="xcb",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(here / "test_commanding.py"),
            str(here / "test_hits.py"),
            str(here / "test_legend.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def _port_closed(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) != 0


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
def test_a_stop_signal_shuts_the_demo_down_in_order_and_leaves_nothing_behind(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """A logout, a service manager or Ctrl+C: the program closes as if its window
    were closed; the demo's simulator pair, redis-server and broker stop with it."""
    log_file = tmp_path / "hmi.log"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DISPATCHER_DATA=str(tmp_path / "data"))
    argv = ["--demo", "--no-login", "--log-file", str(log_file), "--quit-after", "120"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.main", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    with proc:
        deadline = time.monotonic() + 60
        while "alarm feed catching_up -> live" not in _text(log_file):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, _text(log_file)[-3000:]
            time.sleep(0.2)
        log = _text(log_file)
        children = re.findall(r"started redis-server on (\S+)", log)
        children += re.findall(r"started a tansu broker on (\S+)", log)
        children += re.findall(r"simulator ready on (.+)$", log, re.M)[0].split(", ")
        assert len(children) == 6 and not any(_port_closed(a) for a in children)
        started = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(30) == 0
        took = time.monotonic() - started
    log = _text(log_file)
    assert f"{sig.name}: closing down" in log
    for said in (
        "simulator pair stopped",
        "demo redis-server stopped",
        "demo Kafka broker stopped",
    ):
        assert said in log
    assert all(_port_closed(a) for a in children), children
    assert took < 15, took


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""
