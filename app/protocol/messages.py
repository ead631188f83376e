"""Message bodies: typed values in, JSON payloads out, and back with validation.

Every payload is a UTF-8 JSON object whose keys are the fields of one frozen
dataclass. Decoding checks every field's presence and type and names the first
wrong one (``SNAPSHOT.sections[3].occupied: expected bool, got str``). The bytes
must be strict UTF-8 and no string may hold a lone surrogate (``app/wiretext.py``):
such text would pass here and crash whatever prints it later.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Union

from app.model.commands import Command, CommandResult
from app.model.state import StateDelta, StateSnapshot
from app.protocol.errors import LocalProtocolError, RemoteProtocolError
from app.protocol.frames import Frame, MessageType
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


Message = (
    Hello
    | Heartbeat
    | StateSnapshot
    | StateDelta
    | Command
    | CommandResult
    | SnapshotRequest
    | Replica
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
}
MESSAGE_TYPES: dict[type[Any], MessageType] = {cls: t for t, cls in MESSAGE_CLASSES.items()}


def encode_message(msg: Message) -> tuple[MessageType, bytes]:
    try:
        mtype = MESSAGE_TYPES[type(msg)]
    except KeyError:
        raise LocalProtocolError(f"{type(msg).__name__} is not a protocol message") from None
    body = json.dumps(_plain(msg), separators=(",", ":"), ensure_ascii=False)
    return mtype, body.encode("utf-8")


def decode_message(frame: Frame) -> Message:
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
    msg: Message = _build(cls, raw, where)
    return msg


def _plain(obj: object) -> object:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in _fields(type(obj))}
    if isinstance(obj, tuple | list):
        return [_plain(x) for x in obj]
    return obj


@cache
def _fields(cls: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: Any, raw: object, where: str) -> Any:
    if not isinstance(raw, dict):
        raise RemoteProtocolError(f"expected an object, got {_kind(raw)}", where)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in _fields(cls):
        if f.name in raw:
            kwargs[f.name] = _convert(raw[f.name], hints[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RemoteProtocolError("missing field", f"{where}.{f.name}")
    return cls(**kwargs)


def _convert(value: object, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item_tp, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, list):
            raise RemoteProtocolError(f"expected a list, got {_kind(value)}", where)
        return tuple(_convert(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _convert(value, option, where)
            except RemoteProtocolError as exc:
                errors.append(exc.message)
        raise RemoteProtocolError(" or ".join(errors), where)
    if tp is type(None):
        if value is not None:
            raise RemoteProtocolError(f"expected null, got {_kind(value)}", where)
        return None
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in tp)
            raise RemoteProtocolError(f"{value!r} is not one of {allowed}", where) from None
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer past a float's range (1e309 written out)
                raise RemoteProtocolError("number out of range", where) from None
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise LocalProtocolError(f"no codec for type {tp!r}", where)
    raise RemoteProtocolError(f"expected {tp.__name__}, got {_kind(value)}", where)


def _kind(value: object) -> str:
    return {dict: "object", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
