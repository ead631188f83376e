"""The simulator's journal as the tests read it: one JSON object a line, the whole
lines only (a simulator still running may be writing the last one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every whole line of ``path`` (none when it is not there yet)."""
    if not path.exists():
        return []
    *whole, _being_written = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in whole if line.strip()]
