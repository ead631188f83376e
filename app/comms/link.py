"""One supervised TCP link to one server address, with its UDP status socket.

The link's life is a table-driven state machine::

    DOWN --connect--> CONNECTING --connected--> HANDSHAKE --hello--> UP
      ^                   |                        |                 |
      +------ lost -------+----------- lost -------+------ lost -----+
    any --close--> CLOSED

It reconnects by itself with capped exponential backoff until closed. Any
received frame proves the peer alive; an idle link sends a heartbeat; a peer
silent for ``missed`` intervals is declared dead and the link dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from app.protocol.connection import Connection
from app.protocol.errors import ProtocolError
from app.protocol.frames import NeedData
from app.protocol.messages import Heartbeat, Hello, Message
from app.protocol.udp import RECORD_SIZE, TrainStatus, decode_train_status

log = logging.getLogger(__name__)


class LinkState(StrEnum):
    DOWN = "down"
    CONNECTING = "connecting"
    HANDSHAKE = "handshake"
    UP = "up"
    CLOSED = "closed"


class LinkEvent(StrEnum):
    CONNECT = "connect"
    CONNECTED = "connected"
    HELLO = "hello"
    LOST = "lost"
    CLOSE = "close"


TRANSITIONS: dict[LinkState, dict[LinkEvent, LinkState]] = {
    LinkState.DOWN: {LinkEvent.CONNECT: LinkState.CONNECTING, LinkEvent.CLOSE: LinkState.CLOSED},
    LinkState.CONNECTING: {
        LinkEvent.CONNECTED: LinkState.HANDSHAKE,
        LinkEvent.LOST: LinkState.DOWN,
        LinkEvent.CLOSE: LinkState.CLOSED,
    },
    LinkState.HANDSHAKE: {
        LinkEvent.HELLO: LinkState.UP,
        LinkEvent.LOST: LinkState.DOWN,
        LinkEvent.CLOSE: LinkState.CLOSED,
    },
    LinkState.UP: {LinkEvent.LOST: LinkState.DOWN, LinkEvent.CLOSE: LinkState.CLOSED},
    LinkState.CLOSED: {LinkEvent.CLOSE: LinkState.CLOSED, LinkEvent.LOST: LinkState.CLOSED},
}


class LinkDown(Exception):
    """Raised when sending on a link that is not up."""


@dataclass(frozen=True, slots=True)
class LinkTimings:
    heartbeat_s: float = 0.5
    missed: int = 3
    connect_timeout_s: float = 2.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 5.0


@dataclass(frozen=True, slots=True)
class LinkInfo:
    name: str
    server: str
    host: str
    port: int
    state: LinkState
    peer_role: str = ""
    peer_epoch: int = 0
    reconnects: int = 0
    last_error: str = ""


class LinkHandler:
    """What a link tells its owner. Override what you need."""

    def link_state(self, link: ServerLink) -> None: ...
    def link_message(self, link: ServerLink, msg: Message) -> None: ...
    def link_status(self, link: ServerLink, rec: TrainStatus) -> None: ...


class _Tcp(asyncio.Protocol):
    def __init__(self, link: ServerLink) -> None:
        self.link = link

    def data_received(self, data: bytes) -> None:
        self.link._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._lose(f"connection lost: {exc}" if exc else "connection closed by peer")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, link: ServerLink) -> None:
        self.link = link

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.link._on_datagram(data)


class ServerLink:
    def __init__(
        self,
        name: str,
        server: str,
        host: str,
        port: int,
        hello: Callable[[int], Hello],
        handler: LinkHandler,
        timings: LinkTimings = LinkTimings(),
    ) -> None:
        self.name = name
        self.server = server
        self.host = host
        self.port = port
        self._hello = hello
        self._handler = handler
        self.timings = timings
        self.state = LinkState.DOWN
        self.peer_hello: Hello | None = None
        self.peer_role = ""
        self.peer_epoch = 0
        self.reconnects = 0
        self.last_error = ""
        self.bad_frames = 0
        self.bad_datagrams = 0
        self._conn = Connection()
        self._transport: asyncio.Transport | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._last_rx = 0.0
        self._last_tx = 0.0
        self._task: asyncio.Task[None] | None = None
        self._drop: asyncio.Event | None = None

    # -- state machine ----------------------------------------------------------

    def _fire(self, event: LinkEvent) -> None:
        new = TRANSITIONS[self.state].get(event)
        if new is None:
            raise RuntimeError(f"link {self.name}: no transition for {event} in {self.state}")
        if new is not self.state:
            log.info("link %s %s -> %s (%s)", self.name, self.state, new, event)
            self.state = new
            self._handler.link_state(self)

    def is_closed(self) -> bool:
        return self.state is LinkState.CLOSED

    def info(self) -> LinkInfo:
        return LinkInfo(
            self.name,
            self.server,
            self.host,
            self.port,
            self.state,
            self.peer_role,
            self.peer_epoch,
            self.reconnects,
            self.last_error,
        )

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def close(self) -> None:
        if self.state is not LinkState.CLOSED:
            self._fire(LinkEvent.CLOSE)
        if self._drop is not None:
            self._drop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._teardown()

    async def _run(self) -> None:
        failures = 0
        while not self.is_closed():
            self._fire(LinkEvent.CONNECT)
            try:
                await self._session()
                log.warning("link %s dropped: %s", self.name, self.last_error)
                failures = 0 if self.peer_hello is not None else failures + 1
            except (OSError, TimeoutError, ProtocolError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("link %s: %s", self.name, self.last_error)
                failures += 1
            finally:
                self._teardown()
            if self.is_closed():
                break
            self._fire(LinkEvent.LOST)
            self.reconnects += 1
            t = self.timings
            delay = min(t.reconnect_max_s, t.reconnect_min_s * 2 ** min(failures, 10))
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self._conn = Connection()
        self.peer_hello = None
        self._drop = asyncio.Event()
        self.last_error = ""
        transport, _ = await asyncio.wait_for(
            loop.create_connection(lambda: _Tcp(self), self.host, self.port),
            self.timings.connect_timeout_s,
        )
        self._transport = transport
        local_host = transport.get_extra_info("sockname")[0]
        udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(local_host, 0))
        self._udp = udp
        udp_port = udp.get_extra_info("sockname")[1]
        self._fire(LinkEvent.CONNECTED)
        self._last_rx = self._last_tx = time.monotonic()
        self._write(self._conn.send(self._hello(udp_port)))
        watchdog = loop.create_task(self._heartbeat())
        try:
            await self._drop.wait()
        finally:
            watchdog.cancel()

    async def _heartbeat(self) -> None:
        t = self.timings
        while True:
            await asyncio.sleep(t.heartbeat_s / 4)
            now = time.monotonic()
            if now - self._last_rx > t.heartbeat_s * t.missed:
                self._lose(f"no frame for {now - self._last_rx:.2f} s (heartbeat timeout)")
                return
            if self.state is LinkState.UP and now - self._last_tx >= t.heartbeat_s:
                self._write(self._conn.send(Heartbeat()))

    def _lose(self, why: str) -> None:
        if not self.last_error:
            self.last_error = why
        if self._drop is not None:
            self._drop.set()

    def _teardown(self) -> None:
        if self._transport is not None:
            self._transport.abort()
            self._transport = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    # -- I/O --------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise LinkDown(f"link {self.name} is {self.state}")
        self._transport.write(data)
        self._last_tx = time.monotonic()

    def send(self, msg: Message) -> None:
        if self.state is not LinkState.UP:
            raise LinkDown(f"link {self.name} is {self.state}")
        self._write(self._conn.send(msg))

    def _on_data(self, data: bytes) -> None:
        self._last_rx = time.monotonic()
        self._conn.receive_data(data)
        while True:
            try:
                msg = self._conn.next_event()
            except ProtocolError as exc:
                self.bad_frames += 1
                log.warning(
                    "link %s: bad frame from %s:%d: %s", self.name, self.host, self.port, exc
                )
                self._lose(f"protocol error: {exc}")
                return
            if isinstance(msg, NeedData):
                return
            if isinstance(msg, Hello):
                self.peer_hello = msg
                self.peer_role, self.peer_epoch = msg.role, msg.epoch
                if self.state is LinkState.HANDSHAKE:
                    self._fire(LinkEvent.HELLO)
            elif isinstance(msg, Heartbeat) and (msg.role, msg.epoch) != (
                self.peer_role,
                self.peer_epoch,
            ):
                self.peer_role, self.peer_epoch = msg.role, msg.epoch
                self._handler.link_state(self)
            self._handler.link_message(self, msg)

    def _on_datagram(self, data: bytes) -> None:
        if len(data) != RECORD_SIZE:
            self.bad_datagrams += 1
            return
        try:
            rec = decode_train_status(data)
        except ProtocolError as exc:
            self.bad_datagrams += 1
            log.warning("link %s: bad datagram: %s", self.name, exc)
            return
        self._handler.link_status(self, rec)
