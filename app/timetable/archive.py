"""The day's actuals kept on disk: one CSV per service day (``actuals-YYYY-MM-DD.csv``).

The workstation writes its store there (:func:`save_day`, atomically: a temporary file
renamed over the old one, so a reader never sees half a file); ``dispatcher-cli
actuals --date D`` reads a past day back (:func:`read_day`). The columns are those of
:meth:`ActualsStore.write_csv` (docs/timetable.md, "Records").
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.timetable.actuals import COLUMNS, NONE, Actual, ActualKind, ActualsStore
from app.timetable.times import TimeFormatError, parse_service_time

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ArchiveError(ValueError):
    """A day's file that is not what :func:`save_day` writes: where and what."""


def day_path(folder: Path, service_date: str) -> Path:
    if not DATE.fullmatch(service_date):
        raise ArchiveError(f"not a date YYYY-MM-DD: {service_date!r}")
    return folder / f"actuals-{service_date}.csv"


def save_day(store: ActualsStore, folder: Path) -> Path | None:
    """Write ``store``'s day into ``folder`` (None: the store knows no day yet)."""
    if not store.service_date:
        return None
    path = day_path(folder, store.service_date)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            store.write_csv(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_day(path: Path) -> Iterator[dict[str, Any]]:
    """Each recorded event of a day's file as a JSON-ready dict (one per arrival or
    departure that happened; planned stops without an actual are left out)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise ArchiveError(f"{path}:1: not an actuals file (columns {header!r})")
        for n, row in enumerate(reader, 2):
            if len(row) != len(COLUMNS):
                raise ArchiveError(f"{path}:{n}: {len(row)} columns, {len(COLUMNS)} expected")
            rec = dict(zip(COLUMNS, row, strict=True))
            for kind in ("arrive", "depart"):
                if not rec[kind]:
                    continue
                try:
                    at = parse_service_time(rec[kind])
                    planned = parse_service_time(rec[f"planned_{kind}"])
                    order = int(rec["order"])
                except (TimeFormatError, ValueError) as exc:
                    raise ArchiveError(f"{path}:{n}: {exc}") from None
                yield {
                    "service_date": rec["service_date"],
                    "trip": rec["trip"],
                    "order": order,
                    "station": rec["station"],
                    "platform": rec["platform"],
                    "kind": kind,
                    "at": rec[kind],
                    "planned": rec[f"planned_{kind}"],
                    "delay_s": at - planned,
                }


def load_day(store: ActualsStore, folder: Path) -> int:
    """Put back into ``store`` (empty slots only) the events of its day kept in
    ``folder``: a workstation that restarts mid-day keeps what it had, even when its
    servers lost part of the day. The number of events put back (0: no file)."""
    if not store.service_date:
        return 0
    path = day_path(folder, store.service_date)
    if not path.is_file():
        return 0
    restored = 0
    for rec in read_day(path):
        kind = ActualKind(rec["kind"])
        at_ms = parse_service_time(rec["at"]) * 1000
        planned_ms = parse_service_time(rec["planned"]) * 1000
        actual = Actual(
            rec["trip"], rec["order"], rec["station"], rec["platform"], kind, at_ms, planned_ms
        )
        i = store.timetable.stop_index(actual.trip, actual.order)
        if i is None:
            continue
        column = store.arrive if kind is ActualKind.ARRIVE else store.depart
        if column[i] == NONE and store.record(actual) is not None:
            restored += 1
    return restored
