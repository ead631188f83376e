"""One end of a protocol link, sans-I/O: message values in and out, bytes in and out.

The same class serves the HMI and the simulator. It numbers outgoing frames
and checks incoming ones: on a TCP stream nothing can be lost or reordered, so
any sequence jump means a broken or forged stream and is a protocol error.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    MAX_PAYLOAD,
    NEED_DATA,
    Frame,
    FrameDecoder,
    NeedData,
    encode_frame,
)
from app.protocol.messages import Message, decode_message, encode_message


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Connection:
    def __init__(
        self, max_payload: int = MAX_PAYLOAD, clock_ms: Callable[[], int] = wall_clock_ms
    ) -> None:
        self._decoder = FrameDecoder(max_payload)
        self._clock_ms = clock_ms
        self._send_seq = 0
        self._recv_seq: int | None = None
        self.frames_received = 0
        self.frames_sent = 0

    def send(self, msg: Message) -> bytes:
        mtype, payload = encode_message(msg)
        data = encode_frame(mtype, self._send_seq, payload, timestamp_ms=self._clock_ms())
        self._send_seq = (self._send_seq + 1) & 0xFFFFFFFF
        self.frames_sent += 1
        return data

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        self._decoder.receive_data(data)

    def next_event(self) -> Message | NeedData:
        frame = self._decoder.next_event()
        if frame is NEED_DATA:
            return NEED_DATA
        assert not isinstance(frame, NeedData)
        return self.accept(frame)

    def accept(self, frame: Frame) -> Message:
        """Check and decode a frame cut by another framer (e.g. ``app.comms.ring.RingFramer``).

        Applies the sequence rule, then decodes the payload. Use either this or
        ``receive_data``/``next_event`` on one connection, not both.
        """
        expected = 0 if self._recv_seq is None else (self._recv_seq + 1) & 0xFFFFFFFF
        if frame.seq != expected:
            raise RemoteProtocolError(
                f"frame sequence {frame.seq}, expected {expected}", "header.seq"
            )
        self._recv_seq = frame.seq
        self.frames_received += 1
        return decode_message(frame)
