"""The alarm record format on Kafka: versioned JSON, one topic per day, keyed by alarm id.

Other companies' systems consume these topics too, so the format is
language-neutral (UTF-8 JSON, documented in ``docs/alarms.md``) and versioned
(``"v": 1``). Every record is an *envelope*::

    {"v": 1, "type": "change" | "snapshot" | "end", "server": "A", "seq": 1234,
     "ms": 1795879236564, "snapshot_offset": 5120, "body": {...}}

- ``seq``: the producing server's change counter; grows by one per change.
  A snapshot part carries the ``seq`` of the last change it includes.
- ``snapshot_offset``: the offset, in this topic (partition 0), of the first
  part of the newest *complete* snapshot written before this record, or -1
  when there is none yet. Reading the last record of a topic therefore tells a
  consumer where to start: no need to read the day from offset 0.
- ``change`` body: one :class:`AlarmEvent`.
- ``snapshot`` body: ``{"id": …, "part": i, "parts": n, "alarms": [AlarmEvent…]}``;
  the active alarms (each as its latest state) split into parts that fit a
  Kafka message; the parts of one snapshot are written consecutively.
- ``end`` body: ``{"next_topic": "alarms.20261129"}``: the last record of a
  day's topic, written at midnight (line time zone) before the next day's topic
  starts with a snapshot.

Decoding never trusts the input: the bytes must be strict UTF-8 JSON whose
strings any encoder can write (no lone surrogates: :mod:`app.wiretext`), every
field is checked for presence, type and range, and a bad record raises
:class:`RecordError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from app.wiretext import WireTextError, decode_json

SCHEMA_VERSION = 1
#: Alarms per snapshot part: ~400 bytes each keeps a part well under Kafka's 1 MB default.
SNAPSHOT_PART_SIZE = 1000
#: The longest a shelve lasts (a shift): servers refuse longer; readers cap longer or open-ended.
MAX_SHELVE_MS = 8 * 3600 * 1000


class RecordError(ValueError):
    """A record that cannot be used.

    ``where`` names the record and field (``alarms.20261128@512.body.priority``),
    ``detail`` what is wrong; ``str(err)`` is both.
    """

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


class Priority(IntEnum):
    """Four levels, 1 the most urgent (ISA-18.2 recommends at most four)."""

    CRITICAL = 1
    HIGH = 2
    MEDIUM = 3
    LOW = 4


class EventType(StrEnum):
    RAISE = "raise"  # the condition became active
    CLEAR = "clear"  # the condition returned to normal
    ACK = "ack"  # a dispatcher acknowledged it
    SHELVE = "shelve"  # hidden by a dispatcher until ``shelved_until_ms``
    UNSHELVE = "unshelve"
    SUPPRESS = "suppress"  # suppressed by design (e.g. the device is in maintenance)
    UNSUPPRESS = "unsuppress"
    OUT_OF_SERVICE = "out_of_service"
    RETURN_TO_SERVICE = "return_to_service"


class RecordType(StrEnum):
    CHANGE = "change"
    SNAPSHOT = "snapshot"
    END = "end"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One change of one alarm, or (in a snapshot) an alarm's current state.

    In a snapshot, ``event`` is the alarm's last event, and ``active`` and
    ``acked`` say where it stands.
    """

    alarm_id: str
    event: EventType
    device: str
    station: str
    zone: str
    priority: Priority
    kind: str  # "switch_lost", "signal_lamp", "section_fault", "train_fault", ...
    code: str  # message code, stable across languages ("ALM-SW-001")
    text_zh: str
    text_en: str
    raised_ms: int  # when the condition became active
    event_ms: int  # when this event happened
    active: bool  # the condition is present now
    acked: bool  # acknowledged since it was last raised
    by: str = ""  # who acknowledged / shelved / suppressed
    shelved_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    snapshot_id: str
    part: int  # 0-based
    parts: int
    alarms: tuple[AlarmEvent, ...]


@dataclass(frozen=True, slots=True)
class EndOfTopic:
    next_topic: str


Body = AlarmEvent | SnapshotPart | EndOfTopic


