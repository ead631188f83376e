"""One lock for every environment (``installer/pins/lock.txt``).

The lock covers every dependency ``pyproject.toml`` declares (runtime, every
extra, the build backend) at a version inside its bounds, every entry carries
hashes, the installer's pins agree with it on every package they share, and the
environment these tests run in is exactly what it says. The lines are read with
``packaging``, not with the bootstrap's own parser, so each checks the other.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "installer" / "pins"
LOCK = PINS / "lock.txt"


@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    marker: str
    hashes: tuple[str, ...]
    line: int


def read(path: Path) -> dict[str, Pin]:
    """Every ``name==version [; marker]`` entry of a hashed requirements file, with its hashes.

    A line that is neither a comment, a hash, nor such an entry fails: a lock
    holds nothing else (no URLs, no editable installs, no options).
    """
    pins: dict[str, Pin] = {}
    current: tuple[Requirement, int] | None = None
    hashes: list[str] = []

    def close() -> None:
        if current is None:
            return
        req, line = current
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}:{line}: {req} is not an exact pin"
        name = canonicalize_name(req.name)
        assert name not in pins, f"{path.name}:{line}: {name} twice"
        pins[name] = Pin(name, spec.version, str(req.marker or ""), tuple(hashes), line)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash="):
            hashes.append(text.removeprefix("--hash=").rstrip(" \\"))
            continue
        close()
        current, hashes = (Requirement(text.rstrip(" \\")), number), []
    close()
    return pins


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def runtime() -> list[Requirement]:
    """The program's own dependencies (what the installer ships)."""
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return [Requirement(r) for r in project["dependencies"]]


def declared() -> list[tuple[str, Requirement]]:
    """Every requirement ``pyproject.toml`` declares, with where."""
    meta = pyproject()
    project = meta["project"]
    assert isinstance(project, dict)
    found = [("dependencies", r) for r in runtime()]
    for extra, reqs in project["optional-dependencies"].items():
        found += [(f"optional-dependencies.{extra}", Requirement(r)) for r in reqs]
    build = meta["build-system"]
    assert isinstance(build, dict)
    found += [("build-system.requires", Requirement(r)) for r in build["requires"]]
    return found


def test_the_lock_covers_every_declared_dependency_inside_its_bounds() -> None:
    lock = read(LOCK)
    reqs = declared()
    assert len(reqs) >= 10
    wrong = []
    for where, req in reqs:
        pin = lock.get(canonicalize_name(req.name))
        if pin is None:
            wrong.append(f"{where}: {req} is not in the lock")
        elif not req.specifier.contains(pin.version, prereleases=True):
            wrong.append(f"{where}: {req} excludes the locked {pin.version}")
    assert wrong == []


def test_every_locked_package_has_sha256_hashes() -> None:
    lock = read(LOCK)
    assert len(lock) >= 20
    for pin in lock.values():
        assert pin.hashes, f"lock.txt:{pin.line}: {pin.name} has no hash"
        for h in pin.hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", h), f"lock.txt:{pin.line}: {h}"


@pytest.mark.parametrize("pins", ["win-wheels.txt", "build-tools.txt"])
def test_the_installer_ships_the_versions_the_tests_ran(pins: str) -> None:
    lock = read(LOCK)
    shipped = read(PINS / pins)
    shared = sorted(set(lock) & set(shipped))
    # The program's own dependencies are shared at least (one redis-py, one PySide6, ...).
    assert {canonicalize_name(r.name) for r in runtime()} <= set(shared)
    differ = [
        f"{name}: lock {lock[name].version}, {pins} {shipped[name].version}"
        for name in shared
        if lock[name].version != shipped[name].version
    ]
    assert differ == []
    assert all(p.hashes for p in shipped.values())


def test_the_resolver_is_pinned_with_hashes() -> None:
    uv = read(PINS / "uv.txt")
    assert list(uv) == ["uv"]
    assert len(uv["uv"].hashes) > 1  # a wheel per platform: a Windows developer can lock too


@pytest.mark.skipif(
    os.environ.get("DISPATCHER_CANARY") == "1", reason="the canary runs the newest releases"
)
def test_this_environment_is_exactly_the_lock() -> None:
    """What these tests run in holds the locked version of every locked package that
    applies here, and nothing the lock does not name (a stale or hand-made environment
    fails here, before it can hide what a new machine meets)."""
    lock = read(LOCK)
    here = {
        canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
    }
    # The environment's own installer, and the project itself (installed from the tree).
    tolerated = {"pip", "dispatcher-hmi"}
    wrong = []
    for name, pin in lock.items():
        applies = Requirement(f"{name}=={pin.version}{'; ' + pin.marker if pin.marker else ''}")
        if applies.marker is not None and not applies.marker.evaluate():
            continue
        if here.get(name) != pin.version:
            wrong.append(f"{name}: locked {pin.version}, installed {here.get(name)}")
    extra = sorted(set(here) - set(lock) - tolerated)
    assert wrong == [], f"not the locked environment ({sys.prefix}); run installer/bootstrap.py"
    assert extra == [], f"installed but not locked: {extra}"


def test_the_reader_catches_a_loose_or_unhashed_line(tmp_path: Path) -> None:
    bad = tmp_path / "lock.txt"
    bad.write_text("redis>=8 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        read(bad)
    bad.write_text("redis==8.2.0\npyyaml==6.0.4 ; python_version >= '3.11' \\\n")
    pins = read(bad)
    assert pins["redis"].hashes == ()
    assert pins["pyyaml"].marker == 'python_version >= "3.11"'


def test_the_bootstrap_reads_the_lock_as_packaging_does() -> None:
    """``installer/bootstrap.py`` (standard library only) pins the installer and
    compares the canary by its own reader: it must agree with this one."""
    spec = importlib.util.spec_from_file_location("bootstrap", ROOT / "installer" / "bootstrap.py")
    assert spec is not None and spec.loader is not None
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    for path in (LOCK, PINS / "win-wheels.txt", PINS / "build-tools.txt"):
        theirs = {name: ver for name, (ver, _) in bootstrap.read_pins(path).items()}
        assert theirs == {name: pin.version for name, pin in read(path).items()}
