"""`python -m bench fuzz` in CI: a quick run over every boundary, no crash and no hang.

The longer run (``--inputs 1000000``) is for a person; its figures are in
docs/performance.md. Speed is not asserted here.
"""

from __future__ import annotations

from tests.bench.runner import run_bench

BOUNDARIES = {"tcp_frames", "udp_datagrams", "alarm_records", "iscs_messages", "yaml_config"}
KEYS = {"inputs", "crashes", "hangs", "leaks_mb", "inputs_per_s", "refused", "accepted"}


def test_bench_fuzz_quick_run_finds_no_crash_and_no_hang() -> None:
    run = run_bench("fuzz", "--inputs", "400", "--seed", "3", timeout=300)
    figures = run.figures
    assert figures["boundaries"].keys() == BOUNDARIES
    for name, res in figures["boundaries"].items():
        assert res.keys() >= KEYS, name
        assert res["inputs"] == 400, name
        assert res["crashes"] == 0 and res["hangs"] == 0, (name, run.stdout)
        assert res["refused"] > 0, name  # the inputs do reach the checks
    assert figures["crashes"] == 0 and figures["hangs"] == 0
    # Mutated inputs that stay valid show the generator gets past the integrity checks.
    assert figures["boundaries"]["tcp_frames"]["accepted"] > 0
    assert figures["boundaries"]["udp_datagrams"]["accepted"] > 0
