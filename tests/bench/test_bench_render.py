"""`python -m bench render --quick` drives the real window and prints its JSON line.

Keys and sane values only: no timing asserts (CI machines vary).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.ui
def test_bench_render_quick_prints_the_json_keys() -> None:
    run = run_bench(
        "render",
        "--quick",
        "--seconds",
        "1",
        "--trains",
        "60",
        timeout=300,
        QT_QPA_PLATFORM="offscreen",
    )
    figures = run.figures
    for key in ("paint_p95_ms", "loop_lag_p99_ms", "paint_ratio", "lag_ratio", "startup_s"):
        assert math.isfinite(figures[key]) and figures[key] >= 0, key
    assert figures["budget_ms"] == 16.7
    assert figures["trains"] == 60
    assert figures["frames_per_s"] > 0 and figures["baseline_frames_per_s"] > 0
    assert figures["paint_ratio"] == pytest.approx(figures["paint_p95_ms"] / 16.7, abs=1e-2)
    assert "baseline" in run.stdout


def test_the_trains_run_on_both_main_lines() -> None:
    from app.config import load_line
    from app.model.topology import Direction
    from app.paths import resource_dir
    from bench.render import main_line_paths

    line = load_line(resource_dir() / "lines" / "demo-line.yaml")
    (d1, down), (d2, up) = main_line_paths(line)
    assert (d1, d2) == (Direction.DOWN, Direction.UP)
    assert len(down) > 50 and len(up) > 50
    assert not {s for s, _ in down} & {s for s, _ in up}
    # every platform of the line lies on one of them
    on_main = {s for s, _ in down} | {s for s, _ in up}
    assert {p.section for p in line.platforms} <= on_main
