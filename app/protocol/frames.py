"""TCP framing: a fixed header, a payload, an optional auth tag, a CRC-32 trailer.

Layout (big-endian)::

    0   2  magic  b"MH"
    2   1  version (1)
    3   1  message type
    4   2  flags (reserved, 0)
    6   2  tag length (0 in v1; the hardening work puts a MAC here)
    8   4  sequence number (per link and direction, wraps at 2**32)
    12  8  timestamp, ms since the Unix epoch (0 = not set)
    20  4  payload length
    24  n  payload
    ..  t  auth tag
    ..  4  CRC-32 over everything before it

The decoder is a pure state machine in the style of h11: ``receive_data`` then
``next_event`` until it says ``NEED_DATA``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from app.protocol.errors import LocalProtocolError, RemoteProtocolError

MAGIC: Final = b"MH"
PROTOCOL_VERSION: Final = 1
HEADER = struct.Struct(">2sBBHHIQI")
HEADER_SIZE: Final = HEADER.size
TRAILER = struct.Struct(">I")
TRAILER_SIZE: Final = TRAILER.size
MAX_PAYLOAD: Final = 1 << 20
MAX_TAG: Final = 64


class MessageType(IntEnum):
    HELLO = 1
    HEARTBEAT = 2
    SNAPSHOT = 3
    DELTA = 4
    COMMAND = 5
    COMMAND_RESULT = 6
    SNAPSHOT_REQUEST = 7
    REPLICA = 8


class NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class Frame:
    type: MessageType
    seq: int
    payload: bytes
    timestamp_ms: int = 0
    flags: int = 0
    tag: bytes = b""


def encode_frame(
    msg_type: MessageType,
    seq: int,
    payload: bytes,
    *,
    timestamp_ms: int = 0,
    tag: bytes = b"",
    flags: int = 0,
) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise LocalProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if len(tag) > MAX_TAG:
        raise LocalProtocolError(f"auth tag of {len(tag)} bytes exceeds {MAX_TAG}")
    if not 0 <= seq < 1 << 32:
        raise LocalProtocolError(f"sequence number {seq} out of range")
    head = HEADER.pack(
        MAGIC, PROTOCOL_VERSION, int(msg_type), flags, len(tag), seq, timestamp_ms, len(payload)
    )
    body = head + payload + tag
    return body + TRAILER.pack(zlib.crc32(body))


class FrameDecoder:
    """Cuts whole frames out of a byte stream, whatever the packet boundaries.

    Raises :class:`RemoteProtocolError` on the first bad frame; after that the
    stream cannot be trusted and the link must be closed (the decoder stays broken).
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._max_payload = max_payload
        self._broken: RemoteProtocolError | None = None
        self.frames_decoded = 0

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        if self._pos and self._pos >= len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def next_event(self) -> Frame | NeedData:
        if self._broken is not None:
            raise self._broken
        try:
            return self._next()
        except RemoteProtocolError as exc:
            self._broken = exc
            raise

    def _next(self) -> Frame | NeedData:
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            # Reject a wrong magic as soon as its bytes arrive, not after a full header.
            avail = min(len(buf) - pos, len(MAGIC))
            if buf[pos : pos + avail] != MAGIC[:avail]:
                raise RemoteProtocolError(f"bad magic {bytes(buf[pos : pos + avail])!r}", "header")
            return NEED_DATA
        magic, version, mtype, flags, tag_len, seq, ts, length = HEADER.unpack_from(buf, pos)
        if magic != MAGIC:
            raise RemoteProtocolError(f"bad magic {magic!r}", "header.magic")
        if version != PROTOCOL_VERSION:
            raise RemoteProtocolError(f"unsupported version {version}", "header.version")
        if length > self._max_payload:
            raise RemoteProtocolError(
                f"payload length {length} exceeds the maximum {self._max_payload}",
                "header.length",
            )
        if tag_len > MAX_TAG:
            raise RemoteProtocolError(f"tag length {tag_len} exceeds {MAX_TAG}", "header.tag")
        total = HEADER_SIZE + length + tag_len + TRAILER_SIZE
        if len(buf) - pos < total:
            return NEED_DATA
        body_end = pos + total - TRAILER_SIZE
        (crc,) = TRAILER.unpack_from(buf, body_end)
        view = memoryview(buf)
        try:
            actual = zlib.crc32(view[pos:body_end])
        finally:
            view.release()
        if crc != actual:
            raise RemoteProtocolError(
                f"CRC mismatch (frame says {crc:#010x}, computed {actual:#010x})", "trailer.crc"
            )
        try:
            kind = MessageType(mtype)
        except ValueError:
            raise RemoteProtocolError(f"unknown message type {mtype}", "header.type") from None
        start = pos + HEADER_SIZE
        payload = bytes(buf[start : start + length])
        tag = bytes(buf[start + length : start + length + tag_len])
        self._pos = pos + total
        self.frames_decoded += 1
        return Frame(kind, seq, payload, ts, flags, tag)
