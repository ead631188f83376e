"""The benchmark runs end to end and prints its JSON line (figures are not checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.bench.runner import run_bench

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "tcp_frames_per_s",
    "tcp_baseline_frames_per_s",
    "tcp_ratio",
    "udp_datagrams_per_s",
    "udp_baseline_datagrams_per_s",
    "udp_ratio",
    "udp_buffer_allocs_per_datagram",
    "tcp_mac_frames_per_s",
    "tcp_mac_ratio",
    "udp_mac_datagrams_per_s",
    "udp_mac_ratio",
    "failover_ms",
    "heartbeat_timeout_ms",
}


def test_bench_comms_quick_prints_the_json_keys() -> None:
    run = run_bench("comms", "--quick", timeout=120)
    figures = run.figures
    assert figures.keys() >= KEYS
    assert all(isinstance(figures[k], int | float) for k in KEYS)


def test_bench_lists_its_benchmarks() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "bench", *args]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)

    listed = run("--help")
    assert listed.returncode == 0
    assert "comms" in listed.stdout
    assert run().returncode == 2
    unknown = run("nope")
    assert unknown.returncode == 2
    assert "unknown benchmark" in unknown.stderr


def test_bench_soak_short_run_prints_its_growth_figure() -> None:
    run = run_bench("soak", "--minutes", "0.25", "--sample-s", "2", timeout=120)
    figures = run.figures
    assert {"rss_growth_mb_per_hour", "frames", "datagrams", "gaps"} <= figures.keys()
    assert figures["frames"] > 0 and figures["datagrams"] > 0
    assert figures["protected"] and figures["integrity_failures"] == 0


def test_bench_soak_program_short_run_samples_the_real_program() -> None:
    run = run_bench("soak", "--program", "--minutes", "0.2", "--sample-s", "2", timeout=180)
    figures = run.figures
    assert figures["mode"] == "program" and figures["samples"] >= 3
    assert figures["rss_start_mb"] > 50  # the whole program with Qt, not an empty process
    assert figures["log_errors"] == 0
