"""A recorder killed with SIGKILL while it records: its file opens, every record in it
is whole, and it lost at most the last second (it hands its records to the OS every
second); the next recorder cuts any torn tail and starts a file of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.clock import wall_ms
from app.counterparts.sim.launcher import SimulatorPair
from app.replay.format import Kind
from app.replay.store import Recording, day_files, days, repair

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_recorder_killed_mid_write_loses_at_most_a_second_and_its_file_opens(
    sim_pair: Callable[..., SimulatorPair], tmp_path: Path
) -> None:
    pair = sim_pair("--legacy-commands", "--time-scale", "20")
    root = tmp_path / "bb"
    args = [f"{e.server}@{e.host}:{e.port}" for e in pair.endpoints]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.recording_child", str(root), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "recording"
        time.sleep(3.3)  # records flow all the while: the kill falls among them
        killed_at = wall_ms()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    (day,) = days(root)
    (path,) = day_files(root, day)
    rec = Recording.open([path])  # opens; a torn tail, if any, left out and said
    assert len(rec) > 20
    kinds = {rec.kind(i) for i in range(len(rec))}
    assert {Kind.META, Kind.KEYFRAME, Kind.DELTAS, Kind.TRAINS} <= kinds
    assert Kind.END not in kinds  # it never closed
    assert killed_at - rec.time(len(rec) - 1) <= 1_100  # at most the last second lost
    for i in range(len(rec)):
        rec.body(i)  # every record whole and readable
    # the next recorder's start cuts a torn tail (made here: half a record appended)
    whole = path.stat().st_size
    with open(path, "ab") as f:
        f.write(rec.raw(len(rec) - 1)[:-5])
    r = repair(path)
    assert r is not None and r.kept == whole and path.stat().st_size == whole
    assert len(Recording.open([path])) == len(rec)
