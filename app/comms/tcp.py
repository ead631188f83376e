"""The TCP receive path: the socket reads straight into a ring, the framer cuts frames in place.

:class:`FramedProtocol` is an ``asyncio.BufferedProtocol``: the transport asks
it for a buffer (``get_buffer``: the ring's free space), receives into it, and
says how many bytes came (``buffer_updated``), and the protocol then hands every
complete frame to ``on_frame``. No per-read ``bytes`` object, no growing
buffer; the only copy is each good frame's payload. See ``docs/comms.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.comms.ring import DEFAULT_CAPACITY, RingBuffer, RingFramer
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import MAX_PAYLOAD, Frame

log = logging.getLogger(__name__)


class FramedProtocol(asyncio.BufferedProtocol):
    """Frames in, callbacks out.

    On the first :class:`RemoteProtocolError` it counts ``bad_frames``, calls
    ``on_error(exc)`` once and stops delivering: later bytes are read and thrown
    away until the owner closes the transport (nothing after a bad frame is
    trusted). Closing is the owner's decision, normally from ``on_error``.
    """

    def __init__(
        self,
        on_frame: Callable[[Frame], None],
        on_error: Callable[[RemoteProtocolError], None] | None = None,
        *,
        on_connection_made: Callable[[asyncio.Transport], None] | None = None,
        on_connection_lost: Callable[[Exception | None], None] | None = None,
        capacity: int = DEFAULT_CAPACITY,
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        self._on_frame = on_frame
        self._on_error = on_error
        self._on_made = on_connection_made
        self._on_lost = on_connection_lost
        self.ring = RingBuffer(capacity)
        self.framer = RingFramer(self.ring, max_payload)
        self.transport: asyncio.Transport | None = None
        self.bytes_received = 0
        self.frames_received = 0
        self.bad_frames = 0
        self.error: RemoteProtocolError | None = None

    # -- asyncio.BaseProtocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._on_made is not None:
            self._on_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._on_lost is not None:
            self._on_lost(exc)

    # -- asyncio.BufferedProtocol -----------------------------------------------

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.error is not None:
            # Broken: whatever still arrives is read into the ring and forgotten.
            self.ring.clear()
        return self.ring.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self.ring.buffer_updated(nbytes)
        self.bytes_received += nbytes
        if self.error is not None:
            return
        framer = self.framer
        before = framer.frames_decoded
        try:
            framer.drain(self._on_frame)
        except RemoteProtocolError as exc:
            self.error = exc
            self.bad_frames += 1
            if self._on_error is not None:
                self._on_error(exc)
            else:
                log.warning("bad frame: %s", exc)
        finally:
            self.frames_received += framer.frames_decoded - before
