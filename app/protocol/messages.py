"""Message bodies: typed values in, JSON payloads out, and back with validation.

Every payload is a UTF-8 JSON object whose keys are the fields of one frozen
dataclass. Decoding (msgspec, into those dataclasses) checks every field's presence
and type and names the first wrong one (``SNAPSHOT.sections[3].occupied: expected
bool, got str``). The bytes must be strict UTF-8 and no string may hold a lone
surrogate (``app/wiretext.py``): such text would pass here and crash whatever prints
it later.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec
from msgspec import inspect as mi

from app.model.commands import Command, CommandResult
from app.model.state import StateDelta, StateSnapshot
from app.protocol.errors import LocalProtocolError, RemoteProtocolError
from app.protocol.frames import Frame, MessageType
from app.timetable.actuals import Actual
from app.wiretext import WireTextError, decode_json


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame each way. A client says who it is; a server says its role and epoch.

    On a protected link (``docs/security.md``) ``nonce`` is each side's fresh random
    value (32 hex digits), ``key_id`` names the pre-shared key and ``to`` the
    server the client means to reach; the connection fills them in.
    """

    node: str
    role: str
    line_id: str
    line_digest: str
    protocol: int = 1
    dispatcher: str = ""
    udp_port: int = 0
    epoch: int = 0
    nonce: str = ""
    key_id: str = ""
    to: str = ""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent on an idle link. From a server it carries its role and epoch.

    ``ping_ms`` (a client's own monotonic clock) asks for an immediate answer that
    echoes it in ``pong_ms``, which gives the client the round-trip time.
    """

    node: str = ""
    role: str = ""
    epoch: int = 0
    ping_ms: int = 0
    pong_ms: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Replica:
    """Server to server: the master's whole internal state, for its standby to mirror.

    ``body`` is the simulator's own JSON document (``World.export``); it is not
    part of the HMI protocol and an HMI never receives it.
    """

    node: str
    epoch: int
    seq: int
    body: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A server refuses a client's HELLO: why, as a code (``LinkRefusal`` in
    ``app/protocol/connection.py``), sent unprotected instead of its HELLO, then it
    closes. Codes only, never the detail (docs/protocol.md, "Protected links")."""

    code: str


#: The message set this code speaks (HELLO ``protocol``; docs/protocol.md, "Levels"):
#: 1, the first; 2 adds ACTUALS and the service clock in SNAPSHOT and DELTA. Each end
#: sends the highest it speaks; both then use the lower of the two.
PROTOCOL_LEVEL = 2


def negotiated_level(theirs: int, ours: int = PROTOCOL_LEVEL) -> int:
    """The level a link runs at: the lower of the two ends' (at least 1)."""
    return max(1, min(theirs, ours))


#: At most this many records in one ACTUALS message (a day's catch-up comes in several).
ACTUALS_PER_MESSAGE = 2000


@dataclass(frozen=True, slots=True)
class Actuals:
    """Server -> HMI at protocol level 2: actual arrivals and departures (实绩) of
    the service day ``service_date`` against timetable ``timetable`` (its id and digest,
    ``<id>@<digest>``). ``catch_up``: part of the day so far, sent after a SNAPSHOT
    (``last``: the final part of it); otherwise new events as they happen."""

    service_date: str
    timetable: str
    records: tuple[Actual, ...] = ()
    catch_up: bool = False
    last: bool = True


Message = (
    Hello
    | Heartbeat
    | StateSnapshot
    | StateDelta
    | Command
    | CommandResult
    | SnapshotRequest
    | Replica
    | Refused
    | Actuals
)

MESSAGE_CLASSES: dict[MessageType, type[Any]] = {
    MessageType.HELLO: Hello,
    MessageType.HEARTBEAT: Heartbeat,
    MessageType.SNAPSHOT: StateSnapshot,
    MessageType.DELTA: StateDelta,
    MessageType.COMMAND: Command,
    MessageType.COMMAND_RESULT: CommandResult,
    MessageType.SNAPSHOT_REQUEST: SnapshotRequest,
    MessageType.REPLICA: Replica,
    MessageType.REFUSED: Refused,
    MessageType.ACTUALS: Actuals,
}
MESSAGE_TYPES: dict[type[Any], MessageType] = {cls: t for t, cls in MESSAGE_CLASSES.items()}
_DECODERS = {t: msgspec.json.Decoder(cls) for t, cls in MESSAGE_CLASSES.items()}
#: json.loads refuses an integer of more digits than this (Python's int/str limit, 0:
#: none); msgspec skips one in a key it ignores, so such a payload goes the slow way.
_MAX_DIGITS = sys.get_int_max_str_digits()
_DIGIT_RUN = b"1" * (_MAX_DIGITS + 1)
_DIGITS_AS_1 = bytes(49 if 48 <= b <= 57 else 48 for b in range(256))  # b"0".."9" -> b"1"


def encode_message(msg: Message) -> tuple[MessageType, bytes]:
    try:
        mtype = MESSAGE_TYPES[type(msg)]
    except KeyError:
        raise LocalProtocolError(f"{type(msg).__name__} is not a protocol message") from None
    body = json.dumps(_plain(msg), separators=(",", ":"), ensure_ascii=False)
    return mtype, body.encode("utf-8")


def decode_message(frame: Frame) -> Message:
    """The message in ``frame``, checked against its class: every field's presence
    (unless it has a default) and type, keys it does not know ignored. A bad payload
    raises :class:`RemoteProtocolError` naming the field (``SNAPSHOT.sections[3].occupied``).

    msgspec decodes and checks the bytes in one pass; a payload it refuses is read
    again, slowly, to say what and where with the same words as every other refusal
    (:func:`_explain`).
    """
    decoder = _DECODERS.get(frame.type)
    payload = frame.payload
    if decoder is not None and not _may_hold_a_long_integer(payload):
        try:
            # msgspec checks UTF-8 only in the strings it keeps: the whole payload, first.
            codecs.utf_8_decode(payload, "strict", True)
            msg: Message = decoder.decode(payload)
            return msg
        except (msgspec.MsgspecError, RecursionError, ValueError):
            pass  # UnicodeDecodeError is a ValueError
    return _explain(frame)


def _may_hold_a_long_integer(payload: bytes) -> bool:
    """Whether ``payload`` has a run of digits longer than json.loads reads (a string
    of digits too: then the slow path decides). A translate and a search: a regular
    expression over a large snapshot took longer than decoding it."""
    return (
        bool(_MAX_DIGITS)
        and len(payload) > _MAX_DIGITS
        and _DIGIT_RUN in bytes(payload).translate(_DIGITS_AS_1)
    )


def _explain(frame: Frame) -> Message:
    """The slow path of :func:`decode_message`: the payload again, saying what is wrong.

    ``decode_json`` refuses what is not strict UTF-8 JSON (a lone surrogate, NaN, an
    integer longer than Python reads: msgspec would skip one in a key it ignores),
    then ``msgspec.convert`` of that document names the field it refuses.
    """
    where = frame.type.name
    try:
        raw = decode_json(frame.payload, where)
    except WireTextError as exc:
        # Callers count and report RemoteProtocolError; .where names the field (HELLO.node).
        raise RemoteProtocolError(exc.detail, exc.where) from None
    cls = MESSAGE_CLASSES.get(frame.type)
    if cls is None:
        # A type the frame codec knows but this link does not carry (the ISCS
        # channel's messages, for one): the peer's error, never a crash here.
        raise RemoteProtocolError("message type is not carried on this link", where)
    if not isinstance(raw, dict):
        raise RemoteProtocolError(f"expected an object, got {_kind(raw)}", where)
    try:
        msg: Message = msgspec.convert(raw, cls)
    except msgspec.ValidationError as exc:
        message, _, at = str(exc).partition(" - at `$")
        path: list[str | int] = [
            name or int(index) for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", at)
        ]
        missing = re.fullmatch(r"Object missing required field `(\w+)`", message)
        if missing:
            raise RemoteProtocolError("missing field", _place(where, [*path, missing[1]])) from None
        raise RemoteProtocolError(_problem(message, cls, raw, path), _place(where, path)) from None
    return msg


def _place(where: str, path: list[str | int]) -> str:
    return where + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)


