#!/usr/bin/env python3
"""Set up a development checkout and run the demo or the whole test suite.

    python3 installer/bootstrap.py demo    # the HMI against the embedded simulator
    python3 installer/bootstrap.py test    # ruff, mypy and every test

Standard library only: it runs before anything is installed. It installs the
Debian packages the program and the tests need (as root, or through
``sudo -n``), makes ``.venv`` beside the sources, installs the project into it
(again only when ``pyproject.toml`` changed), then runs the chosen command.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DISPATCHER_VENV", ROOT / ".venv"))

# Qt's xcb platform plugin, its offscreen plugin, and python3-venv for the venv itself.
QT_PACKAGES = [
    "python3-venv",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libdbus-1-3",
    "libglib2.0-0",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-image0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-randr0",
    "libxcb-xinerama0",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "fonts-noto-cjk",
]
# The demo's shared zone control (it starts its own redis-server when none answers).
DEMO_PACKAGES = ["redis-server"]
# Real services and a real X server for the tests; openssl makes the Redis TLS test's CA.
TEST_PACKAGES = ["redis-server", "xvfb", "xauth", "openssl"]


def say(text: str) -> None:
    print(f"[bootstrap] {text}", flush=True)


def run(cmd: list[str], **kw: object) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def missing_debs(packages: list[str]) -> list[str]:
    if shutil.which("dpkg-query") is None:
        return []
    out = []
    for pkg in packages:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], check=False, capture_output=True, text=True
        )
        if "install ok installed" not in res.stdout:
            out.append(pkg)
    return out


def ensure_debs(packages: list[str]) -> None:
    need = missing_debs(packages)
    if not need:
        return
    if shutil.which("apt-get") is None:
        say(f"not a Debian system; make sure these are installed: {' '.join(need)}")
        return
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit(f"[bootstrap] need root to install: {' '.join(need)}")
        prefix = ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    available = subprocess.run(
        ["apt-cache", "show", *need], check=False, capture_output=True, text=True, env=env
    )
    if available.returncode != 0:
        run([*prefix, "apt-get", "update", "-q"], env=env)
    run([*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", *need], env=env)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    py = venv_python()
    if not py.exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    stamp = VENV / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"])
        run([str(py), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"])
        stamp.write_text(digest)
    return py


def demo(py: Path, extra: list[str]) -> int:
    return subprocess.call([str(py), "-m", "ui.main", "--demo", *extra], cwd=ROOT)


def test(py: Path, extra: list[str]) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    steps = [
        [str(py), "-m", "ruff", "check", "."],
        [str(py), "-m", "ruff", "format", "--check", "."],
        [str(py), "-m", "mypy"],
        [str(py), "-m", "pytest", *extra],
    ]
    for step in steps:
        say("$ " + " ".join(step[2:] if step[1] == "-m" else step))
        code = subprocess.call(step, cwd=ROOT, env=env)
        if code != 0:
            say(f"failed ({code}): {' '.join(step[2:])}")
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 2
    what, extra = argv[0], argv[1:]
    ensure_debs(QT_PACKAGES + (TEST_PACKAGES if what == "test" else DEMO_PACKAGES))
    py = ensure_venv()
    if what == "demo":
        return demo(py, extra)
    if what == "test":
        return test(py, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
