"""The fixed-size train status datagram (48 bytes, big-endian).

::

    0   2  magic b"TS"        16  2  train id          34  1  direction (0 down, 1 up)
    2   1  version (1)        18  8  number, ASCII     35  1  coupling state
    3   1  flags (0)          26  2  section index     36  1  cab role
    4   4  sequence           28  4  offset, cm        37  1  reserved
    8   8  timestamp, ms      32  2  speed, 0.1 km/h   38  2  consist id (0: not given)
                                                       40  1  unit index in the consist
                                                       41  1  units in the consist (0: not given)
                                                       42  2  reserved
                                                       44  4  CRC-32 of bytes 0..43

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

UDP_MAGIC: Final = b"TS"
UDP_VERSION: Final = 1
_BODY = struct.Struct(">2sBBIQH8sHIHBBBBHBB2x")
_CRC = struct.Struct(">I")
RECORD_SIZE: Final = _BODY.size + _CRC.size
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


def encode_train_status(rec: TrainStatus) -> bytes:
    try:
        number = rec.number.encode("ascii")
        if len(number) > 8:
            raise ValueError("longer than 8 characters")
        body = _BODY.pack(
            UDP_MAGIC,
            UDP_VERSION,
            0,
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
    return body + _CRC.pack(zlib.crc32(body))


def decode_train_status(
    data: bytes | bytearray | memoryview, length: int | None = None
) -> TrainStatus:
    """Decode one datagram in place. ``length`` is how many bytes were received."""
    n = len(data) if length is None else length
    if n != RECORD_SIZE:
        raise RemoteProtocolError(f"datagram of {n} bytes, expected {RECORD_SIZE}", "datagram")
    (crc,) = _CRC.unpack_from(data, _BODY.size)
    with memoryview(data) as view:
        actual = zlib.crc32(view[: _BODY.size])
    if crc != actual:
        raise RemoteProtocolError(f"CRC mismatch ({crc:#010x} != {actual:#010x})", "datagram.crc")
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
