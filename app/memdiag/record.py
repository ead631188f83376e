"""A record: one JSON line with a part per source; the file read back."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.memdiag.native import malloc_state, proc_maps, proc_status
from app.memdiag.pyheap import PythonHeap

RECORD_VERSION = 1

# -- records ---------------------------------------------------------------------------

Source = Callable[[], Mapping[str, Any] | None]


@dataclass
class Recorder:
    """Takes a record from every source and appends it to ``path`` (one JSON line).

    ``sources`` maps a part's name to a function returning its figures (or None);
    ``proc``, ``malloc`` and ``py`` are there by default.
    """

    path: Path
    sources: dict[str, Source] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    records: int = 0

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        defaults: dict[str, Source] = {
            "proc": proc_status,
            "maps": proc_maps,
            "malloc": malloc_state,
            "py": PythonHeap(),
        }
        self.sources = {**defaults, **self.sources}

    def take(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "v": RECORD_VERSION,
            "t": round(time.time(), 3),
            "s": round(time.monotonic() - self.started, 3),
            "pid": os.getpid(),
        }
        errors = {}
        for name, source in self.sources.items():
            t0 = time.perf_counter()
            try:
                part = source()
            except Exception as exc:  # a source that fails is named, the rest recorded
                errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            if part is not None:
                rec[name] = dict(part)
            rec.setdefault("cost_ms", {})[name] = round((time.perf_counter() - t0) * 1000, 1)
        if errors:
            rec["errors"] = errors
        return rec

    def write(self, rec: Mapping[str, Any] | None = None) -> dict[str, Any]:
        rec = dict(rec) if rec is not None else self.take()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.records += 1
        return rec


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a file; a line that is not a record (a cut last line) is skipped."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            text = raw.strip()
            if not text:
                continue
            try:
                rec = json.loads(text)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("s"), int | float):
                out.append(rec)
    return out
