"""The memory diagnostics as a support engineer switches them on (issue 21): the real
demo with ``--diagnose-memory`` writes records with every part, the program runs its
own heap upkeep, and ``dispatcher-cli diagnose`` reads the file it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]


def test_the_demo_records_its_memory_runs_its_upkeep_and_the_cli_reads_the_file(
    tmp_path: Path,
) -> None:
    records = tmp_path / "memory.jsonl"
    log_file = tmp_path / "hmi.log"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DISPATCHER_DATA=str(tmp_path / "data"))
    argv = [
        "--demo", "--no-login", "--quit-after", "25", "--log-file", str(log_file),
        "--log-level", "DEBUG", "--heap-upkeep-every", "2",
        "--diagnose-memory", "--diagnose-every", "0.05", "--diagnose-file", str(records),
    ]  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-m", "ui.main", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [json.loads(x) for x in records.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 3, lines
    last = lines[-1]
    for part in ("proc", "malloc", "py", "qt"):
        assert part in last, f"no {part!r} in the last record: {sorted(last)}"
    assert last["qt"]["objects_total"] > 100
    # librdkafka's statistics reach the record once the alarm feed has sent them
    assert any("kafka" in r for r in lines), "no librdkafka statistics in any record"
    log = log_file.read_text(encoding="utf-8", errors="replace")
    assert "heap upkeep:" in log, "the program did not run its heap upkeep"

    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "diagnose", str(records), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["records"] == len(lines)
