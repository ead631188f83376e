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
import re
import sys
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from app.wiretext import WireTextError, decode_json

SCHEMA_VERSION = 1
#: Alarms per snapshot part: ~400 bytes each keeps a part well under Kafka's 1 MB default.
SNAPSHOT_PART_SIZE = 1000
#: The longest a shelve lasts (a shift): servers refuse longer; readers cap longer or open-ended.
MAX_SHELVE_MS = 8 * 3600 * 1000


_B = TypeVar("_B")
#: A count or a time in ms: an integer >= 0.
_Count = Annotated[int, msgspec.Meta(ge=0)]
#: A name that must not be empty.
_Name = Annotated[str, msgspec.Meta(min_length=1)]


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

    alarm_id: _Name
    event: EventType
    device: str
    station: str
    zone: str
    priority: Priority
    kind: _Name  # "switch_lost", "signal_lamp", "section_fault", "train_fault", ...
    code: str  # message code, stable across languages ("ALM-SW-001")
    text_zh: str
    text_en: str
    raised_ms: _Count  # when the condition became active
    event_ms: _Count  # when this event happened
    active: bool  # the condition is present now
    acked: bool  # acknowledged since it was last raised
    by: str = ""  # who acknowledged / shelved / suppressed
    shelved_until_ms: _Count = 0


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    snapshot_id: str
    part: int  # 0-based
    parts: int
    alarms: tuple[AlarmEvent, ...]


@dataclass(frozen=True, slots=True)
class EndOfTopic:
    next_topic: _Name


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
#
# msgspec decodes and checks the bytes against the types above (the constraints are
# in their annotations) in one pass. A record it refuses is looked at again, slowly,
# to say exactly what and where: ``decode_json`` (strict UTF-8, JSON, lone
# surrogates: the same refusals as every other wire text) and then
# ``msgspec.convert`` of that document to the same types, whose error names the
# field; the value found there completes the message.


class _Envelope(msgspec.Struct, Generic[_B], frozen=True):
    """What every record holds on the wire; ``body`` is checked by ``type``."""

    v: Literal[1]  # SCHEMA_VERSION
    type: RecordType
    server: str
    seq: _Count
    ms: _Count
    snapshot_offset: Annotated[int, msgspec.Meta(ge=-1)]
    body: _B


class _SnapshotBody(msgspec.Struct, frozen=True):
    """A snapshot part's body on the wire (:class:`SnapshotPart`)."""

    id: _Name
    part: _Count
    parts: _Count
    alarms: tuple[AlarmEvent, ...]


_BODY_TYPES: dict[RecordType, Any] = {
    RecordType.CHANGE: AlarmEvent,
    RecordType.SNAPSHOT: _SnapshotBody,
    RecordType.END: EndOfTopic,
}
_ENVELOPE = msgspec.json.Decoder(_Envelope[msgspec.Raw])
_BODIES = {kind: msgspec.json.Decoder(tp) for kind, tp in _BODY_TYPES.items()}
#: json.loads refuses an integer of more digits than this (Python's int/str limit, 0:
#: none); msgspec skips one in a field it ignores, so such a record takes the slow path.
_MAX_DIGITS = sys.get_int_max_str_digits()
_DIGIT_RUN = b"1" * (_MAX_DIGITS + 1)
_DIGITS_AS_1 = bytes(49 if 48 <= b <= 57 else 48 for b in range(256))  # b"0".."9" -> b"1"


def _may_hold_a_long_integer(data: bytes) -> bool:
    """Whether ``data`` has a run of digits longer than json.loads reads (a string of
    digits too: then the slow path decides). A translate and a search: a regular
    expression over a snapshot's 300 kB took longer than decoding it."""
    return (
        bool(_MAX_DIGITS) and len(data) > _MAX_DIGITS and _DIGIT_RUN in data.translate(_DIGITS_AS_1)
    )


#: msgspec's own wording -> ours, for the type names it uses
_TYPE_NAMES = {"object": "dict", "array": "list", "null": "NoneType"}
_EXPECTED = re.compile(r"Expected `(\w+)`, got `\w+`")
_BOUND = re.compile(r"Expected `int` (>=) (-?\d+)")
#: What an invalid enum value means, by field name.
_INVALID = {
    "v": lambda value: f"unknown schema version {value} (this reads {SCHEMA_VERSION})",
    "type": lambda value: f"unknown record type {value!r}",
    "event": lambda value: f"unknown event type {value!r}",
    "priority": lambda value: f"must be 1..4, got {value}",
}


