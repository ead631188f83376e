"""`python -m bench iscs --quick`: every hand-off handled once; the JSON keys are there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_bench_iscs_quick() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "iscs", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures.keys() >= {
        "handoffs",
        "lost",
        "duplicated",
        "rss_growth_mb_hmi",
        "rss_growth_mb_iscs",
        "baseline_per_s",
        "throughput_ratio",
    }
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    assert figures["delivered"] == figures["handoffs"]
    assert figures["throughput_ratio"] > 0
