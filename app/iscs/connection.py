"""Sans-I/O: ISCS messages to bytes and bytes to messages, on the project's frame codec.

Both ends use it: bytes in (:meth:`IscsConnection.receive_data`), messages out
(:meth:`next_message`); messages in (:meth:`send`), bytes out. A bad frame or a
bad message raises :class:`IscsMessageError`; the stream cannot be trusted
after that and the caller closes the channel.
"""

from __future__ import annotations

from app.iscs.messages import MAX_BODY, IscsMessage, IscsMessageError, decode, encode
from app.protocol.errors import ProtocolError
from app.protocol.frames import Frame, FrameDecoder, encode_frame


class IscsConnection:
    def __init__(self, peer: str = "iscs") -> None:
        self.peer = peer
        self._decoder = FrameDecoder(max_payload=MAX_BODY)
        self._tx_seq = 0
        self._rx_seq = 0

    def send(self, msg: IscsMessage) -> bytes:
        kind, body = encode(msg)
        frame = encode_frame(kind, self._tx_seq, body)
        self._tx_seq = (self._tx_seq + 1) % (1 << 32)
        return frame

    def receive_data(self, data: bytes) -> None:
        self._decoder.receive_data(data)

    def next_message(self) -> IscsMessage | None:
        """The next whole message, or None when more bytes are needed."""
        try:
            frame = self._decoder.next_event()
        except ProtocolError as exc:
            raise IscsMessageError(f"{self.peer}: bad frame: {exc}") from None
        if not isinstance(frame, Frame):
            return None
        where = f"{self.peer}#{frame.seq}"
        if frame.seq != self._rx_seq:
            raise IscsMessageError(f"{where}: expected sequence {self._rx_seq}")
        self._rx_seq = (self._rx_seq + 1) % (1 << 32)
        return decode(frame.type, frame.payload, where)
