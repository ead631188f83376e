"""`python -m bench locks --quick` runs and prints its JSON line (keys, not figures)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "lock_p50_ms",
    "redis_py_lock_p50_ms",
    "lock_ratio",
    "redlock3_p50_ms",
    "redlock3_ratio_vs_single",
    "duplicates",
    "fencing_regressions",
}


@pytest.mark.integration
def test_bench_locks_quick_prints_the_json_keys() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (python3 installer/bootstrap.py test)")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "locks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures.keys() >= KEYS
    assert all(isinstance(figures[k], int | float) for k in KEYS)
    assert "redis-py" in proc.stdout  # the human table came first


def test_bench_lists_locks() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0
    assert "locks" in listed.stdout
