"""`python -m bench locks --quick` runs and prints its JSON line (keys, not figures)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

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
    run = run_bench("locks", "--quick", timeout=120)
    figures = run.figures
    assert figures.keys() >= KEYS
    assert all(isinstance(figures[k], int | float) for k in KEYS)
    assert "redis-py" in run.stdout  # the human table came first


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
