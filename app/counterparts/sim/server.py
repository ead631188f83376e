"""The simulator's network side: one server of the redundant pair.

To an HMI it serves a snapshot on connect (after HELLO), then numbered deltas
each tick, train status as fixed-size UDP datagrams to the port the HMI names
in HELLO, heartbeats on idle links, and command results. A silent client is
dropped after the missed-heartbeat limit.

To its partner server it is a peer: the two keep a link each way (either one
suffices) carrying heartbeats with role and epoch, and the master sends its
whole world state (REPLICA) every tick. Only the master runs the line, sends its
own deltas and train status, and executes commands; a standby serves the state it
mirrors and refuses commands (``not_master``).

:class:`SimServer` is the composition, with the sockets and the tick:

- ``roles.py``: who is master (:class:`RoleRules`: promotion, demotion, epochs);
- ``clients.py``: each connected HMI or partner (:class:`ClientLink`);
- ``deciding.py``: commands decided one at a time (:class:`CommandDesk`);
- ``replication.py``: the replica sent and mirrored (:class:`Replicator`);
- ``status.py``: train status datagrams and the consists' alarms (:class:`StatusSender`).

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
import logging
import time
from dataclasses import dataclass

from app.comms.link import LinkTimings, ServerLink
from app.counterparts.sim.alarms import AlarmSystem
from app.counterparts.sim.clients import ClientLink, PeerHandler
from app.counterparts.sim.deciding import CommandDesk
from app.counterparts.sim.guard import STRICT, CommandGuard, CommandRules, FenceCheck
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.replication import Replicator
from app.counterparts.sim.roles import RoleRules
from app.counterparts.sim.status import StatusSender
from app.counterparts.sim.world import World
from app.model.commands import Command, CommandResult
from app.protocol.messages import (
    ACTUALS_PER_MESSAGE,
    PROTOCOL_LEVEL,
    Actuals,
    Heartbeat,
    Hello,
    Replica,
)
from app.protocol.security import LinkPolicy, NonceCache
from app.timetable.actuals import Actual

log = logging.getLogger(__name__)

#: How long after the other master was last heard the dual-master alarm clears.
DUAL_MASTER_CLEAR_S = 2.0


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
        self._dual_master: tuple[str, float] | None = None  # the other master, last heard
        self.settings = settings
        self.journal = journal
        self.rules = RoleRules(
            settings.node, settings.role, settings.epoch, settings.heartbeat_s * settings.missed
        )
        self.guard = CommandGuard(settings.commands, fence=fence)
        self.desk = CommandDesk(
            world, self.guard, journal, node=settings.node, role=lambda: self.role, alarms=alarms
        )
        self.replication = Replicator(world, self.guard, alarms)
        self.status = StatusSender(world, alarms, lambda: self.role == "master")
        self.clients: set[ClientLink] = set()
        self.bad_frames = 0
        self.integrity_failures = 0
        policy = settings.policy
        self.nonces = NonceCache(policy.max_age_ms + policy.max_skew_ms) if policy else None
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._peer_links: list[ServerLink] = []
        self._closed = False
        #: the day's actuals sent live so far (their number in the order they happened)
        self._actuals_sent = len(world.service.order) if world.service is not None else 0

    @property
    def node(self) -> str:
        return self.settings.node

    @property
    def policy(self) -> LinkPolicy | None:
        return self.settings.policy

    @property
    def role(self) -> str:
        return self.rules.role

    @property
    def epoch(self) -> int:
        return self.rules.epoch

    def hello(self, udp_port: int, level: int = PROTOCOL_LEVEL) -> Hello:
        """Our HELLO; to a client, ``level`` is the level negotiated with it."""
        line = self.world.line
        return Hello(
            self.settings.node,
            self.role,
            line.id,
            line.digest(),
            protocol=level,
            epoch=self.epoch,
            udp_port=udp_port,
        )

    def greet_with_state(self, client: ClientLink) -> None:
        """A SNAPSHOT to an HMI, and at level 2 the day's actuals so far after it
        (ACTUALS, ``catch_up``, at most ACTUALS_PER_MESSAGE records each, the final one
        ``last``; an empty day: one empty last part)."""
        client.send(self.world.snapshot())
        if client.level < 2:
            return
        service = self.world.service
        records = service.actuals() if service is not None else []
        parts = [
            records[i : i + ACTUALS_PER_MESSAGE]
            for i in range(0, len(records), ACTUALS_PER_MESSAGE)
        ] or [[]]
        for i, part in enumerate(parts):
            client.send(self._actuals(part, catch_up=True, last=i == len(parts) - 1))

    def _actuals(self, records: list[Actual], *, catch_up: bool, last: bool = True) -> Actuals:
        service = self.world.service
        timetable = service.label if service is not None else ""
        return Actuals(self.world.service_date, timetable, tuple(records), catch_up, last)

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
        self.status.udp = self._udp
        s = self.settings
        timings = LinkTimings(heartbeat_s=s.heartbeat_s, missed=s.missed, reconnect_max_s=1.0)
        for host, port in s.peers:
            link = ServerLink(
                f"peer@{host}:{port}",
                "peer",
                host,
                port,
                self.hello,
                PeerHandler(self),
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
            self.replication.mirror(msg)

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
        self.replication.partner_connected()

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
                for c in list(self.clients):
                    if c.hello is not None and not c.is_server:
                        self.greet_with_state(c)
            if self.role == "master":
                self.world.step(s.tick_s * s.time_scale)
                if self.alarms is not None:
                    if (
                        self._dual_master
                        and time.monotonic() - self._dual_master[1] > DUAL_MASTER_CLEAR_S
                    ):
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
        self._serve_actuals(hmis)
        self.status.send(hmis)

    def _serve_actuals(self, hmis: list[ClientLink]) -> None:
        """The actuals recorded since the last tick, to the level-2 HMIs (and the journal)."""
        service = self.world.service
        if service is None or len(service.order) <= self._actuals_sent:
            if service is not None:
                self._actuals_sent = min(self._actuals_sent, len(service.order))
            return
        new = service.actuals(self._actuals_sent)
        self._actuals_sent = len(service.order)
        if self.role == "master":
            for actual in new:
                self.journal.record_actual(self.node, self.world.service_date, actual)
        for i in range(0, len(new), ACTUALS_PER_MESSAGE):
            msg = self._actuals(new[i : i + ACTUALS_PER_MESSAGE], catch_up=False)
            for c in hmis:
                if c.level >= 2:
                    c.send(msg)

    def _replicate(self) -> None:
        """Send the world to the partner once per tick, on one working link to it."""
        outgoing = [link for link in self._peer_links if link.is_up()]
        incoming = [c for c in self.clients if c.is_server]
        if not (outgoing or incoming):
            return
        replica = self.replication.replica(self.settings.node, self.epoch)
        if outgoing:
            outgoing[0].send(replica)
        else:
            incoming[0].send(replica)

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
        self.desk.submit(client, cmd)

    async def execute(self, cmd: Command, session: Hello | None = None) -> CommandResult:
        """Decide and carry out one command (:meth:`CommandDesk.execute`)."""
        return await self.desk.execute(cmd, session)

    # -- life -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop deciding, close the peer links, the listeners, every client, the UDP
        socket, the alarm producer and the journal; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        await self.desk.aclose()
        for link in self._peer_links:
            await link.aclose("server shutting down")
        for server in self._servers:
            server.close()
        for c in list(self.clients):
            c.drop()
        for server in self._servers:
            await server.wait_closed()
        if self._udp is not None:
            self._udp.close()
        if self.alarms is not None:
            await self.alarms.aclose()
        await self.journal.aclose()
