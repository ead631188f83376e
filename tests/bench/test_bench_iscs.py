"""`python -m bench iscs --quick`: every hand-off handled once; the JSON keys are there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.runner import run_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_bench_iscs_quick() -> None:
    run = run_bench("iscs", "--quick", timeout=180)
    figures = run.figures
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
