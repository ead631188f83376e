"""The fixed-size train status datagram (48 bytes, big-endian).

::

    0   2  magic b"TS"        16  2  train id          34  1  direction (0 down, 1 up)
    2   1  version (1)        18  8  number, ASCII     35  1  coupling state
    3   1  flags (bit 0: tag)  26  2  section index     36  1  cab role
    4   4  sequence           28  4  offset, cm        37  1  reserved
    8   8  timestamp, ms      32  2  speed, 0.1 km/h   38  2  consist id (0: not given)
                                                       40  1  unit index in the consist
                                                       41  1  units in the consist (0: not given)
                                                       42  2  reserved
                                                       44  4  CRC-32 of bytes 0..43

On a protected link (``docs/security.md``) flag bit 0 is set and a 16-byte
tag (HMAC-SHA256 of bytes 0..43 with the session's datagram key) sits at 44,
so the datagram is 64 bytes with its CRC-32 (of bytes 0..59) at 60.

The section index is the section's position in the line file; HELLO checks
that both ends loaded the same topology. Consist, unit index and unit count
took reserved bytes that older peers send as zeros: all three zero means "a
unit alone" (its consist is itself, index 0 of 1).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from app.protocol.errors import LocalProtocolError, RemoteProtocolError
from app.protocol.security import (
    TAG_SIZE,
    IntegrityError,
    MacKey,
    as_mac,
    datagram_tag,
    tags_equal,
)

UDP_MAGIC: Final = b"TS"
UDP_VERSION: Final = 1
_BODY = struct.Struct(">2sBBIQH8sHIHBBBBHBB2x")
_CRC = struct.Struct(">I")
RECORD_SIZE: Final = _BODY.size + _CRC.size
AUTH_RECORD_SIZE: Final = _BODY.size + TAG_SIZE + _CRC.size
"""The size of a tagged datagram (flag bit 0): 64 bytes."""
MAX_RECORD_SIZE: Final = AUTH_RECORD_SIZE
FLAG_TAGGED: Final = 0x01
NO_SECTION: Final = 0xFFFF

DIRECTIONS: Final = ("down", "up")
COUPLING_STATES: Final = ("uncoupled", "coupling", "coupled", "uncoupling")
CAB_ROLES: Final = ("none", "master", "slave")


@dataclass(frozen=True, slots=True)
class TrainStatus:
    seq: int
    timestamp_ms: int
    train_id: int
    number: str
    section_index: int
    offset_cm: int
    speed_dkmh: int
    direction: int
    coupling: int
    cab: int
    consist: int = 0  # the consist's id (0: not given: a unit alone)
    unit_index: int = 0  # this unit's place in its consist, 0 at the head
    unit_count: int = 0  # how many units the consist has (0: not given)

    def consist_fields(self) -> tuple[int, int, int]:
        """(consist, index, count), with a unit alone made explicit (its own id, 0, 1)."""
        if self.unit_count == 0:
            return self.train_id, 0, 1
        return self.consist, self.unit_index, self.unit_count


def encode_train_status(rec: TrainStatus, key: MacKey | bytes | None = None) -> bytes:
    """The datagram; with ``key``, tagged (flag bit 0, 64 bytes)."""
    try:
        number = rec.number.encode("ascii")
        if len(number) > 8:
            raise ValueError("longer than 8 characters")
        body = _BODY.pack(
            UDP_MAGIC,
            UDP_VERSION,
            0 if key is None else FLAG_TAGGED,
            rec.seq,
            rec.timestamp_ms,
            rec.train_id,
            number,
            rec.section_index,
            rec.offset_cm,
            rec.speed_dkmh,
            rec.direction,
            rec.coupling,
            rec.cab,
            0,
            rec.consist,
            rec.unit_index,
            rec.unit_count,
        )
    except (struct.error, ValueError, UnicodeEncodeError) as exc:
        raise LocalProtocolError(f"cannot encode train status {rec}: {exc}") from None
    if key is not None:
        body += datagram_tag(as_mac(key), body)
    return body + _CRC.pack(zlib.crc32(body))


def decode_train_status(
    data: bytes | bytearray | memoryview,
    length: int | None = None,
    key: MacKey | bytes | None = None,
) -> TrainStatus:
    """Decode one datagram in place. ``length`` is how many bytes were received.

    With ``key`` (a protected link) the datagram must be tagged with it; without,
    it must not be tagged. A tag that does not match, or a datagram of the
    wrong kind, raises :class:`IntegrityError` (a ``RemoteProtocolError``).
    """
    n = len(data) if length is None else length
    if n == RECORD_SIZE:
        tagged = False
    elif n == AUTH_RECORD_SIZE:
        tagged = True
    else:
        raise RemoteProtocolError(
            f"datagram of {n} bytes, expected {RECORD_SIZE} or {AUTH_RECORD_SIZE}", "datagram"
        )
    body_end = n - _CRC.size
    (crc,) = _CRC.unpack_from(data, body_end)
    with memoryview(data) as view:
        actual = zlib.crc32(view[:body_end])
        if crc != actual:
            raise RemoteProtocolError(
                f"CRC mismatch ({crc:#010x} != {actual:#010x})", "datagram.crc"
            )
        if bool(view[3] & FLAG_TAGGED) != tagged:
            raise RemoteProtocolError(
                f"flags {view[3]:#04x} do not match a {n}-byte datagram", "datagram.flags"
            )
        if key is not None:
            if not tagged:
                raise IntegrityError(
                    "unauthenticated", "untagged datagram on a protected link", "datagram.tag"
                )
            if not tags_equal(
                datagram_tag(as_mac(key), view[: _BODY.size]), bytes(view[_BODY.size : body_end])
            ):
                raise IntegrityError("mac", "tag does not match", "datagram.tag")
        elif tagged:
            raise IntegrityError(
                "unauthenticated", "tagged datagram, and this link has no key", "datagram.tag"
            )
    (
        magic,
        version,
        _flags,
        seq,
        ts,
        train_id,
        number,
        section,
        offset,
        speed,
        direction,
        coupling,
        cab,
        _res,
        consist,
        unit_index,
        unit_count,
    ) = _BODY.unpack_from(data, 0)
    if magic != UDP_MAGIC:
        raise RemoteProtocolError(f"bad magic {magic!r}", "datagram.magic")
    if version != UDP_VERSION:
        raise RemoteProtocolError(f"unsupported version {version}", "datagram.version")
    if direction >= len(DIRECTIONS):
        raise RemoteProtocolError(f"bad direction {direction}", "datagram.direction")
    if coupling >= len(COUPLING_STATES):
        raise RemoteProtocolError(f"bad coupling state {coupling}", "datagram.coupling")
    if cab >= len(CAB_ROLES):
        raise RemoteProtocolError(f"bad cab role {cab}", "datagram.cab")
    if unit_count == 0:
        if consist or unit_index:
            raise RemoteProtocolError(
                f"consist {consist} index {unit_index} with no unit count", "datagram.unit_count"
            )
    elif consist == 0:
        raise RemoteProtocolError("a unit of a consist with consist id 0", "datagram.consist")
    elif unit_index >= unit_count:
        raise RemoteProtocolError(
            f"unit index {unit_index} not below the unit count {unit_count}", "datagram.unit_index"
        )
    try:
        text = number.rstrip(b"\0").decode("ascii")
    except UnicodeDecodeError:
        raise RemoteProtocolError("train number is not ASCII", "datagram.number") from None
    return TrainStatus(
        seq,
        ts,
        train_id,
        text,
        section,
        offset,
        speed,
        direction,
        coupling,
        cab,
        consist,
        unit_index,
        unit_count,
    )