def _record(env: _Envelope[Any], body: Any) -> Record:
    if isinstance(body, _SnapshotBody):
        if body.parts < 1 or body.part >= body.parts:
            raise ValueError(f"part {body.part} of {body.parts} is impossible")
        body = SnapshotPart(body.id, body.part, body.parts, body.alarms)
    return Record(env.type, env.server, env.seq, env.ms, env.snapshot_offset, body, env.v)


def decode_record(data: bytes | None, where: str = "record") -> Record:
    """Parse and check one record; ``where`` names it in errors (e.g. ``alarms.20261128@512``)."""
    if data is None:
        raise RecordError(where, "empty value")
    if not _may_hold_a_long_integer(data):
        try:
            # msgspec checks UTF-8 only in the strings it keeps: the whole record, first.
            bytes(data).decode("utf-8")
            env = _ENVELOPE.decode(data)
            return _record(env, _BODIES[env.type].decode(env.body))
        except (msgspec.MsgspecError, RecursionError, ValueError):
            pass  # UnicodeDecodeError is a ValueError
    return _explain(data, where)


def _explain(data: bytes, where: str) -> Record:
    """The slow path of :func:`decode_record`: the record again, saying what is wrong."""
    try:
        # Strict UTF-8, no lone surrogates: text that passed here can be printed and logged.
        doc = decode_json(data, where)
    except WireTextError as exc:
        raise RecordError(exc.where, exc.detail) from None
    if not isinstance(doc, dict):
        raise RecordError(where, f"expected a JSON object, got {type(doc).__name__}")
    env = _convert(doc, _Envelope[dict[str, Any]], where)
    body = _convert(env.body, _BODY_TYPES[env.type], f"{where}.body")
    try:
        return _record(env, body)
    except ValueError as exc:
        raise RecordError(f"{where}.body", str(exc)) from None


def decode_event(doc: Any, where: str) -> AlarmEvent:
    """One event from its JSON object, checked field by field (:class:`RecordError`)."""
    if not isinstance(doc, dict):
        raise RecordError(where, f"expected an object, got {type(doc).__name__}")
    event: AlarmEvent = _convert(doc, AlarmEvent, where)
    return event


def _convert(doc: Any, tp: Any, where: str) -> Any:
    """``msgspec.convert(doc, tp)``; its refusal as a :class:`RecordError` naming the
    field, worded from the value found there."""
    try:
        return msgspec.convert(doc, tp)
    except msgspec.ValidationError as exc:
        message, _, at = str(exc).partition(" - at `$")
        keys = re.findall(r"\.([^.\[]+)|\[(\d+)\]", at.rstrip("`"))
        path = [name or int(index) for name, index in keys]
        missing = re.fullmatch(r"Object missing required field `(.+)`", message)
        if missing:
            path.append(missing[1])
            raise RecordError(_dotted(where, path), "missing") from None
        raise RecordError(_dotted(where, path), _detail(message, path, doc)) from None


def _dotted(where: str, path: list[str | int]) -> str:
    return where + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)


def _detail(message: str, path: list[str | int], doc: Any) -> str:
    """msgspec's ``message`` about the value at ``path`` in ``doc``, in our words."""
    value = doc
    for key in path:
        value = value[key]
    got = type(value).__name__
    if expected := _EXPECTED.fullmatch(message):
        name = _TYPE_NAMES.get(expected[1], expected[1])
        if name == "dict" and path and isinstance(path[-1], int):
            return f"expected an object, got {got}"  # an event in a snapshot's list
        return f"expected {name}, got {got}"
    if bound := _BOUND.fullmatch(message):
        return f"must be {bound[1]} {bound[2]}, got {value}"
    if message == "Expected `str` of length >= 1":
        return "must not be empty"
    if message.startswith("Invalid enum value") and path and path[-1] in _INVALID:
        return _INVALID[str(path[-1])](value)
    return message


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