@dataclass(frozen=True, slots=True)
class Record:
    type: RecordType
    server: str
    seq: int
    ms: int
    snapshot_offset: int
    body: Body
    v: int = SCHEMA_VERSION


# -- topics ---------------------------------------------------------------------------


def topic_for(prefix: str, when_ms: int, tz: str) -> str:
    """The topic of the day ``when_ms`` falls in, in the line's time zone: ``prefix.YYYYMMDD``."""
    day = dt.datetime.fromtimestamp(when_ms / 1000, ZoneInfo(tz)).date()
    return f"{prefix}.{day:%Y%m%d}"


def next_midnight_ms(when_ms: int, tz: str) -> int:
    """Wall-clock ms of the next midnight after ``when_ms`` in the line's time zone."""
    zone = ZoneInfo(tz)
    now = dt.datetime.fromtimestamp(when_ms / 1000, zone)
    tomorrow = (now + dt.timedelta(days=1)).date()
    midnight = dt.datetime.combine(tomorrow, dt.time(0, 0), zone)
    return int(midnight.timestamp() * 1000)


# -- encoding -------------------------------------------------------------------------


def event_json(e: AlarmEvent) -> dict[str, Any]:
    """An event as the JSON object of the format (also the simulator's replica form)."""
    return {
        "alarm_id": e.alarm_id,
        "event": e.event.value,
        "device": e.device,
        "station": e.station,
        "zone": e.zone,
        "priority": int(e.priority),
        "kind": e.kind,
        "code": e.code,
        "text_zh": e.text_zh,
        "text_en": e.text_en,
        "raised_ms": e.raised_ms,
        "event_ms": e.event_ms,
        "active": e.active,
        "acked": e.acked,
        "by": e.by,
        "shelved_until_ms": e.shelved_until_ms,
    }


