"""Engineering configuration: the line file and the workstation file (YAML).

``load_line(path)`` gives the :class:`app.model.topology.Line`; ``load_workstation(path)``
gives a :class:`Workstation`. Both raise :class:`ConfigError` (file:line:column: path:
message) at the first problem. ``check_files`` backs ``dispatcher-hmi --check-config``.
The schema is described in ``docs/configuration.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app.config.errors import ConfigError
from app.config.line import line_from_document, load_line, parse_line
from app.config.loader import compose, read_text, top_key
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

__all__ = [
    "Address",
    "ConfigError",
    "Language",
    "Role",
    "Server",
    "Workstation",
    "check_files",
    "describe_line",
    "load_line",
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


def _check_one(path: str) -> str:
    """Load one file of either kind; the summary to print, or ConfigError."""
    doc = compose(read_text(path), path)
    kind = top_key(doc)
    if kind == "line":
        return describe_line(line_from_document(doc))
    if kind == "workstation":
        ws = workstation_from_document(doc, Path(path).resolve().parent)
        line = load_line(ws.line)
        servers = "; ".join(f"{s.id} {' '.join(map(str, s.addresses))}" for s in ws.servers)
        return (
            f"workstation {ws.id} ({ws.dispatcher}, {ws.role}, {ws.language}), "
            f"servers [{servers}]; {describe_line(line)}"
        )
    raise doc.error(
        "",
        "unknown kind of file: the top level must be a mapping with the key "
        "'line' (a line file) or 'workstation' (a workstation file)",
        doc.root,
    )


def check_files(paths: Sequence[str], out: TextIO | None = None) -> int:
    """Check each file; print ``OK <path>: <summary>`` or the error.

    Returns 0 when every file is fine, 1 at the first bad one (the rest are not
    checked). A workstation file also loads the line file it names.
    """
    stream = out if out is not None else sys.stdout
    for path in paths:
        try:
            summary = _check_one(str(path))
        except ConfigError as exc:
            print(exc, file=stream)
            return 1
        print(f"OK {path}: {summary}", file=stream)
    return 0
