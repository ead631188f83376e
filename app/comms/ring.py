"""A fixed ring buffer for a TCP stream, and a framer that cuts frames out of it in place.

The old client allocated a buffer per packet and fragmented its heap until it
died. Here the receive memory is one ``bytearray`` allocated when the link is
made and never resized: the socket reads straight into its free space
(``get_buffer``/``buffer_updated``, the shape of ``asyncio.BufferedProtocol``),
and :class:`RingFramer` checks headers and CRCs where the bytes lie. The only
copy is the payload (and tag) of a frame that arrived whole with a good CRC.

Capacity rule: the ring must hold the largest frame the framer accepts. A frame
announcing more than the ring can ever hold is refused (``header.length``), so a
peer cannot make the receiver wait forever for bytes that have nowhere to go.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Final

from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    FRAME_OVERHEAD,
    HEADER_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    MAX_TAG,
    NEED_DATA,
    PROTOCOL_VERSION,
    TRAILER,
    TRAILER_SIZE,
    Frame,
    Header,
    MessageType,
    NeedData,
    check_crc,
    message_type,
    parse_header,
)

_ROUND: Final = 64 * 1024
_RAW_HEADER = struct.Struct(">HBBHHIQI")
_MAGIC_U16: Final = int.from_bytes(MAGIC, "big")
_TYPES: Final = {int(t): t for t in MessageType}


def ring_capacity_for(max_payload: int = MAX_PAYLOAD) -> int:
    """The default capacity: the largest frame (payload, tag, overhead), rounded up to 64 KiB."""
    largest = max_payload + MAX_TAG + FRAME_OVERHEAD
    return -(-largest // _ROUND) * _ROUND


DEFAULT_CAPACITY: Final = ring_capacity_for(MAX_PAYLOAD)


class RingFull(Exception):
    """``get_buffer`` was called with no free space: the reader stopped consuming.

    A framed link never meets it while its framer drains every complete frame
    (a partial frame is always smaller than the ring); the protocol drops the
    link if it happens.
    """


class RingBuffer:
    """A preallocated byte ring that never grows.

    Writing: ``get_buffer()`` lends the contiguous free space after the data (up
    to the physical end, or up to the data's start once it has wrapped); write
    into it, then ``buffer_updated(n)``. Reading: ``readable`` bytes start at
    logical offset 0; ``segments``, ``byte_at``, ``copy_into``, ``read_bytes``
    look at them without consuming; ``consume(n)`` frees them. When the ring
    empties, reading and writing restart at the physical start, so data that
    keeps up with the reader rarely wraps.
    """

    __slots__ = ("_buf", "_cap", "_count", "_lent", "_mem", "_start")

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"ring capacity must be positive, not {capacity}")
        self._buf = bytearray(capacity)
        # Held for the ring's life: while a view exists the bytearray cannot be resized.
        self._mem = memoryview(self._buf)
        self._cap = capacity
        self._start = 0
        self._count = 0
        self._lent = 0

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def readable(self) -> int:
        return self._count

    @property
    def free(self) -> int:
        return self._cap - self._count

    @property
    def memory(self) -> memoryview:
        """The whole physical buffer (for ``struct.unpack_from`` at :meth:`physical` offsets)."""
        return self._mem

    def physical(self, offset: int) -> int:
        """Where the readable byte at logical ``offset`` lies in :attr:`memory`."""
        pos = self._start + offset
        return pos - self._cap if pos >= self._cap else pos

    # -- writing ----------------------------------------------------------------

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Lend the contiguous free space; never empty. Raises :class:`RingFull` when full.

        ``sizehint`` is accepted for ``asyncio.BufferedProtocol`` and ignored:
        all the contiguous free space is lent.
        """
        cap, count = self._cap, self._count
        if count >= cap:
            raise RingFull(f"ring of {cap} bytes is full")
        write = self._start + count
        if write < cap:
            end = cap
        else:
            write -= cap
            end = self._start
        self._lent = end - write
        return self._mem[write:end]

    def buffer_updated(self, nbytes: int) -> None:
        """Commit ``nbytes`` written at the start of the space the last ``get_buffer`` lent."""
        if not 0 <= nbytes <= self._lent:
            raise ValueError(f"{nbytes} bytes written, but only {self._lent} were lent")
        self._count += nbytes
        self._lent = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Copy as much of ``data`` as fits; return how many bytes were taken."""
        done = 0
        with memoryview(data) as src:
            size = len(src)
            while done < size and self._count < self._cap:
                dest = self.get_buffer()
                n = min(len(dest), size - done)
                dest[:n] = src[done : done + n]
                self.buffer_updated(n)
                done += n
        return done

    # -- reading ----------------------------------------------------------------

    def segments(self, offset: int, size: int) -> tuple[memoryview, memoryview]:
        """Readable bytes ``[offset, offset + size)`` as one or two views (second may be empty)."""
        if offset < 0 or size < 0 or offset + size > self._count:
            raise IndexError(f"bytes {offset}..{offset + size} outside the {self._count} readable")
        pos = self.physical(offset)
        end = pos + size
        if end <= self._cap:
            return self._mem[pos:end], self._mem[0:0]
        return self._mem[pos:], self._mem[: end - self._cap]

    def byte_at(self, offset: int) -> int:
        if not 0 <= offset < self._count:
            raise IndexError(f"byte {offset} outside the {self._count} readable")
        return self._buf[self.physical(offset)]

    def copy_into(self, offset: int, size: int, dest: bytearray | memoryview) -> None:
        """Gather readable bytes into the start of ``dest`` (which must be big enough)."""
        first, second = self.segments(offset, size)
        n = len(first)
        dest[:n] = first
        if second:
            dest[n:size] = second

    def read_bytes(self, offset: int, size: int) -> bytes:
        """A copy of readable bytes; one allocation, even across the physical end."""
        first, second = self.segments(offset, size)
        return bytes(first) if not second else b"".join((first, second))

    def consume(self, nbytes: int) -> None:
        if not 0 <= nbytes <= self._count:
            raise ValueError(f"cannot consume {nbytes} of {self._count} readable bytes")
        self._count -= nbytes
        if self._count == 0:
            self._start = 0
        else:
            self._start = self.physical(nbytes)

    def clear(self) -> None:
        """Forget every readable byte."""
        self._start = self._count = 0


class RingFramer:
    """Sans-I/O: cuts whole frames out of a :class:`RingBuffer`, whatever the packet boundaries.

    Same checks, order and errors as :class:`app.protocol.frames.FrameDecoder`,
    plus one: a frame larger than the ring is refused (``header.length``). After
    the first :class:`RemoteProtocolError` it stays broken and raises it again.
    """

    __slots__ = ("_broken", "_max_payload", "_ring", "_scratch", "frames_decoded")

    def __init__(self, ring: RingBuffer, max_payload: int = MAX_PAYLOAD) -> None:
        if ring.capacity < FRAME_OVERHEAD:
            raise ValueError(f"a {ring.capacity}-byte ring cannot hold even an empty frame")
        self._ring = ring
        self._max_payload = max_payload
        # Header or trailer bytes that straddle the physical end are gathered here.
        self._scratch = bytearray(HEADER_SIZE)
        self._broken: RemoteProtocolError | None = None
        self.frames_decoded = 0

    @property
    def ring(self) -> RingBuffer:
        return self._ring

    @property
    def broken(self) -> RemoteProtocolError | None:
        return self._broken

    def next_frame(self) -> Frame | NeedData:
        if self._broken is not None:
            raise self._broken
        try:
            ring = self._ring
            avail = ring._count
            start = ring._start
            cap = ring._cap
            mem = ring._mem
            if start + HEADER_SIZE <= cap and avail >= HEADER_SIZE:
                head = parse_header(mem, start, start + HEADER_SIZE, self._max_payload)
            else:
                n = min(avail, HEADER_SIZE)
                ring.copy_into(0, n, self._scratch)
                head = parse_header(self._scratch, 0, n, self._max_payload)
            if isinstance(head, NeedData):
                return NEED_DATA
            _version, code, flags, tag_len, seq, timestamp_ms, length = head
            total = FRAME_OVERHEAD + length + tag_len
            if total > cap:
                raise RemoteProtocolError(
                    f"frame of {total} bytes can never fit the {cap}-byte receive ring",
                    "header.length",
                )
            if avail < total:
                return NEED_DATA
            end = start + total
            if end <= cap:
                # The whole frame is contiguous: the common case.
                body_end = end - TRAILER_SIZE
                check_crc(TRAILER.unpack_from(mem, body_end)[0], zlib.crc32(mem[start:body_end]))
                kind = message_type(code)
                pos = start + HEADER_SIZE
                payload = bytes(mem[pos : pos + length])
                if tag_len:
                    tag = bytes(mem[pos + length : pos + length + tag_len])
                    header = bytes(mem[start:pos])
                else:
                    tag = header = b""
            else:
                kind, payload, tag, header = self._wrapped(head, total)
            ring._count = avail - total
            ring._start = 0 if avail == total else (end - cap if end >= cap else end)
            self.frames_decoded += 1
            return Frame(kind, seq, payload, timestamp_ms, flags, tag, header)
        except RemoteProtocolError as exc:
            self._broken = exc
            raise

    def drain(self, on_frame: Callable[[Frame], None]) -> int:
        """Hand every complete frame to ``on_frame``; return how many. Same errors as next_frame.

        The hot path of a link: one loop with everything in locals. A frame
        that lies whole before the physical end and whose header passes a quick
        check is cut here; anything else (short, wrapped, or wrong) goes through
        :meth:`next_frame`, which gives the exact error.
        """
        if self._broken is not None:
            raise self._broken
        ring = self._ring
        mem = ring._mem
        cap = ring._cap
        max_payload = self._max_payload
        unpack_header = _RAW_HEADER.unpack_from
        unpack_trailer = TRAILER.unpack_from
        crc32 = zlib.crc32
        types = _TYPES
        new_frame = Frame
        count = 0
        while True:
            avail = ring._count
            start = ring._start
            end_of_header = start + HEADER_SIZE
            if avail < HEADER_SIZE or end_of_header > cap:
                frame = self.next_frame()
                if isinstance(frame, NeedData):
                    return count
                count += 1
                on_frame(frame)
                continue
            magic, version, code, flags, tag_len, seq, ts, length = unpack_header(mem, start)
            total = FRAME_OVERHEAD + length + tag_len
            end = start + total
            if (
                magic != _MAGIC_U16
                or version != PROTOCOL_VERSION
                or length > max_payload
                or tag_len > MAX_TAG
                or end > cap
                or code not in types
            ):
                frame = self.next_frame()
                if isinstance(frame, NeedData):
                    return count
                count += 1
                on_frame(frame)
                continue
            if avail < total:
                return count
            body_end = end - TRAILER_SIZE
            if unpack_trailer(mem, body_end)[0] != crc32(mem[start:body_end]):
                self.next_frame()  # raises the CRC error, and the framer stays broken
                raise AssertionError("unreachable: next_frame passed a frame drain refused")
            payload = bytes(mem[end_of_header : end_of_header + length])
            if tag_len:
                tag = bytes(mem[end_of_header + length : body_end])
                header = bytes(mem[start:end_of_header])
            else:
                tag = header = b""
            if avail == total:
                ring._count = ring._start = 0
            else:
                ring._count = avail - total
                ring._start = end if end < cap else 0
            self.frames_decoded += 1
            count += 1
            on_frame(new_frame(types[code], seq, payload, ts, flags, tag, header))

    def _wrapped(self, head: Header, total: int) -> tuple[MessageType, bytes, bytes, bytes]:
        """Check and copy out a frame that crosses the physical end of the ring."""
        ring = self._ring
        first, second = ring.segments(0, total - TRAILER_SIZE)
        crc = zlib.crc32(second, zlib.crc32(first))
        first.release()
        second.release()
        ring.copy_into(total - TRAILER_SIZE, TRAILER_SIZE, self._scratch)
        check_crc(TRAILER.unpack_from(self._scratch, 0)[0], crc)
        kind = message_type(head.type)
        payload = ring.read_bytes(HEADER_SIZE, head.length)
        if not head.tag_len:
            return kind, payload, b"", b""
        tag = ring.read_bytes(HEADER_SIZE + head.length, head.tag_len)
        return kind, payload, tag, ring.read_bytes(0, HEADER_SIZE)
