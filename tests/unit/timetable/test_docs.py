"""docs/timetable.md and the timetable file's declarations cannot drift apart: every
key declared is in its section's table with its default, bounds and allowed values,
and every key a table lists is declared."""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from msgspec import inspect as mi

from app.config import timetable as tt

DOC = Path(__file__).resolve().parents[3] / "docs" / "timetable.md"

SECTIONS: dict[str, type[Any]] = {
    "timetable": tt.TimetableEntry,
    "trips[]": tt.TripEntry,
    "workings[]": tt.WorkingEntry,
}


def tables() -> dict[str, dict[str, tuple[str, str]]]:
    """Heading -> key -> (its default, its row), from the tables with a Key column."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    rows: dict[str, tuple[str, str]] = {}
    columns: list[str] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"#{2,3} (.*)", line):
            name = re.match(r"`([^`]+)`", heading[1].strip())
            rows = found.setdefault(name[1] if name else heading[1].strip(), {})
            columns = []
        elif line.startswith("| Key |"):
            columns = [c.strip() for c in line.strip("|").split("|")]
        elif line.startswith("| `") and columns:
            cells = [c.strip() for c in line.strip("|").split("|")]
            key = re.findall(r"`([^`]+)`", cells[0])[0]
            rows[key] = (cells[columns.index("Default")], line)
    return found


def shown(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


DOCUMENTED = tables()


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_declared_key_is_documented(heading: str) -> None:
    rows = DOCUMENTED[heading]
    info = mi.type_info(SECTIONS[heading])
    assert isinstance(info, mi.DataclassType)
    types = {f.name: f.type for f in info.fields}
    for field in dataclasses.fields(SECTIONS[heading]):
        assert field.name in rows, f"{heading}: {field.name} is not in the table"
        default, row = rows[field.name]
        assert default == shown(field.default), f"{heading}.{field.name}: {default}"
        t = types[field.name]
        while isinstance(t, mi.Metadata):
            t = t.type
        if isinstance(t, mi.EnumType):
            for member in t.cls:
                assert f"`{member.value}`" in row, f"{heading}.{field.name}: {member.value}"
        if isinstance(t, mi.IntType):
            for bound in (t.ge, t.le):
                assert bound is None or str(bound) in row, f"{heading}.{field.name}: {bound}"


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_documented_key_is_declared(heading: str) -> None:
    declared = {f.name for f in dataclasses.fields(SECTIONS[heading])}
    assert set(DOCUMENTED[heading]) <= declared
