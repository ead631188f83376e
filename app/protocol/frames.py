"""TCP framing: a fixed header, a payload, an optional auth tag, a CRC-32 trailer.

Layout (big-endian)::

    0   2  magic  b"MH"
    2   1  version (1)
    3   1  message type
    4   2  flags (reserved, 0)
    6   2  tag length (0 on an unprotected link; 16 with a link key: docs/security.md)
    8   4  sequence number (per link and direction, wraps at 2**32)
    12  8  timestamp, ms since the Unix epoch (0 = not set)
    20  4  payload length
    24  n  payload
    ..  t  auth tag
    ..  4  CRC-32 over everything before it

The decoder is a pure state machine in the style of h11: ``receive_data`` then
``next_event`` until it says ``NEED_DATA``. The header checks live in
:func:`parse_header`, which works on any buffer, so another framer (the ring
buffer in ``app/comms/ring.py``) applies exactly the same rules.
"""

from __future__ import annotations

import struct
import zlib
from enum import IntEnum
from typing import Final, NamedTuple

from app.protocol.errors import LocalProtocolError, RemoteProtocolError

MAGIC: Final = b"MH"
PROTOCOL_VERSION: Final = 1
HEADER = struct.Struct(">2sBBHHIQI")
HEADER_SIZE: Final = HEADER.size
TRAILER = struct.Struct(">I")
TRAILER_SIZE: Final = TRAILER.size
MAX_PAYLOAD: Final = 1 << 20
MAX_TAG: Final = 64
FRAME_OVERHEAD: Final = HEADER_SIZE + TRAILER_SIZE
"""Bytes a frame costs besides its payload and tag (28)."""
MAX_FRAME_SIZE: Final = FRAME_OVERHEAD + MAX_PAYLOAD + MAX_TAG
"""The largest frame a receiver with the default limits accepts."""


class MessageType(IntEnum):
    HELLO = 1
    HEARTBEAT = 2
    SNAPSHOT = 3
    DELTA = 4
    COMMAND = 5
    COMMAND_RESULT = 6
    SNAPSHOT_REQUEST = 7
    REPLICA = 8
    REFUSED = 9  # server -> client, instead of its HELLO: why the link is refused
    ACTUALS = 10  # server -> HMI, protocol level 2: actual arrivals and departures
    # The ISCS hand-off channel (app/iscs): HMI <-> the ISCS program it launched.
    ISCS_HELLO = 20
    ISCS_HANDOFF = 21
    ISCS_ACK = 22


class NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


_MAGIC0: Final = MAGIC[0]
_MAGIC1: Final = MAGIC[1]
# The header after the magic, in the order of Header's fields.
_FIELDS = struct.Struct(">2xBBHHIQI")
_new_tuple = tuple.__new__
_TYPES: Final = {int(t): t for t in MessageType}


class Header(NamedTuple):
    """A checked frame header, fields in wire order after the magic.

    ``type`` is the raw code: like the decoder, a framer checks it after the CRC
    (:func:`message_type`).
    """

    version: int
    type: int
    flags: int
    tag_len: int
    seq: int
    timestamp_ms: int
    length: int

    @property
    def frame_size(self) -> int:
        """Header, payload, tag and trailer: how many bytes the whole frame takes."""
        return FRAME_OVERHEAD + self.length + self.tag_len

    @property
    def body_size(self) -> int:
        """The bytes the CRC covers: everything but the trailer."""
        return HEADER_SIZE + self.length + self.tag_len


def parse_header(
    buf: bytes | bytearray | memoryview,
    offset: int = 0,
    end: int | None = None,
    max_payload: int = MAX_PAYLOAD,
) -> Header | NeedData:
    """Check the header at ``buf[offset:]``; ``NEED_DATA`` if fewer than 24 bytes are there.

    ``buf`` is any byte buffer (a memoryview must have format ``B``); ``end``
    (default ``len(buf)``) is where the received bytes stop. With fewer than 24
    bytes, the bytes of the magic that did arrive are still checked, so a stream
    that starts wrong is refused at its first byte. Checks, in order: magic,
    version, payload length (against ``max_payload``), tag length. Raises
    :class:`RemoteProtocolError` naming the field, as :class:`FrameDecoder` does.
    """
    avail = (len(buf) if end is None else end) - offset
    if avail < HEADER_SIZE:
        # Refuse a wrong magic as soon as its bytes arrive, not after a full header.
        n = max(0, min(avail, len(MAGIC)))
        got = bytes(buf[offset : offset + n])
        if got != MAGIC[:n]:
            raise RemoteProtocolError(f"bad magic {got!r}", "header")
        return NEED_DATA
    if buf[offset] != _MAGIC0 or buf[offset + 1] != _MAGIC1:
        got = bytes(buf[offset : offset + 2])
        raise RemoteProtocolError(f"bad magic {got!r}", "header.magic")
    head: Header = _new_tuple(Header, _FIELDS.unpack_from(buf, offset))
    if head[0] != PROTOCOL_VERSION:
        raise RemoteProtocolError(f"unsupported version {head[0]}", "header.version")
    if head[6] > max_payload:
        raise RemoteProtocolError(
            f"payload length {head[6]} exceeds the maximum {max_payload}", "header.length"
        )
    if head[3] > MAX_TAG:
        raise RemoteProtocolError(f"tag length {head[3]} exceeds {MAX_TAG}", "header.tag")
    return head