def _problem(message: str, cls: Any, raw: Any, path: list[str | int]) -> str:
    """msgspec's ``message`` about the value at ``path`` in ``raw``, in our words."""
    t = _type_info(cls)
    value = raw
    for key in path:
        value = value[key]
        while isinstance(t, mi.Metadata):
            t = t.type
        if isinstance(t, mi.DataclassType):
            t = next(f.type for f in t.fields if f.name == key)
        elif isinstance(t, mi.VarTupleType):
            t = t.item_type
    if isinstance(t, mi.EnumType):
        allowed = ", ".join(str(m.value) for m in t.cls)
        return f"{value!r} is not one of {allowed}"
    if message == "Number out of range":  # an integer past a float's range (1e309 written out)
        return "number out of range"
    if expected := re.fullmatch(r"Expected `(\w+)`, got `\w+`", message):
        name = {"object": "an object", "array": "a list"}.get(expected[1], expected[1])
        return f"expected {name}, got {_kind(value)}"
    return message


@cache
def _type_info(cls: Any) -> mi.Type:
    return mi.type_info(cls)


def _plain(obj: object) -> object:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in _fields(type(obj))}
    if isinstance(obj, tuple | list):
        return [_plain(x) for x in obj]
    return obj


@cache
def _fields(cls: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)


def _kind(value: object) -> str:
    return {dict: "object", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
