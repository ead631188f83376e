"""Wire protocol v1, sans-I/O: bytes in, events out; events in, bytes out.

See ``docs/protocol.md``. Nothing here touches a socket.
"""

from app.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from app.protocol.frames import (
    HEADER_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    NEED_DATA,
    PROTOCOL_VERSION,
    TRAILER_SIZE,
    Frame,
    FrameDecoder,
    MessageType,
    NeedData,
    encode_frame,
)

__all__ = [
    "HEADER_SIZE",
    "MAGIC",
    "MAX_PAYLOAD",
    "NEED_DATA",
    "PROTOCOL_VERSION",
    "TRAILER_SIZE",
    "Frame",
    "FrameDecoder",
    "LocalProtocolError",
    "MessageType",
    "NeedData",
    "ProtocolError",
    "RemoteProtocolError",
    "encode_frame",
]
