"""ISCS hand-off messages: versioned JSON bodies in the project's frames.

Values, never shared memory: the HMI encodes a hand-off, the ISCS program
decodes its own copy. Each message type has one frozen dataclass; decoding
checks every field and names the first wrong one (:class:`IscsMessageError`).

- ``ISCS_HELLO`` (child → HMI, first): ``{"v", "secret", "program"}``; the
  one-time secret handed to the child at launch. Anything else first, or a
  wrong secret, closes the channel.
- ``ISCS_HANDOFF`` (HMI → child): ``{"v", "id", "kind", "station", "device",
  "alarm_id", "dispatcher", "created_ms"}``; ``kind`` is ``show_station``,
  ``show_device`` or ``show_alarm``.
- ``ISCS_ACK`` (child → HMI): ``{"v", "id"}``: the child has handled (or had
  already handled) that hand-off; the HMI drops it from its outbox.

A body must be strict UTF-8 JSON with no lone surrogate in any string
(``app/wiretext.py``): the console program prints hand-offs, and the window shows them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from app.protocol.frames import MessageType
from app.wiretext import WireTextError, decode_json

VERSION = 1
MAX_BODY = 16 * 1024  # a hand-off is small; anything bigger is refused


class IscsMessageError(ValueError):
    """A message that cannot be used; says which field and why."""


class HandoffKind(StrEnum):
    SHOW_STATION = "show_station"
    SHOW_DEVICE = "show_device"
    SHOW_ALARM = "show_alarm"


@dataclass(frozen=True, slots=True)
class IscsHello:
    secret: str
    program: str = ""
    v: int = VERSION


@dataclass(frozen=True, slots=True)
class Handoff:
    id: str
    kind: HandoffKind
    station: str = ""
    device: str = ""
    alarm_id: str = ""
    dispatcher: str = ""
    created_ms: int = 0
    v: int = VERSION


@dataclass(frozen=True, slots=True)
class HandoffAck:
    id: str
    v: int = VERSION


IscsMessage = IscsHello | Handoff | HandoffAck

TYPE_OF: dict[type[Any], MessageType] = {
    IscsHello: MessageType.ISCS_HELLO,
    Handoff: MessageType.ISCS_HANDOFF,
    HandoffAck: MessageType.ISCS_ACK,
}


def encode(msg: IscsMessage) -> tuple[MessageType, bytes]:
    body = asdict(msg)
    return TYPE_OF[type(msg)], json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def _text(doc: dict[str, Any], name: str, where: str, *, empty: bool = True) -> str:
    if name not in doc:
        raise IscsMessageError(f"{where}.{name}: missing")
    value = doc[name]
    if not isinstance(value, str):
        raise IscsMessageError(f"{where}.{name}: expected str, got {type(value).__name__}")
    if not empty and not value:
        raise IscsMessageError(f"{where}.{name}: must not be empty")
    if len(value) > 256:
        raise IscsMessageError(f"{where}.{name}: longer than 256 characters")
    return value


def decode(kind: MessageType, payload: bytes, where: str = "iscs") -> IscsMessage:
    if len(payload) > MAX_BODY:
        raise IscsMessageError(f"{where}: body of {len(payload)} bytes exceeds {MAX_BODY}")
    try:
        doc = decode_json(payload, where)
    except WireTextError as exc:
        # json.loads(bytes) would also take UTF-16/32 and pass raw surrogate bytes through.
        raise IscsMessageError(str(exc)) from None
    if not isinstance(doc, dict):
        raise IscsMessageError(f"{where}: expected an object, got {type(doc).__name__}")
    version = doc.get("v")
    if type(version) is not int or version != VERSION:
        raise IscsMessageError(f"{where}.v: unknown version {version!r} (this reads {VERSION})")
    if kind is MessageType.ISCS_HELLO:
        return IscsHello(_text(doc, "secret", where, empty=False), _text(doc, "program", where))
    if kind is MessageType.ISCS_ACK:
        return HandoffAck(_text(doc, "id", where, empty=False))
    if kind is MessageType.ISCS_HANDOFF:
        kind_text = _text(doc, "kind", where)
        try:
            handoff_kind = HandoffKind(kind_text)
        except ValueError:
            raise IscsMessageError(f"{where}.kind: unknown kind {kind_text!r}") from None
        created = doc.get("created_ms", 0)
        if type(created) is not int or created < 0:
            raise IscsMessageError(f"{where}.created_ms: expected an int >= 0")
        return Handoff(
            _text(doc, "id", where, empty=False),
            handoff_kind,
            _text(doc, "station", where),
            _text(doc, "device", where),
            _text(doc, "alarm_id", where),
            _text(doc, "dispatcher", where),
            created,
        )
    raise IscsMessageError(f"{where}: message type {kind.name} is not an ISCS message")