def encode_record(rec: Record) -> bytes:
    body: dict[str, Any]
    if isinstance(rec.body, AlarmEvent):
        body = event_json(rec.body)
    elif isinstance(rec.body, SnapshotPart):
        body = {
            "id": rec.body.snapshot_id,
            "part": rec.body.part,
            "parts": rec.body.parts,
            "alarms": [event_json(a) for a in rec.body.alarms],
        }
    else:
        body = {"next_topic": rec.body.next_topic}
    doc = {
        "v": rec.v,
        "type": rec.type.value,
        "server": rec.server,
        "seq": rec.seq,
        "ms": rec.ms,
        "snapshot_offset": rec.snapshot_offset,
        "body": body,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def record_key(rec: Record) -> bytes:
    """The Kafka key: the alarm id for a change, the snapshot id for a part."""
    if isinstance(rec.body, AlarmEvent):
        return rec.body.alarm_id.encode()
    if isinstance(rec.body, SnapshotPart):
        return f"snapshot:{rec.body.snapshot_id}".encode()
    return b"end"


# -- decoding -------------------------------------------------------------------------


def _field(doc: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in doc:
        raise RecordError(f"{where}.{name}", "missing")
    value = doc[name]
    # bool is an int in Python: never accept one for the other.
    if isinstance(value, bool) and kind is not bool:
        raise RecordError(f"{where}.{name}", f"expected {_kind_name(kind)}, got bool")
    if not isinstance(value, kind):
        raise RecordError(
            f"{where}.{name}", f"expected {_kind_name(kind)}, got {type(value).__name__}"
        )
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def _nonneg(doc: dict[str, Any], name: str, where: str) -> int:
    value: int = _field(doc, name, int, where)
    if value < 0:
        raise RecordError(f"{where}.{name}", f"must be >= 0, got {value}")
    return value


def _text(doc: dict[str, Any], name: str, where: str, *, empty: bool = True) -> str:
    value: str = _field(doc, name, str, where)
    if not empty and not value:
        raise RecordError(f"{where}.{name}", "must not be empty")
    return value


def decode_event(doc: Any, where: str) -> AlarmEvent:
    """One event from its JSON object, checked field by field (:class:`RecordError`)."""
    if not isinstance(doc, dict):
        raise RecordError(where, f"expected an object, got {type(doc).__name__}")
    event_text = _text(doc, "event", where)
    try:
        event = EventType(event_text)
    except ValueError:
        raise RecordError(f"{where}.event", f"unknown event type {event_text!r}") from None
    priority_value = _field(doc, "priority", int, where)
    try:
        priority = Priority(priority_value)
    except ValueError:
        raise RecordError(f"{where}.priority", f"must be 1..4, got {priority_value}") from None
    return AlarmEvent(
        alarm_id=_text(doc, "alarm_id", where, empty=False),
        event=event,
        device=_text(doc, "device", where),
        station=_text(doc, "station", where),
        zone=_text(doc, "zone", where),
        priority=priority,
        kind=_text(doc, "kind", where, empty=False),
        code=_text(doc, "code", where),
        text_zh=_text(doc, "text_zh", where),
        text_en=_text(doc, "text_en", where),
        raised_ms=_nonneg(doc, "raised_ms", where),
        event_ms=_nonneg(doc, "event_ms", where),
        active=_field(doc, "active", bool, where),
        acked=_field(doc, "acked", bool, where),
        by=_text(doc, "by", where) if "by" in doc else "",
        shelved_until_ms=_nonneg(doc, "shelved_until_ms", where)
        if "shelved_until_ms" in doc
        else 0,
    )


def decode_record(data: bytes | None, where: str = "record") -> Record:
    """Parse and check one record; ``where`` names it in errors (e.g. ``alarms.20261128@512``)."""
    if data is None:
        raise RecordError(where, "empty value")
    try:
        # Strict UTF-8, no lone surrogates: text that passed here can be printed and logged.
        doc = decode_json(data, where)
    except WireTextError as exc:
        raise RecordError(exc.where, exc.detail) from None
    if not isinstance(doc, dict):
        raise RecordError(where, f"expected a JSON object, got {type(doc).__name__}")
    version = _field(doc, "v", int, where)
    if version != SCHEMA_VERSION:
        raise RecordError(
            f"{where}.v", f"unknown schema version {version} (this reads {SCHEMA_VERSION})"
        )
    type_text = _text(doc, "type", where)
    try:
        kind = RecordType(type_text)
    except ValueError:
        raise RecordError(f"{where}.type", f"unknown record type {type_text!r}") from None
    server = _text(doc, "server", where)
    seq = _nonneg(doc, "seq", where)
    ms = _nonneg(doc, "ms", where)
    snapshot_offset = _field(doc, "snapshot_offset", int, where)
    if snapshot_offset < -1:
        raise RecordError(f"{where}.snapshot_offset", f"must be >= -1, got {snapshot_offset}")
    raw = _field(doc, "body", dict, where)
    body: Body
    if kind is RecordType.CHANGE:
        body = decode_event(raw, f"{where}.body")
    elif kind is RecordType.SNAPSHOT:
        w = f"{where}.body"
        parts = _nonneg(raw, "parts", w)
        part = _nonneg(raw, "part", w)
        if parts < 1 or part >= parts:
            raise RecordError(w, f"part {part} of {parts} is impossible")
        alarms = _field(raw, "alarms", list, w)
        body = SnapshotPart(
            _text(raw, "id", w, empty=False),
            part,
            parts,
            tuple(decode_event(a, f"{w}.alarms[{i}]") for i, a in enumerate(alarms)),
        )
    else:
        body = EndOfTopic(_text(raw, "next_topic", f"{where}.body", empty=False))
    return Record(kind, server, seq, ms, snapshot_offset, body, version)


def snapshot_records(
    alarms: list[AlarmEvent],
    *,
    snapshot_id: str,
    server: str,
    seq: int,
    ms: int,
    snapshot_offset: int,
    part_size: int = SNAPSHOT_PART_SIZE,
) -> list[Record]:
    """The parts of one snapshot (at least one, possibly with no alarms)."""
    chunks = [alarms[i : i + part_size] for i in range(0, len(alarms), part_size)] or [[]]
    return [
        Record(
            RecordType.SNAPSHOT,
            server,
            seq,
            ms,
            snapshot_offset,
            SnapshotPart(snapshot_id, i, len(chunks), tuple(chunk)),
        )
        for i, chunk in enumerate(chunks)
    ]
