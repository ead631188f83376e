"""The simulator's network side: one server of the redundant pair.

To an HMI it serves a snapshot on connect (after HELLO), then numbered deltas
each tick, train status as fixed-size UDP datagrams to the port the HMI names
in HELLO, heartbeats on idle links, and command results. A silent client is
dropped after the missed-heartbeat limit.

To its partner server it is a peer: the two keep a link each way (either one
suffices) carrying heartbeats with role and epoch, and the master sends its
whole world state (REPLICA) every tick. Rules, kept in :class:`RoleRules`:

- a standby that hears no master for the dead interval promotes itself, with
  an epoch one above the highest it has seen;
- a master that hears another master with a higher epoch (or the same epoch
  and a lower node id) demotes itself to standby;
- only the master runs the line, sends deltas and train status, and executes
  commands; a standby refuses commands (``not_master``).

With a link key (``ServerSettings.policy``, ``docs/security.md``) every link,
from HMIs and from the partner, must be protected: a HELLO without a nonce or
with a wrong tag is refused and the connection closed; a frame failing a check
is dropped and counted, and a client past the threshold is disconnected (it
reconnects: a new handshake, a resync). Authorisation uses the role and
dispatcher of the session's HELLO, which the session keys bind: a COMMAND from
an observer session, or naming another role or dispatcher than its session's,
is refused (``not_authorised``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from app.comms.link import LinkHandler, LinkTimings, ServerLink
from app.counterparts.sim.alarms import AlarmRefused, AlarmSystem
from app.counterparts.sim.guard import STRICT, CommandGuard, CommandRules, FenceCheck
from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.world import UnitReport, World
from app.model.commands import Command, CommandOp, CommandResult, Outcome, train_device
from app.model.coupling import CouplingChanges, CouplingTracker
from app.model.coupling import UnitReport as ModelReport
from app.model.topology import SwitchLeg
from app.protocol.connection import Connection
from app.protocol.errors import ProtocolError
from app.protocol.frames import NeedData
from app.protocol.messages import Heartbeat, Hello, Message, Replica, SnapshotRequest
from app.protocol.security import IntegrityMonitor, LinkPolicy, NonceCache, Violation
from app.protocol.udp import (
    CAB_ROLES,
    COUPLING_STATES,
    DIRECTIONS,
    TrainStatus,
    encode_train_status,
)

log = logging.getLogger(__name__)

SERVER_ROLES = ("master", "standby")
HMI_ROLES = ("dispatcher", "supervisor", "observer")
COMMANDING_ROLES = ("dispatcher", "supervisor")
ALARMS_FULL_EVERY = 50  # ticks between full alarm replicas (5 s at the default tick)
#: How long a silent client hung up on may take to read what was sent to it.
HANG_UP_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    node: str = "A"
    role: str = "master"
    epoch: int = 1
    tick_s: float = 0.1
    time_scale: float = 1.0
    heartbeat_s: float = 0.5
    missed: int = 3
    peers: tuple[tuple[str, int], ...] = ()
    commands: CommandRules = STRICT
    policy: LinkPolicy | None = None


@dataclass(slots=True)
class RoleRules:
    """Master/standby arbitration between the two servers, kept apart from the I/O."""

    node: str
    role: str
    epoch: int
    dead_after_s: float
    last_master_heard: float = field(default_factory=time.monotonic)
    highest_epoch_seen: int = 0

    def heard(self, node: str, role: str, epoch: int, now: float) -> str | None:
        """A peer said its role and epoch. Returns "demote" when this server must step down."""
        self.highest_epoch_seen = max(self.highest_epoch_seen, epoch)
        if role != "master" or node == self.node:
            return None
        self.last_master_heard = now
        if self.role == "master" and (epoch, self.node) > (self.epoch, node):
            self.role = "standby"
            return "demote"
        return None

    def tick(self, now: float) -> str | None:
        """Returns "promote" when a standby has heard no master for too long."""
        if self.role == "standby" and now - self.last_master_heard > self.dead_after_s:
            self.role = "master"
            self.epoch = max(self.epoch, self.highest_epoch_seen) + 1
            return "promote"
        return None


class ClientLink(asyncio.Protocol):
    """One connected HMI or partner server, seen from this server."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        policy = server.settings.policy
        self.conn = Connection(
            policy=policy,
            side="server",
            local_id=server.settings.node,
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
        return time.time_ns() // 1_000_000

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
            self.send(server.world.snapshot())
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
        self.send(server.hello(0))
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
        self.send(server.world.snapshot())

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


class _PeerHandler(LinkHandler):
    """Messages from the partner server on the link this server opened to it."""

    def __init__(self, server: SimServer) -> None:
        self.server = server

    def link_state(self, link: ServerLink) -> None:
        if link.is_up():
            self.server.partner_connected()

    def link_message(self, link: ServerLink, msg: Message) -> None:
        if isinstance(msg, Hello | Heartbeat) and msg.role:
            self.server.peer_said(msg.node, msg.role, msg.epoch)
        elif isinstance(msg, Replica):
            self.server.replica(msg)


class SimServer:
    def __init__(
        self,
        world: World,
        settings: ServerSettings,
        journal: Journal,
        alarms: AlarmSystem | None = None,
        fence: FenceCheck | None = None,
    ) -> None:
        self.world = world
        self.alarms = alarms
        self._ticks = 0
        self._dual_master: tuple[str, float] | None = None  # the other master, last heard
        self.settings = settings
        self.journal = journal
        self.rules = RoleRules(
            settings.node, settings.role, settings.epoch, settings.heartbeat_s * settings.missed
        )
        self.guard = CommandGuard(settings.commands, fence=fence)
        self._full_guard_next = True
        # Commands are decided one at a time, in arrival order (the guard's floor
        # read is the one it raises, even while it asks the lock service).
        self._commands: asyncio.Queue[tuple[ClientLink, Command, Hello | None]] = asyncio.Queue()
        self._decider: asyncio.Task[None] | None = None
        self.clients: set[ClientLink] = set()
        self.bad_frames = 0
        self.integrity_failures = 0
        policy = settings.policy
        self.nonces = NonceCache(policy.max_age_ms + policy.max_skew_ms) if policy else None
        self.status_seq = 0
        self.consists = CouplingTracker()  # the server's view of its units' reports
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._peer_links: list[ServerLink] = []

    @property
    def role(self) -> str:
        return self.rules.role

    @property
    def epoch(self) -> int:
        return self.rules.epoch

    def hello(self, udp_port: int) -> Hello:
        line = self.world.line
        return Hello(
            self.settings.node,
            self.role,
            line.id,
            line.digest(),
            epoch=self.epoch,
            udp_port=udp_port,
        )

    def heartbeat(self, pong_ms: int = 0) -> Heartbeat:
        return Heartbeat(self.settings.node, self.role, self.epoch, pong_ms=pong_ms)

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
        s = self.settings
        timings = LinkTimings(heartbeat_s=s.heartbeat_s, missed=s.missed, reconnect_max_s=1.0)
        for host, port in s.peers:
            link = ServerLink(
                f"peer@{host}:{port}",
                "peer",
                host,
                port,
                self.hello,
                _PeerHandler(self),
                timings,
                heartbeat=self.heartbeat,
                udp=False,
                policy=s.policy,
            )
            self._peer_links.append(link)
            link.start()
        return bound

    # -- roles ------------------------------------------------------------------

    def peer_said(self, node: str, role: str, epoch: int) -> None:
        if role == "master" and self.role == "master" and self.alarms is not None:
            # Two masters at once: whoever stays master says so on the alarm topic.
            self.alarms.manager.raise_alarm("dual_master", node, station="", zone="")
            self._dual_master = (node, time.monotonic())
        if self.rules.heard(node, role, epoch, time.monotonic()) == "demote":
            log.warning(
                "server %s: %s is master with epoch %d; stepping down to standby",
                self.settings.node,
                node,
                epoch,
            )
            self._announce()

    def replica(self, msg: Replica) -> None:
        self.peer_said(msg.node, "master", msg.epoch)
        if self.role == "standby":
            body = json.loads(msg.body)
            self.world.restore(body["world"])
            self.guard.merge(body["commands"])
            if self.alarms is not None and "alarms" in body:
                try:
                    self.alarms.manager.restore(body["alarms"])
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("replica from %s: alarms not mirrored: %s", msg.node, exc)

    def hmi_link(self, node: str, where: str, *, up: bool) -> None:
        """A workstation's link dropped (silent, or broken) or came back: a link-loss alarm."""
        if self.alarms is None or self.role != "master":
            return
        if up:
            self.alarms.link_back(node, where)
        else:
            self.alarms.link_lost(node, where)

    def partner_connected(self) -> None:
        """A partner that (re)connects may have missed anything: send it all next time."""
        self._full_guard_next = True

    def _announce(self) -> None:
        hb = self.heartbeat()
        for c in list(self.clients):
            if c.hello is not None:
                c.send(hb)

    # -- time -------------------------------------------------------------------

    async def run(self) -> None:
        s = self.settings
        next_tick = time.monotonic()
        while True:
            next_tick += s.tick_s
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            if self.rules.tick(time.monotonic()) == "promote":
                log.warning(
                    "server %s: no master heard for %.2f s; taking over as master, epoch %d",
                    s.node,
                    self.rules.dead_after_s,
                    self.epoch,
                )
                self._announce()
                if self.alarms is not None:
                    self.alarms.promoted()
                snap = self.world.snapshot()
                for c in list(self.clients):
                    if c.hello is not None and not c.is_server:
                        c.send(snap)
            if self.role == "master":
                self.world.step(s.tick_s * s.time_scale)
                if self.alarms is not None:
                    if self._dual_master and time.monotonic() - self._dual_master[1] > 2.0:
                        self.alarms.manager.clear_condition("dual_master", self._dual_master[0])
                        self._dual_master = None
                    self.alarms.tick(s.tick_s)
            elif self.alarms is not None:
                self.alarms.standby_tick()  # today's topic ready for a takeover
            self._serve()
            if self.role == "master":
                self._replicate()
            self._supervise()

    def _serve(self) -> None:
        """Deltas and train status to the HMIs: a standby serves the mirrored state."""
        delta = self.world.publish()
        hmis = [c for c in self.clients if c.hello is not None and not c.is_server]
        if delta is not None:
            for c in hmis:
                c.send(delta)
        self._send_status(hmis)

    def _replicate(self) -> None:
        """Send the world to the partner once per tick, on one working link to it."""
        outgoing = [link for link in self._peer_links if link.is_up()]
        incoming = [c for c in self.clients if c.is_server]
        if not (outgoing or incoming):
            return
        body: dict[str, Any] = {
            "world": self.world.export(),
            "commands": self.guard.export(full=self._full_guard_next),
        }
        self._ticks += 1
        if self.alarms is not None:
            # Like the guard: the changes every tick, all of them after a (re)connect and
            # every ALARMS_FULL_EVERY ticks (a standby out of step catches up there).
            full = self._full_guard_next or self._ticks % ALARMS_FULL_EVERY == 0
            body["alarms"] = self.alarms.manager.export(full=full)
        self._full_guard_next = False
        replica = Replica(self.settings.node, self.epoch, self.world.seq, json.dumps(body))
        if outgoing:
            outgoing[0].send(replica)
        else:
            incoming[0].send(replica)

    def _send_status(self, clients: list[ClientLink]) -> None:
        # One sequence number per tick, the same on every link and network, so
        # an HMI can drop the copy that arrives second.
        self.status_seq = (self.status_seq + 1) & 0xFFFFFFFF
        reports = self.world.unit_reports()
        self._watch_consists(reports)
        if self._udp is None:
            return
        now_ms = time.time_ns() // 1_000_000
        index = self.world.line.section_index
        records = []
        for rep in reports:
            tr = rep.train
            rec = TrainStatus(
                self.status_seq,
                now_ms,
                tr.id,
                tr.number,
                index[tr.section],
                int(tr.offset_m * 100),
                int(tr.speed_kmh * 10),
                DIRECTIONS.index(tr.direction.value),
                COUPLING_STATES.index(rep.coupling.value),
                CAB_ROLES.index(rep.cab.value),
                rep.consist,
                rep.index,
                rep.count,
            )
            records.append(rec)
        plain: list[bytes] | None = None
        for c in clients:
            if c.udp_target is None:
                continue
            key = c.conn.udp_key
            if key is not None:  # a protected link: tagged with its session's key
                datagrams = [encode_train_status(rec, key) for rec in records]
            else:
                if plain is None:
                    plain = [encode_train_status(rec) for rec in records]
                datagrams = plain
            for data in datagrams:
                self._udp.sendto(data, c.udp_target)

    def _watch_consists(self, reports: list[UnitReport]) -> None:
        """The server's own confirmation of what its units report: consist cab faults
        (two masters, no master) go to the alarm topic, like any other alarm."""
        now_ms = int(self.world.now * 1000)
        ch = CouplingChanges()
        for rep in reports:
            ch.merge(
                self.consists.report(
                    ModelReport(
                        rep.train.id,
                        rep.train.number,
                        self.status_seq,
                        rep.consist,
                        rep.index,
                        rep.count,
                        rep.coupling,
                        rep.cab,
                    ),
                    now_ms,
                )
            )
        ch.merge(self.consists.tick(now_ms))
        ch.merge(self.consists.forget_units(self.consists.units() - set(self.world.trains)))
        if self.alarms is None or self.role != "master":
            return
        for alarm in ch.alarms:
            kind = f"consist_{alarm.kind.value}"
            device = train_device(alarm.consist)
            if not alarm.active:
                self.alarms.manager.clear_condition(kind, device)
                continue
            view = self.consists.get(alarm.consist)
            label = "+".join(u.number for u in view.ordered_units()) if view else device
            station, zone = "", ""
            unit = self.world.trains.get(alarm.consist)
            if unit is not None:
                section = self.world.train_state(unit).section
                station, zone = self.alarms.manager.place("section_fault", section)
            self.alarms.manager.raise_alarm(kind, device, station=station, zone=zone, label=label)

    def _supervise(self) -> None:
        s = self.settings
        now = time.monotonic()
        for c in list(self.clients):
            if c.silent:
                continue  # hung up on, reading what was sent to it
            if now - c.last_rx > s.heartbeat_s * s.missed:
                log.warning("client %s silent for %.2f s; dropping", c.peer, now - c.last_rx)
                c.silent = True
                c.hang_up()
            elif c.hello is not None and now - c.last_tx >= s.heartbeat_s:
                c.send(self.heartbeat())

    # -- commands ---------------------------------------------------------------

    def submit(self, client: ClientLink, cmd: Command) -> None:
        """Queue a command from ``client``; its result goes back on the same link."""
        self._commands.put_nowait((client, cmd, client.hello))
        if self._decider is None or self._decider.done():
            self._decider = asyncio.get_running_loop().create_task(self._decide())

    async def _decide(self) -> None:
        while True:
            client, cmd, session = await self._commands.get()
            try:
                result = await self.execute(cmd, session)
            except Exception:  # never let one command stop the others
                log.exception("command %s %s from %s failed", cmd.op, cmd.device, client.peer)
                client.drop()  # its sender learns nothing: its outcome stays unknown there
                continue
            client.send(result)

    async def execute(self, cmd: Command, session: Hello | None = None) -> CommandResult:
        """Decide and carry out one command. ``session`` is the HELLO of the link it came
        on: its role and dispatcher are what the command may act as."""
        repeat = False
        try:
            if self.role != "master":
                raise Refused("not_master", f"server {self.settings.node} is standby")
            self._authorise(cmd, session)
            answer, repeat = await self.guard.admit(cmd)
            if answer is not None:
                self._journal(cmd, answer, repeat)
                return answer
            if self.role != "master":  # demoted while the lock service was asked
                raise Refused("not_master", f"server {self.settings.node} is standby")
            reason = self._perform(cmd)
            result = CommandResult(cmd.command_id, cmd.device, cmd.op, Outcome.EXECUTED, "", reason)
        except Refused as exc:
            result = CommandResult(
                cmd.command_id, cmd.device, cmd.op, Outcome.REFUSED, exc.code, exc.reason
            )
        if result.reason_code != "not_master":
            self.guard.remember_result(cmd, result)
        self._journal(cmd, result, repeat)
        return result

    def _authorise(self, cmd: Command, session: Hello | None) -> None:
        """Refuse what the session may not do: the session's role decides, not the command's."""
        if session is not None:
            if session.role not in COMMANDING_ROLES:
                raise Refused(
                    "not_authorised", f"a session with role {session.role!r} may not command"
                )
            if cmd.role != session.role:
                raise Refused(
                    "not_authorised",
                    f"the command says role {cmd.role!r}, its session is {session.role!r}",
                )
            if session.dispatcher and cmd.dispatcher != session.dispatcher:
                raise Refused(
                    "not_authorised",
                    f"the command names dispatcher {cmd.dispatcher!r}, its session is "
                    f"{session.dispatcher!r}",
                )
        if cmd.role not in COMMANDING_ROLES:
            raise Refused("not_authorised", f"role {cmd.role!r} may not command")

    def _perform(self, cmd: Command) -> str:
        """Carry out one command on the world: "" or a note on an executed no-op.

        Raises :class:`Refused` with a reason code when it cannot be done.
        """
        world = self.world
        il = world.interlocking
        op = cmd.op
        if op in (CommandOp.THROW_NORMAL, CommandOp.THROW_REVERSE):
            leg = SwitchLeg.NORMAL if op is CommandOp.THROW_NORMAL else SwitchLeg.REVERSE
            moved = il.throw(cmd.device, leg, world.now)
            return "" if moved else f"switch already lies {leg.value}"
        if op is CommandOp.SET_ROUTE:
            route = world.line.route_by_id.get(cmd.device)
            if route is None:
                raise Refused("unknown_device", f"no route {cmd.device} on this line")
            il.set_route(route, world.now)
            return ""
        if op is CommandOp.CANCEL_ROUTE:
            il.cancel_route(cmd.device)
            return ""
        if op is CommandOp.LOCK_SWITCH:
            return "" if il.lock_switch(cmd.device) else "switch already locked"
        if op is CommandOp.UNLOCK_SWITCH:
            return "" if il.unlock_switch(cmd.device) else "switch was not locked"
        if op is CommandOp.CLOSE_SIGNAL:
            return "" if il.close_signal(cmd.device) else "signal already closed"
        if op is CommandOp.REOPEN_SIGNAL:
            return "" if il.reopen_signal(cmd.device) else "signal was not closed"
        if op is CommandOp.HOLD_TRAIN:
            return "" if world.hold_train(cmd.device) else "train already held"
        if op is CommandOp.RELEASE_TRAIN:
            return "" if world.release_train(cmd.device) else "train was not held"
        if op is CommandOp.COUPLE_TRAIN:
            partner = world.couple_train(cmd.device)
            return f"coupling with train:{partner}"
        if op is CommandOp.UNCOUPLE_TRAIN:
            return world.uncouple_train(cmd.device)
        if op is CommandOp.INJECT_FAULT:
            return world.inject_fault(cmd.device, cmd.arg)
        if op is CommandOp.ACK_ALARM:
            if self.alarms is None:
                raise Refused("unsupported_op", "this server produces no alarms")
            try:
                return self.alarms.manager.ack(cmd.device, cmd.dispatcher)
            except AlarmRefused as exc:
                raise Refused(exc.code, exc.reason) from None
        if op is CommandOp.SHELVE_ALARM:
            if self.alarms is None:
                raise Refused("unsupported_op", "this server produces no alarms")
            if not (cmd.arg.isascii() and cmd.arg.isdigit()):  # "²" and "٣" are digits too
                raise Refused("bad_argument", f"shelve needs minutes, got {cmd.arg!r}")
            try:
                return self.alarms.manager.shelve(cmd.device, cmd.dispatcher, int(cmd.arg))
            except AlarmRefused as exc:
                raise Refused(exc.code, exc.reason) from None
        raise Refused("unsupported_op", f"operation {op.value} is not supported by this server")

    def _journal(self, cmd: Command, result: CommandResult, repeat: bool) -> None:
        log.info(
            "command %s %s by %s (token %d, key %s): %s %s%s",
            cmd.op,
            cmd.device,
            cmd.dispatcher,
            cmd.fencing_token,
            cmd.idempotency_key[:8],
            result.outcome,
            result.reason,
            " (repeat, not executed again)" if repeat else "",
        )
        self.journal.record(
            time.time_ns() // 1_000_000, self.settings.node, cmd, result, repeat=repeat
        )

    async def close(self) -> None:
        if self._decider is not None:
            self._decider.cancel()
        for link in self._peer_links:
            await link.close("server shutting down")
        for server in self._servers:
            server.close()
        for c in list(self.clients):
            c.drop()
        for server in self._servers:
            await server.wait_closed()
        if self._udp is not None:
            self._udp.close()
        if self.alarms is not None:
            self.alarms.close()
        self.journal.close()
