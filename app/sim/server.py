"""The simulator's network side: serves the line state and takes commands.

A snapshot on connect (after HELLO), then numbered deltas each tick; train
status as fixed-size UDP datagrams to the port each client names in HELLO;
heartbeats on idle links; a silent client is dropped after the missed limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.topology import SwitchLeg
from app.protocol.connection import Connection
from app.protocol.errors import ProtocolError
from app.protocol.frames import NeedData
from app.protocol.messages import Heartbeat, Hello, Message, SnapshotRequest
from app.protocol.udp import (
    CAB_ROLES,
    COUPLING_STATES,
    DIRECTIONS,
    TrainStatus,
    encode_train_status,
)
from app.sim.interlocking import Refused
from app.sim.journal import Journal
from app.sim.world import World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    node: str = "A"
    role: str = "master"
    epoch: int = 1
    tick_s: float = 0.1
    time_scale: float = 1.0
    heartbeat_s: float = 0.5
    missed: int = 3


class ClientLink(asyncio.Protocol):
    """One connected HMI, seen from the server."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.conn = Connection()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.hello: Hello | None = None
        self.udp_target: tuple[str, int] | None = None
        self.udp_seq = 0
        self.last_rx = self.last_tx = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self.server.clients.add(self)
        log.info("client %s connected", self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.clients.discard(self)
        log.info("client %s gone (%s)", self.peer, exc or "closed")

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        self.conn.receive_data(data)
        while True:
            try:
                msg = self.conn.next_event()
            except ProtocolError as exc:
                self.server.bad_frames += 1
                log.warning("client %s: %s; closing", self.peer, exc)
                self.drop()
                return
            if isinstance(msg, NeedData):
                return
            self.handle(msg)

    def handle(self, msg: Message) -> None:
        if self.hello is None:
            if not isinstance(msg, Hello):
                log.warning("client %s: %s before HELLO; closing", self.peer, type(msg).__name__)
                self.drop()
                return
            self.greet(msg)
        elif isinstance(msg, Command):
            self.send(self.server.execute(msg))
        elif isinstance(msg, SnapshotRequest):
            log.info("client %s asks for a snapshot: %s", self.peer, msg.reason)
            self.send(self.server.world.snapshot())

    def greet(self, hello: Hello) -> None:
        line = self.server.world.line
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
        s = self.server.settings
        self.send(Hello(s.node, s.role, line.id, line.digest(), epoch=s.epoch))
        if hello.udp_port and self.transport is not None:
            self.udp_target = (self.transport.get_extra_info("peername")[0], hello.udp_port)
        self.send(self.server.world.snapshot())

    def send(self, msg: Message) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(self.conn.send(msg))
        self.last_tx = time.monotonic()

    def drop(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class SimServer:
    def __init__(self, world: World, settings: ServerSettings, journal: Journal) -> None:
        self.world = world
        self.settings = settings
        self.journal = journal
        self.clients: set[ClientLink] = set()
        self.bad_frames = 0
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None

    async def listen(self, addresses: list[tuple[str, int]]) -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        bound = []
        for host, port in addresses:
            server = await loop.create_server(lambda: ClientLink(self), host, port)
            self._servers.append(server)
            bound.append(server.sockets[0].getsockname()[:2])
        self._udp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(addresses[0][0], 0)
        )
        return bound

    async def run(self) -> None:
        s = self.settings
        next_tick = time.monotonic()
        while True:
            next_tick += s.tick_s
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            self.world.step(s.tick_s * s.time_scale)
            delta = self.world.publish()
            ready = [c for c in self.clients if c.hello is not None]
            if delta is not None:
                for c in ready:
                    c.send(delta)
            self._send_status(ready)
            self._supervise()

    def _send_status(self, clients: list[ClientLink]) -> None:
        if self._udp is None:
            return
        now_ms = time.time_ns() // 1_000_000
        index = self.world.line.section_index
        records = [self.world.train_state(t) for t in self.world.trains.values()]
        for c in clients:
            if c.udp_target is None:
                continue
            for tr in records:
                c.udp_seq = (c.udp_seq + 1) & 0xFFFFFFFF
                rec = TrainStatus(
                    c.udp_seq,
                    now_ms,
                    tr.id,
                    tr.number,
                    index[tr.section],
                    int(tr.offset_m * 100),
                    int(tr.speed_kmh * 10),
                    DIRECTIONS.index(tr.direction.value),
                    COUPLING_STATES.index(tr.coupling.value),
                    CAB_ROLES.index(tr.cab.value),
                )
                self._udp.sendto(encode_train_status(rec), c.udp_target)

    def _supervise(self) -> None:
        s = self.settings
        now = time.monotonic()
        for c in list(self.clients):
            if now - c.last_rx > s.heartbeat_s * s.missed:
                log.warning("client %s silent for %.2f s; dropping", c.peer, now - c.last_rx)
                c.drop()
            elif c.hello is not None and now - c.last_tx >= s.heartbeat_s:
                c.send(Heartbeat(s.node, s.role, s.epoch))

    def execute(self, cmd: Command) -> CommandResult:
        world = self.world
        try:
            if cmd.role == "observer":
                raise Refused("not_authorised", "observers may not command")
            if cmd.op in (CommandOp.THROW_NORMAL, CommandOp.THROW_REVERSE):
                leg = SwitchLeg.NORMAL if cmd.op is CommandOp.THROW_NORMAL else SwitchLeg.REVERSE
                moved = world.interlocking.throw(cmd.device, leg, world.now)
                reason = "" if moved else f"switch already lies {leg.value}"
            elif cmd.op is CommandOp.SET_ROUTE:
                route = world.line.route_by_id.get(cmd.device)
                if route is None:
                    raise Refused("unknown_device", f"no route {cmd.device} on this line")
                world.interlocking.set_route(route, world.now)
                reason = ""
            else:
                world.interlocking.cancel_route(cmd.device)
                reason = ""
            result = CommandResult(cmd.command_id, cmd.device, cmd.op, Outcome.EXECUTED, "", reason)
        except Refused as exc:
            result = CommandResult(
                cmd.command_id, cmd.device, cmd.op, Outcome.REFUSED, exc.code, exc.reason
            )
        log.info(
            "command %s %s by %s: %s %s",
            cmd.op,
            cmd.device,
            cmd.dispatcher,
            result.outcome,
            result.reason,
        )
        self.journal.record(time.time_ns() // 1_000_000, self.settings.node, cmd, result)
        return result

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for c in list(self.clients):
            c.drop()
        for server in self._servers:
            await server.wait_closed()
        if self._udp is not None:
            self._udp.close()
        self.journal.close()
