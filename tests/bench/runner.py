"""Running a benchmark as ``python -m bench NAME ...`` in a child process, as a person would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BenchRun:
    stdout: str
    figures: dict[str, Any]  # the last line, one JSON object


def run_bench(*args: str, timeout: float = 180, **env: str) -> BenchRun:
    """Run one benchmark to its end; fails with its stderr when it exits non-zero."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=dict(os.environ, **env),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return BenchRun(proc.stdout, json.loads(proc.stdout.strip().splitlines()[-1]))
