"""`python -m bench replay` on a tiny run (six simulated minutes, ten moments) prints its
JSON line: keys and sane values only, no timing asserts (CI machines vary); the
replayed pictures match the live ones exactly, that is no timing."""

from __future__ import annotations

import math

import pytest

from tests.bench.runner import run_bench

pytestmark = [pytest.mark.integration, pytest.mark.ui]


def test_bench_replay_tiny_prints_the_json_keys() -> None:
    run = run_bench(
        "replay",
        *("--hours", "0.1", "--moments", "10", "--paint-seconds", "1"),
        timeout=180,
        QT_QPA_PLATFORM="offscreen",
    )
    f = run.figures
    for key in (
        "recorder_cpu_share",
        "session_cpu_share",
        "bytes_per_day",
        "bytes_per_wall_hour",
        "seek_p95_ms",
        "baseline_seek_p95_ms",
        "replay_paint_ratio",
        "replay_paint_p95_ms",
        "replay_tick_p95_ms",
        "baseline_replay_paint_p95_ms",
    ):
        assert math.isfinite(f[key]) and f[key] >= 0, key
    assert f["records"] > 0 and f["bytes"] > 0
    assert f["moments"] >= 5  # a moment mid-failover is skipped
    assert f["state_mismatches"] == 0 and f["baseline_state_mismatches"] == 0
    assert f["replay_paints"] >= 10  # the window painted as it played
    assert f["replay_paint_ratio"] == pytest.approx(f["replay_paint_p95_ms"] / 16.7, abs=1e-2)
    assert "baseline" in run.stdout
