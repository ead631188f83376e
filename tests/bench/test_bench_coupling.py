"""`python -m bench coupling --quick` runs and prints its JSON line (keys, not figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "coupling_cpu_share",
    "baseline_cpu_share",
    "coupling_model_share",
    "per_report_us",
    "baseline_per_report_us",
    "per_report_ratio",
    "consists_confirmed",
}


@pytest.mark.integration
def test_bench_coupling_quick_prints_the_json_keys() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "coupling", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures.keys() >= KEYS
    assert figures["consists"] == 60 and figures["consists_confirmed"] == 60
