"""`python -m bench coupling --quick` runs and prints its JSON line (keys, not figures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.runner import run_bench

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
    run = run_bench("coupling", "--quick", timeout=120)
    figures = run.figures
    assert figures.keys() >= KEYS
    assert figures["consists"] == 60 and figures["consists_confirmed"] == 60