def check_crc(stated: int, computed: int) -> None:
    """Raise the ``trailer.crc`` error if the trailer's CRC is not the one computed."""
    if stated != computed:
        raise RemoteProtocolError(
            f"CRC mismatch (frame says {stated:#010x}, computed {computed:#010x})", "trailer.crc"
        )


def message_type(code: int) -> MessageType:
    """The message type for a header's code, or the ``header.type`` error."""
    kind = _TYPES.get(code)
    if kind is None:
        raise RemoteProtocolError(f"unknown message type {code}", "header.type")
    return kind


class Frame(NamedTuple):
    """One frame, cut and checked. A named tuple: immutable, and the cheapest
    object Python builds, which matters at hundreds of thousands a second."""

    type: MessageType
    seq: int
    payload: bytes
    timestamp_ms: int = 0
    flags: int = 0
    tag: bytes = b""
    header: bytes = b""
    """The 24 header bytes as received, kept when the frame has a tag (what the
    tag covers, with the payload); empty otherwise (see :func:`header_of`)."""


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
    if not 0 <= flags < 1 << 16:
        raise LocalProtocolError(f"flags {flags} out of range")
    if not 0 <= timestamp_ms < 1 << 64:
        raise LocalProtocolError(f"timestamp {timestamp_ms} out of range")
    head = HEADER.pack(
        MAGIC, PROTOCOL_VERSION, int(msg_type), flags, len(tag), seq, timestamp_ms, len(payload)
    )
    body = head + payload + tag
    return body + TRAILER.pack(zlib.crc32(body))


def frame_header(
    msg_type: MessageType | int,
    seq: int,
    length: int,
    *,
    timestamp_ms: int = 0,
    tag_len: int = 0,
    flags: int = 0,
) -> bytes:
    """The 24 header bytes of a frame (what a tag covers, with the payload)."""
    return HEADER.pack(
        MAGIC, PROTOCOL_VERSION, int(msg_type), flags, tag_len, seq, timestamp_ms, length
    )


def header_of(frame: Frame) -> bytes:
    """The header ``frame`` arrived with: kept by the decoder for a tagged frame,
    else rebuilt from its checked fields."""
    if frame.header:
        return frame.header
    return HEADER.pack(
        MAGIC,
        PROTOCOL_VERSION,
        int(frame.type),
        frame.flags,
        len(frame.tag),
        frame.seq,
        frame.timestamp_ms,
        len(frame.payload),
    )


def seal(header: bytes, payload: bytes, tag: bytes = b"") -> bytes:
    """Header, payload and tag with the CRC trailer: a whole frame."""
    body = header + payload + tag
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
        head = parse_header(buf, pos, None, self._max_payload)
        if isinstance(head, NeedData):
            return NEED_DATA
        total = head.frame_size
        if len(buf) - pos < total:
            return NEED_DATA
        body_end = pos + total - TRAILER_SIZE
        (crc,) = TRAILER.unpack_from(buf, body_end)
        view = memoryview(buf)
        try:
            actual = zlib.crc32(view[pos:body_end])
        finally:
            view.release()
        check_crc(crc, actual)
        kind = message_type(head.type)
        start = pos + HEADER_SIZE
        length, tag_len = head.length, head.tag_len
        payload = bytes(buf[start : start + length])
        tag = header = b""
        if tag_len:
            tag = bytes(buf[start + length : start + length + tag_len])
            header = bytes(buf[pos:start])
        self._pos = pos + total
        self.frames_decoded += 1
        return Frame(kind, head.seq, payload, head.timestamp_ms, head.flags, tag, header)
