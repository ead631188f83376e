"""An ACTUALS record's numbers are bounded on the wire: what the actuals store's columns
hold. Out of bounds is a refusal naming the field (the link's bad-frame path), never an
OverflowError raised into the event loop by the store (as a unit past 32 bits did)."""

from __future__ import annotations

import json

import pytest

from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import Frame, MessageType
from app.protocol.messages import Actuals, decode_message


def frame(**record: object) -> Frame:
    rec = {
        "trip": "01001",
        "order": 0,
        "station": "S01",
        "platform": "P01D",
        "kind": "depart",
        "at_ms": 21_630_000,
        "planned_ms": 21_630_000,
        "unit": 7,
    }
    rec.update(record)
    body = {"service_date": "2026-12-06", "timetable": "t@0", "records": [rec]}
    return Frame(MessageType.ACTUALS, 1, json.dumps(body).encode())


def test_a_record_within_bounds_decodes() -> None:
    msg = decode_message(frame())
    assert isinstance(msg, Actuals) and msg.records[0].unit == 7


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unit", 1 << 31),
        ("unit", -1),
        ("order", -1),
        ("at_ms", 1 << 62),
        ("planned_ms", -(1 << 40)),
    ],
)
def test_a_number_past_its_column_is_refused_by_name(field: str, value: int) -> None:
    with pytest.raises(RemoteProtocolError, match=rf"records\[0\]\.{field}"):
        decode_message(frame(**{field: value}))
