"""One connected HMI or partner server, seen from this server (:class:`ClientLink`), and
the messages from the partner on the link this server opened to it (:class:`PeerHandler`).

A client link checks that the first frame is a HELLO naming a known role and this
line (``docs/protocol.md``, "Session"), greets an HMI with a snapshot, and hands
commands, snapshot requests, heartbeats and replicas to its server. A silent client
is hung up on gracefully; one that breaks the protocol is dropped at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from app.clock import wall_ms
from app.comms.link import LinkHandler, ServerLink
from app.counterparts.sim.roles import HMI_ROLES, SERVER_ROLES
from app.counterparts.sim.world import World
from app.model.commands import Command
from app.protocol.connection import Connection
from app.protocol.errors import ProtocolError
from app.protocol.frames import NeedData
from app.protocol.messages import (
    PROTOCOL_LEVEL,
    Heartbeat,
    Hello,
    Message,
    Replica,
    SnapshotRequest,
    negotiated_level,
)
from app.protocol.security import (
    IntegrityError,
    IntegrityMonitor,
    LinkPolicy,
    MacKey,
    NonceCache,
    Violation,
)

# The name the server's log lines have always had.
log = logging.getLogger("app.counterparts.sim.server")

#: How long a silent client hung up on may take to read what was sent to it.
HANG_UP_GRACE_S = 5.0


class ServerSide(Protocol):
    """What a client link needs of its server (:class:`~app.counterparts.sim.server.SimServer`)."""

    world: World
    nonces: NonceCache | None
    clients: set[ClientLink]
    bad_frames: int
    integrity_failures: int

    @property
    def node(self) -> str: ...

    @property
    def policy(self) -> LinkPolicy | None: ...

    def hello(self, udp_port: int, level: int = PROTOCOL_LEVEL) -> Hello: ...

    def greet_with_state(self, client: ClientLink) -> None: ...

    def heartbeat(self, pong_ms: int = 0) -> Heartbeat: ...

    def submit(self, client: ClientLink, cmd: Command) -> None: ...

    def peer_said(self, node: str, role: str, epoch: int) -> None: ...

    def replica(self, msg: Replica) -> None: ...

    def partner_connected(self) -> None: ...

    def hmi_link(self, node: str, where: str, *, up: bool) -> None: ...


class ClientLink(asyncio.Protocol):
    """One connected HMI or partner server, seen from this server."""

    def __init__(self, server: ServerSide) -> None:
        self.server = server
        policy = server.policy
        self.conn = Connection(
            policy=policy,
            side="server",
            local_id=server.node,
            nonces=server.nonces,
            on_violation=self.violation,
        )
        p = policy or LinkPolicy()
        self.integrity = IntegrityMonitor(p.threshold, p.window_ms)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.hello: Hello | None = None
        self.udp_target: tuple[str, int] | None = None
        self.last_rx = self.last_tx = time.monotonic()
        self.local = ""  # this server's address the link came in on (which network)
        self.silent = False  # dropped for missed heartbeats
        self.level = 1  # the protocol level negotiated in HELLO (docs/protocol.md, "Levels")

    @property
    def udp_key(self) -> MacKey | None:
        """The session's datagram key (a protected link), else None."""
        return self.conn.udp_key

    @property
    def is_server(self) -> bool:
        return self.hello is not None and self.hello.role in SERVER_ROLES

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        local = transport.get_extra_info("sockname")
        self.local = f"{local[0]}:{local[1]}" if local else ""
        self.server.clients.add(self)
        log.info("client %s connected", self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.clients.discard(self)
        self.transport = None
        log.info("client %s gone (%s)", self.peer, exc or "closed")
        if self.hello is not None and not self.is_server and (exc is not None or self.silent):
            self.server.hmi_link(self.hello.node, self.local, up=False)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while self.transport is not None:
            try:
                msg = self.conn.next_event()
            except ProtocolError as exc:
                self.server.bad_frames += 1
                log.warning("client %s: %s; closing", self.peer, exc)
                told = self.conn.refusal(exc) if isinstance(exc, IntegrityError) else None
                if told is not None and self.transport is not None:
                    self.transport.write(told)  # why, as a code: docs/protocol.md
                    self.hang_up()  # an abort would discard it unsent
                    return
                self.drop()
                return
            except Exception:  # never let one peer's bytes stop the server
                self.server.bad_frames += 1
                log.exception("client %s: unexpected error; closing", self.peer)
                self.drop()
                return
            if isinstance(msg, NeedData):
                return
            # Alive is a whole frame that passed every check: a peer trickling bytes, or
            # sending frames that fail the MAC, is not (docs/comms.md).
            self.last_rx = time.monotonic()
            self.handle(msg)

    def violation(self, v: Violation) -> None:
        """A frame failed a protection check: count; past the threshold, disconnect."""
        self.server.integrity_failures += 1
        log.warning("client %s: integrity: %s at %s: %s", self.peer, v.kind, v.where, v.detail)
        if self.integrity.record(v.kind, self.conn_clock()):
            log.warning(
                "client %s: %d integrity failures within %g s; disconnecting (resync)",
                self.peer,
                self.integrity.threshold,
                self.integrity.window_ms / 1000,
            )
            self.drop()

    def conn_clock(self) -> int:
        return wall_ms()

    def handle(self, msg: Message) -> None:
        server = self.server
        if self.hello is None:
            if not isinstance(msg, Hello):
                log.warning("client %s: %s before HELLO; closing", self.peer, type(msg).__name__)
                self.drop()
                return
            self.greet(msg)
        elif isinstance(msg, Command):
            server.submit(self, msg)
        elif isinstance(msg, SnapshotRequest):
            log.info("client %s asks for a snapshot: %s", self.peer, msg.reason)
            server.greet_with_state(self)
        elif isinstance(msg, Heartbeat):
            if msg.ping_ms:
                self.send(server.heartbeat(pong_ms=msg.ping_ms))
            if self.is_server:
                server.peer_said(msg.node, msg.role, msg.epoch)
        elif isinstance(msg, Replica) and self.is_server:
            server.replica(msg)

    def greet(self, hello: Hello) -> None:
        server = self.server
        line = server.world.line
        if hello.role not in HMI_ROLES + SERVER_ROLES:
            log.warning("client %s says it has role %r; closing", self.peer, hello.role)
            self.drop()
            return
        if hello.line_id != line.id or hello.line_digest != line.digest():
            log.warning(
                "client %s has line %s/%s, we have %s/%s; closing",
                self.peer,
                hello.line_id,
                hello.line_digest,
                line.id,
                line.digest(),
            )
            self.drop()
            return
        self.hello = hello
        self.level = negotiated_level(hello.protocol, PROTOCOL_LEVEL)
        self.send(server.hello(0, self.level))
        if self.is_server:
            log.info(
                "partner server %s (%s, epoch %d) connected", hello.node, hello.role, hello.epoch
            )
            server.partner_connected()
            server.peer_said(hello.node, hello.role, hello.epoch)
            return
        if hello.udp_port and self.transport is not None:
            self.udp_target = (self.transport.get_extra_info("peername")[0], hello.udp_port)
        server.hmi_link(hello.node, self.local, up=True)
        server.greet_with_state(self)

    def send(self, msg: Message) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if not self.conn.ready and not isinstance(msg, Hello):
            return  # the handshake is not done: nothing but our HELLO may go out
        self.transport.write(self.conn.send(msg))
        self.last_tx = time.monotonic()

    def drop(self) -> None:
        """Disconnect at once (a peer that broke the protocol): unsent bytes are dropped."""
        if self.transport is not None:
            self.transport.abort()

    def hang_up(self) -> None:
        """Disconnect a silent peer gracefully: what was already sent to it (a command's
        result) stays readable when it wakes, then it reads the end of the stream. An
        abort would send a reset, and the peer's kernel would discard those bytes unread:
        the client of a command it sent just before a pause would never learn that it
        was executed. A peer that does not read either is aborted after a grace."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.close()
        asyncio.get_running_loop().call_later(HANG_UP_GRACE_S, transport.abort)


class PeerHandler(LinkHandler):
    """Messages from the partner server on the link this server opened to it."""

    def __init__(self, server: ServerSide) -> None:
        self.server = server

    def link_state(self, link: ServerLink) -> None:
        if link.is_up():
            self.server.partner_connected()

    def link_message(self, link: ServerLink, msg: Message) -> None:
        if isinstance(msg, Hello | Heartbeat) and msg.role:
            self.server.peer_said(msg.node, msg.role, msg.epoch)
        elif isinstance(msg, Replica):
            self.server.replica(msg)
