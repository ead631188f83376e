"""docs/configuration.md and the declarations cannot drift apart.

Every key a configuration class declares is in the key table of its section in the
document, with the same default ("required" when it has none, "see below" for a
nested section), its bounds in the row or in the section's text, and its enum
values in the row; and every key a table lists is declared.
"""

from __future__ import annotations

import dataclasses
import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from msgspec import inspect as mi

from app.config import line as ln
from app.config import workstation as ws

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"

#: Section heading in the document -> the class declaring its keys.
SECTIONS: dict[str, type[Any]] = {
    "line": ln.LineEntry,
    "train": ln.TrainEntry,
    "stations[]": ln.StationEntry,
    "platforms[]": ln.PlatformEntry,
    "sections[]": ln.SectionEntry,
    "links[]": ln.LinkEntry,
    "switches[]": ln.SwitchEntry,
    "signals[]": ln.SignalEntry,
    "routes[]": ln.RouteEntry,
    "zones[]": ln.ZoneEntry,
    "The workstation file": ws.Workstation,
    "servers[]": ws.Server,
    "heartbeat": ws.HeartbeatSettings,
    "commands": ws.CommandSettings,
    "redis": ws.RedisSettings,
    "kafka": ws.KafkaSettings,
    "security": ws.SecuritySettings,
    "iscs": ws.IscsSettings,
    "coupling": ws.CouplingSettings,
    "login": ws.LoginSettings,
    "timetable": ws.TimetableSettings,
    "blackbox": ws.BlackBoxSettings,
}


@dataclasses.dataclass
class Section:
    #: everything between the heading and the next one
    text: str = ""
    #: key -> (its default, its row)
    rows: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)


def sections() -> dict[str, Section]:
    found: dict[str, Section] = {}
    current = Section()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"#{2,3} (.*)", line):
            title = heading[1].strip()
            name = re.match(r"`([^`]+)`", title)
            current = found.setdefault(name[1] if name else title, Section())
            columns: list[str] = []
            continue
        current.text += line + "\n"
        if line.startswith("| Key |"):
            columns = [c.strip() for c in line.strip("|").split("|")]
        elif line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
            default = cells[columns.index("Default")] if "Default" in columns else "required"
            for key in re.findall(r"`([^`]+)`", cells[0]):
                current.rows[key] = (default.strip("`"), line)
    return found


def shown(value: Any) -> str:
    """A default as the document writes it."""
    if dataclasses.is_dataclass(value):
        return "see below"
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return json.dumps([str(v) for v in value])
    return '""' if value == "" else str(value)


def declared(cls: type[Any]) -> list[tuple[str, str, mi.Type]]:
    """(key, default as shown, msgspec type) of each key ``cls`` declares."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.DataclassType)
    types = {f.name: f.type for f in info.fields}
    out = []
    for f in dataclasses.fields(cls):
        default = "required" if f.default is dataclasses.MISSING else shown(f.default)
        out.append((f.name, default, types[f.name]))
    return out


def numbers(text: str) -> set[str]:
    """The numbers in ``text``, thousands written with spaces joined (3 600 000)."""
    return set(re.findall(r"\d+", re.sub(r"(?<=\d) (?=\d{3}\b)", "", text)))


def bare(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


DOCUMENTED = sections()


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_declared_key_is_documented_with_its_default(heading: str) -> None:
    section = DOCUMENTED[heading]
    for key, default, declared_type in declared(SECTIONS[heading]):
        assert key in section.rows, f"{heading}: {key} is not in the table"
        written, row = section.rows[key]
        assert written == default, f"{heading}.{key}: the document says {written}"
        t = bare(declared_type)
        if isinstance(t, mi.IntType | mi.FloatType):
            bounds = {str(b) for b in (t.ge, t.gt, t.le) if b is not None}
            missing = bounds - numbers(row) - numbers(section.text.split("| Key |")[0])
            assert not missing, f"{heading}.{key}: bounds {missing} are not in the document"
        if isinstance(t, mi.EnumType):
            for member in t.cls:
                assert not member.value or member.value in row, f"{heading}.{key}: {member.value}"


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_documented_key_is_declared(heading: str) -> None:
    keys = {key for key, _, _ in declared(SECTIONS[heading])}
    assert set(DOCUMENTED[heading].rows) <= keys
