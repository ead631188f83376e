#!/usr/bin/env python3
"""Set up a development checkout and run the demo or the whole test suite.

    python3 installer/bootstrap.py demo    # the HMI against the embedded simulator
    python3 installer/bootstrap.py test    # ruff, mypy and every test
    python3 installer/bootstrap.py setup   # only the Debian packages and the environment
    python3 installer/bootstrap.py lock    # resolve the newest releases into the lock
    python3 installer/bootstrap.py canary  # the whole suite on the newest releases

Standard library only: it runs before anything is installed. It installs the
Debian packages the program and the tests need (as root, or through
``sudo -n``), then builds the virtual environment (``.venv``, or the folder
``DISPATCHER_VENV`` names) from the lock, ``installer/pins/lock.txt``: exact
versions with their hashes, installed with ``--require-hashes``, then the
project itself without dependencies. Whenever the lock, ``pyproject.toml`` or
the Python changes, the environment is built again from nothing, so it always
holds exactly what the lock says and nothing older.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DISPATCHER_VENV", ROOT / ".venv"))
PINS = ROOT / "installer" / "pins"
#: Every package of the development, test and demo environment: exact versions, hashes.
LOCK = PINS / "lock.txt"
#: The resolver that writes the lock (uv), itself pinned with its hashes.
UV_PIN = PINS / "uv.txt"
#: Where ``lock`` keeps its resolver (gitignored, like the installer's tools).
LOCK_TOOLS = ROOT / "build" / "lock-tools"
#: The lock's resolution: every extra, for every platform, from Python 3.11 up.
LOCK_COMMAND = "python3 installer/bootstrap.py lock"

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


def venv_python(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def environment_digest() -> str:
    """What the environment is built from: the lock, the project's metadata, the Python."""
    h = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml", Path(__file__)):
        h.update(path.read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()


def fresh_venv(venv: Path) -> Path:
    """An empty virtual environment at ``venv``; an old one there is removed first.

    Only a folder that is a virtual environment (it has ``pyvenv.cfg``) is ever
    removed: ``DISPATCHER_VENV`` pointing at anything else is refused.
    """
    if venv.exists():
        if not (venv / "pyvenv.cfg").exists() and any(venv.iterdir()):
            sys.exit(f"[bootstrap] {venv} is not a virtual environment; not touching it")
        say(f"removing the old environment {venv}")
        shutil.rmtree(venv)
    run([sys.executable, "-m", "venv", str(venv)])
    return venv_python(venv)


def pip(py: Path) -> list[str]:
    return [str(py), "-m", "pip", "--disable-pip-version-check"]


def ensure_venv(venv: Path = VENV) -> Path:
    """The environment, exactly as the lock says (built again when anything it rests on changed)."""
    py = venv_python(venv)
    stamp = venv / ".lock-sha256"
    digest = environment_digest()
    if py.exists() and stamp.exists() and stamp.read_text() == digest:
        return py
    py = fresh_venv(venv)
    # Every package with its hash (pip refuses a file whose hash differs, and a
    # dependency the lock forgot); the build backend comes from the lock too, so
    # the project's own install fetches nothing.
    run([*pip(py), "install", "-q", "--require-hashes", "-r", str(LOCK)])
    run([*pip(py), "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(ROOT)])
    stamp.write_text(digest)
    return py


def demo(py: Path, extra: list[str]) -> int:
    return subprocess.call([str(py), "-m", "ui.main", "--demo", *extra], cwd=ROOT)


def test(py: Path, extra: list[str], **more_env: str) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1", **more_env)
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


# -- the lock -------------------------------------------------------------------

#: ``name==version [; marker] \\`` (a hashed requirements line; its hashes follow).
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def normalise(name: str) -> str:
    """A distribution's name as the lock writes it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, tuple[str, str]]:
    """``{name: (version, marker)}`` of a hashed requirements file (the lock or a pin list)."""
    pins: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = _PIN.match(line)
        if found:
            pins[normalise(found.group(1))] = (found.group(2), (found.group(3) or "").strip())
    return pins


def lock_tools() -> Path:
    """A private environment with the pinned resolver (``installer/pins/uv.txt``)."""
    py = venv_python(LOCK_TOOLS)
    stamp = LOCK_TOOLS / ".pins-sha256"
    digest = hashlib.sha256(UV_PIN.read_bytes()).hexdigest()
    if not (py.exists() and stamp.exists() and stamp.read_text() == digest):
        py = fresh_venv(LOCK_TOOLS)
        run([*pip(py), "install", "-q", "--require-hashes", "-r", str(UV_PIN)])
        stamp.write_text(digest)
    return py


def compile_lock(uv: list[str], inputs: list[str], output: Path, header: str) -> None:
    """``uv pip compile`` for every platform, hashes of every file, from Python 3.11."""
    cmd = [
        *uv,
        "pip",
        "compile",
        "--quiet",
        "--universal",
        "--generate-hashes",
        "--python-version",
        "3.11",
        "--no-header",
        "--output-file",
        str(output),
        *inputs,
    ]
    run(cmd, cwd=ROOT)
    text = output.read_text(encoding="utf-8")
    output.write_text(header + text, encoding="utf-8")


def lock() -> int:
    """Resolve the newest releases the project's bounds admit into the lock, then the
    installer's pins at the same versions, then the resolver's own pin."""
    uv = [str(lock_tools()), "-m", "uv"]
    with (ROOT / "pyproject.toml").open("rb") as f:
        build_requires: list[str] = tomllib.load(f)["build-system"]["requires"]
    scratch = ROOT / "build" / "lock-inputs"
    scratch.mkdir(parents=True, exist_ok=True)
    # A fixed, relative path: the lock's "via" notes name it and must not change per run.
    build_in = scratch / "build-system.txt"
    build_in.write_text("\n".join(build_requires) + "\n", encoding="utf-8")
    header = (
        "# The development, test and demo environment: every package, exact versions, hashes.\n"
        f"# Written by `{LOCK_COMMAND}` (uv pip compile --universal); do not edit by hand.\n"
        "# Installed by installer/bootstrap.py with pip --require-hashes.\n\n"
    )
    compile_lock(
        uv,
        ["--all-extras", "pyproject.toml", str(build_in.relative_to(ROOT))],
        LOCK,
        header,
    )
    # The Windows installer and the Linux bundle at the lock's versions (installer/lock.py).
    run([sys.executable, str(ROOT / "installer" / "lock.py")])
    uv_in = scratch / "uv.txt"
    uv_in.write_text("uv\n", encoding="utf-8")
    compile_lock(
        uv,
        [str(uv_in.relative_to(ROOT))],
        UV_PIN,
        f"# The resolver that writes lock.txt. Written by `{LOCK_COMMAND}`.\n\n",
    )
    say(f"wrote {LOCK.relative_to(ROOT)}, {UV_PIN.relative_to(ROOT)} and the installer's pins")
    say("review the diff, run the tests, commit the lock with the change that needed it")
    return 0


def canary(extra: list[str]) -> int:
    """The whole suite on the newest releases that pyproject's bounds admit, in a
    throwaway environment: what the next lock will meet. Not part of CI."""
    with tempfile.TemporaryDirectory(prefix="dispatcher-canary-") as tmp:
        py = fresh_venv(Path(tmp) / "venv")
        run([*pip(py), "install", "-q", "--upgrade", "pip", "setuptools", "wheel"])
        run([*pip(py), "install", "-q", "--upgrade", "-e", f"{ROOT}[test,fonts]"])
        frozen = subprocess.run(
            [*pip(py), "list", "--format=freeze", "--exclude-editable"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        locked = read_pins(LOCK)
        newer = []
        for line in frozen.splitlines():
            name, _, ver = line.partition("==")
            name = normalise(name)
            if name in locked and locked[name][0] != ver:
                newer.append(f"{name} {locked[name][0]} -> {ver}")
        say("newest releases: " + " ".join(sorted(frozen.split())))
        say("differs from the lock: " + (", ".join(newer) if newer else "nothing"))
        # The check that the environment is the lock stands aside here, on purpose.
        code = test(py, extra, DISPATCHER_CANARY="1")
        say("canary " + ("passed" if code == 0 else f"FAILED ({code})"))
        return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup", "lock", "canary"):
        print(__doc__)
        return 2
    what, extra = argv[0], argv[1:]
    if what == "lock":
        return lock()
    ensure_debs(QT_PACKAGES + (DEMO_PACKAGES if what == "demo" else TEST_PACKAGES))
    if what == "canary":
        return canary(extra)
    py = ensure_venv()
    if what == "demo":
        return demo(py, extra)
    if what == "test":
        return test(py, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
