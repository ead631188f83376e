"""The server's journal: one JSON object per line, flushed per entry.

A command decision is an object with the command's fields and its result; an actual
arrival or departure (running to a timetable) is ``{"record": "actual", ...}`` with
the :class:`~app.timetable.actuals.Actual`'s fields."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from app.model.commands import Command, CommandResult
from app.timetable.actuals import Actual


class Journal:
    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._file: TextIO | None = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the server

    def record(
        self, time_ms: int, node: str, cmd: Command, result: CommandResult, *, repeat: bool = False
    ) -> None:
        """One decision. ``repeat``: a known idempotency key, answered without executing."""
        if self._file is None:
            return
        entry = {
            "time_ms": time_ms,
            "server": node,
            **asdict(cmd),
            "result": result.outcome.value,
            "reason_code": result.reason_code,
            "reason": result.reason,
            "repeat": repeat,
        }
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()

    def record_actual(self, node: str, service_date: str, actual: Actual) -> None:
        """One actual arrival or departure, as the server reported it."""
        if self._file is None:
            return
        entry = {"record": "actual", "server": node, "service_date": service_date, **asdict(actual)}
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()

    async def aclose(self) -> None:
        """Close the file; a second call does nothing."""
        if self._file is not None:
            self._file.close()
            self._file = None
