"""Engineering configuration: the line file, the workstation file and the timetable
file (YAML).

``load_line(path)`` gives the :class:`app.model.topology.Line`; ``load_workstation(path)``
gives a :class:`Workstation`; ``load_timetable(path, line)`` a
:class:`app.timetable.model.Timetable`. All raise :class:`ConfigError` (file:line:column:
path: message) at the first problem. ``check_files`` backs ``dispatcher-hmi
--check-config``. The schema is described in ``docs/configuration.md`` and
``docs/timetable.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app.config.errors import ConfigError
from app.config.line import line_from_document, load_line, parse_line
from app.config.loader import Document, compose, read_text, top_key
from app.config.timetable import compose_fast, load_timetable, timetable_from_document
from app.config.workstation import (
    Address,
    Language,
    Server,
    Workstation,
    load_workstation,
    parse_workstation,
    workstation_from_document,
)
from app.model.roles import Role
from app.model.topology import Line
from app.paths import default_line_file, default_workstation_file
from app.timetable.model import Timetable
from app.timetable.times import format_service_time

__all__ = [
    "Address",
    "ConfigError",
    "Language",
    "Role",
    "Server",
    "Workstation",
    "check_files",
    "describe_line",
    "describe_timetable",
    "load_line",
    "load_timetable",
    "load_workstation",
    "parse_line",
    "parse_workstation",
]


def describe_line(line: Line) -> str:
    """A one-line summary: ids, names and object counts."""
    return (
        f"line {line.id} ({line.name_en}): {len(line.stations)} stations, "
        f"{len(line.platforms)} platforms, {len(line.sections)} sections, "
        f"{len(line.links)} links, {len(line.switches)} switches, {len(line.signals)} signals, "
        f"{len(line.routes)} routes, {len(line.zones)} zones, digest {line.digest()}"
    )


def describe_timetable(timetable: Timetable) -> str:
    """A one-line summary: ids, counts, the span of the day and the digest."""
    first, last = timetable.span_s()
    changeover = format_service_time(timetable.changeover_s, with_seconds=False)
    return (
        f"timetable {timetable.id} ({timetable.line_id}, {timetable.day_type}): "
        f"{len(timetable.trips)} trips, {len(timetable.workings)} workings, "
        f"{len(timetable.stops)} stops, {format_service_time(first)}-{format_service_time(last)}, "
        f"changeover {changeover}, digest {timetable.digest()}"
    )


class _Checking:
    """One ``--check-config`` run: the line a timetable file is checked against is the
    last line file (or a workstation file's line) checked before it, else the line of
    the workstation file (``--config``, else the default one), else the demo line."""

    def __init__(self, workstation: str | Path | None) -> None:
        self.workstation = workstation
        self.line: tuple[Line, str] | None = None  # the line, and where it came from

    def check(self, path: str) -> str:
        """Load one file of any kind; the summary to print, or ConfigError."""
        text = read_text(path)
        doc = compose_fast(text, path)
        kind = top_key(doc)
        if kind in ("line", "workstation"):
            doc = compose(text, path)  # read exactly as load_line and load_workstation do
        if kind == "line":
            line = line_from_document(doc)
            self.line = (line, path)
            return describe_line(line)
        if kind == "workstation":
            ws = workstation_from_document(doc, Path(path).resolve().parent)
            line = load_line(ws.line)
            self.line = (line, str(ws.line))
            servers = "; ".join(f"{s.id} {' '.join(map(str, s.addresses))}" for s in ws.servers)
            plan = ""
            if ws.timetable.file:  # the timetable it names, against its line
                plan = f"; {describe_timetable(load_timetable(ws.timetable.file, line))}"
            return (
                f"workstation {ws.id} ({ws.dispatcher}, {ws.role}, {ws.language}), "
                f"servers [{servers}]; {describe_line(line)}{plan}"
            )
        if kind == "timetable":
            return self.timetable(doc)
        raise doc.error(
            "",
            "unknown kind of file: the top level must be a mapping with the key 'line' "
            "(a line file), 'workstation' (a workstation file) or 'timetable' (a "
            "timetable file)",
            doc.root,
        )

    def timetable(self, doc: Document) -> str:
        if self.line is None:
            self.line = self.default_line()
        line, where = self.line
        timetable = timetable_from_document(doc, line)
        return f"{describe_timetable(timetable)}; checked against line {line.id} ({where})"

    def default_line(self) -> tuple[Line, str]:
        """The workstation file's line, else the shipped demo line."""
        config = Path(self.workstation) if self.workstation else default_workstation_file()
        if self.workstation is not None or config.is_file():
            line_file = load_workstation(config).line
        else:
            line_file = default_line_file()
        return load_line(line_file), str(line_file)


def check_files(
    paths: Sequence[str], out: TextIO | None = None, *, workstation: str | Path | None = None
) -> int:
    """Check each file; print ``OK <path>: <summary>`` or the error.

    Returns 0 when every file is fine, 1 at the first bad one (the rest are not
    checked). A workstation file also loads the line file and the timetable file it
    names. A timetable file is
    checked against the line file checked last before it, else the line of
    ``workstation`` (default: the machine's or the shipped workstation file).
    """
    stream = out if out is not None else sys.stdout
    checking = _Checking(workstation)
    for path in paths:
        try:
            summary = checking.check(str(path))
        except ConfigError as exc:
            print(exc, file=stream)
            return 1
        print(f"OK {path}: {summary}", file=stream)
    return 0
