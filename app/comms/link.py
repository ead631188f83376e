"""One supervised TCP link to one server address, with its UDP status socket.

The link's life is a table-driven state machine (``TRANSITIONS``, in
:mod:`app.comms.linkstate` with the link's other values).

The safe close (field notes, item 4: closing a socket while another part was
still sending crashed the old client): on a heartbeat timeout or an error the
link leaves UP *first*, so every new send is refused with :class:`LinkDown`;
every pending request fails at once with an error chained to the cause; the
bytes already handed to the transport get a bounded time to drain; only then
is the transport closed. Nothing is ever written to a closed transport, and no
exception escapes to the event loop.

It reconnects by itself with capped exponential backoff until closed. Any
received frame proves the peer alive; the link pings every interval (the
answer gives the round-trip time); a peer silent for ``missed`` intervals is
declared dead.

On a protected link (a :class:`LinkPolicy` with keys, ``docs/security.md``)
every frame and datagram is checked by the connection; each failure is counted
here (``integrity_failures``, by kind) and reported to the handler, and past
the policy's threshold within its window the link is resynchronised: it fails
as above and reconnects, with a new handshake, new session keys and a fresh
snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable

from app.clock import ClockMs, mono_ms, wall_ms
from app.comms.linkstate import (
    TRANSITIONS,
    LinkCause,
    LinkDown,
    LinkEvent,
    LinkInfo,
    LinkState,
    LinkTimings,
    cause_of,
)
from app.comms.pool import BufferPool
from app.comms.tcp import FramedProtocol
from app.comms.udp import UdpStatusReceiver, status_pool
from app.model.commands import Command, CommandResult
from app.protocol.connection import Connection, LinkRefused
from app.protocol.errors import ProtocolError, RemoteProtocolError
from app.protocol.frames import Frame
from app.protocol.messages import Heartbeat, Hello, Message
from app.protocol.security import (
    IntegrityError,
    IntegrityMonitor,
    LinkPolicy,
    Violation,
    age_violation,
)
from app.protocol.udp import TrainStatus

__all__ = [
    "TRANSITIONS",
    "LinkDown",
    "LinkEvent",
    "LinkHandler",
    "LinkInfo",
    "LinkState",
    "LinkTimings",
    "ServerLink",
]

log = logging.getLogger(__name__)

#: How long the heartbeat watchdog lets the loop read before it calls a silent peer dead.
DEAD_PEER_GRACE_S = 0.02


class LinkHandler:
    """What a link tells its owner. Override what you need."""

    def link_state(self, link: ServerLink) -> None: ...
    def link_message(self, link: ServerLink, msg: Message) -> None: ...
    def link_status(self, link: ServerLink, rec: TrainStatus) -> None: ...
    def link_integrity(self, link: ServerLink, violation: Violation, tripped: bool) -> None:
        """A frame or datagram failed a protection check; ``tripped``: past the threshold."""


class ServerLink:
    def __init__(
        self,
        name: str,
        server: str,
        host: str,
        port: int,
        hello: Callable[[int], Hello],
        handler: LinkHandler,
        timings: LinkTimings | None = None,
        heartbeat: Callable[[], Heartbeat] = Heartbeat,
        udp: bool = True,
        policy: LinkPolicy | None = None,
        expect_peer: str = "",
        clock_ms: ClockMs = wall_ms,
        expect_line: tuple[str, str] | None = None,
    ) -> None:
        """``expect_line``: (line id, line digest) the server's HELLO must name (a
        workstation never follows a server of another line, or another version of
        its line file: ``docs/protocol.md``, "Line digest")."""
        self.name = name
        self.server = server
        self.host = host
        self.port = port
        self._hello = hello
        self._heartbeat = heartbeat
        self._handler = handler
        self._want_udp = udp
        self.timings = timings or LinkTimings()
        self.state = LinkState.DOWN
        self.peer_hello: Hello | None = None
        self.peer_role = ""
        self.peer_epoch = 0
        self.rtt_ms: float | None = None
        self.reconnects = 0
        self.last_error = ""
        self.last_cause: tuple[LinkCause, str] = (LinkCause.NONE, "")
        self.bad_frames = 0
        self.policy = policy if policy is not None and policy.protected else None
        self.expect_peer = expect_peer
        self.expect_line = expect_line
        self._clock_ms = clock_ms
        p = self.policy or LinkPolicy()
        self.integrity = IntegrityMonitor(p.threshold, p.window_ms)
        self.resyncs = 0
        self._udp_counts = [0, 0]  # datagrams received and refused, by closed receivers
        self._conn = self._connection()
        self._transport: asyncio.Transport | None = None
        self._pool: BufferPool = status_pool(128)
        self._udp: UdpStatusReceiver | None = None
        self._early: list[Frame] = []
        self._last_rx = 0.0
        self._last_ping = 0.0
        self._task: asyncio.Task[None] | None = None
        self._ended: asyncio.Event | None = None
        self._pending: dict[str, asyncio.Future[CommandResult]] = {}
        self._sent: dict[str, Command] = {}

    def _connection(self) -> Connection:
        return Connection(
            clock_ms=self._clock_ms,
            policy=self.policy,
            side="client",
            expect_peer=self.expect_peer,
            on_violation=self._on_violation,
        )

    # -- state machine ----------------------------------------------------------

    def _fire(self, event: LinkEvent, cause: str = "") -> None:
        old = self.state
        new = TRANSITIONS[old].get(event)
        if new is None:
            raise RuntimeError(f"link {self.name}: no transition for {event} in {old}")
        if new is old:
            return
        log.info(
            "link %s %s -> %s (%s%s)", self.name, old, new, event, f": {cause}" if cause else ""
        )
        self.state = new
        if old is LinkState.UP:
            self._fail_pending(cause or str(event))
        self._handler.link_state(self)

    @property
    def datagrams(self) -> int:
        live = self._udp.received + self._udp.bad if self._udp is not None else 0
        return self._udp_counts[0] + live

    @property
    def bad_datagrams(self) -> int:
        return self._udp_counts[1] + (self._udp.bad if self._udp is not None else 0)

    def clock_ms(self) -> int:
        """The wall clock the link's checks use (ms since the epoch)."""
        return self._clock_ms()

    def is_closed(self) -> bool:
        return self.state is LinkState.CLOSED

    def is_up(self) -> bool:
        return self.state is LinkState.UP

    def info(self) -> LinkInfo:
        age = time.monotonic() - self._last_rx if self._last_rx else None
        return LinkInfo(
            self.name,
            self.server,
            self.host,
            self.port,
            self.state,
            self.peer_role,
            self.peer_epoch,
            self.rtt_ms,
            age,
            self.reconnects,
            self.bad_frames,
            self.bad_datagrams,
            self.last_error,
            self.policy is not None,
            self.integrity.total,
            self.last_cause[0].value,
            self.last_cause[1],
        )

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None and not self.is_closed():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def aclose(self, reason: str = "closed by its owner") -> None:
        """Idempotent: drain what was written (bounded), fail pending requests, stop."""
        if self.is_closed():
            return
        if self.state is LinkState.UP:
            self._fail_pending(reason)
            await self._drain()
        self._fire(LinkEvent.CLOSE, reason)
        if self._ended is not None:
            self._ended.set()
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
                failures = 0 if self.peer_hello is not None else failures + 1
            except (OSError, TimeoutError, ProtocolError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.last_cause = cause_of(exc)
                failures += 1
                if self.state is LinkState.UP:
                    self._fire(LinkEvent.FAIL, self.last_error)
            finally:
                self._teardown()
            if self.is_closed():
                break
            self._fire(LinkEvent.LOST, self.last_error)
            self.reconnects += 1
            await asyncio.sleep(self.timings.backoff.delay(failures))

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self._conn = self._connection()
        self.peer_hello = None
        self.last_error = ""
        self.last_cause = (LinkCause.NONE, "")
        self._ended = asyncio.Event()
        self._early = []
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can return the
        # connection while its task is being cancelled by close() (bpo-42130).
        async with asyncio.timeout(self.timings.connect_timeout_s):
            transport, _ = await loop.create_connection(
                lambda: FramedProtocol(
                    self._on_frame, self._on_bad_frame, on_connection_lost=self._on_lost
                ),
                self.host,
                self.port,
            )
        if self.is_closed():
            # Closed by its owner while connecting: it stays closed, and the
            # connection that came late is closed too.
            transport.abort()
            return
        self._transport = transport
        udp_port = 0
        if self._want_udp:
            local_host = transport.get_extra_info("sockname")[0]
            self._udp = UdpStatusReceiver(
                (local_host, 0),
                self._pool,
                self._on_status,
                name=self.name,
                require_key=self.policy is not None,
                on_violation=self._on_bad_datagram,
            )
            self._udp.start()
            udp_port = self._udp.local_address[1]
        self._fire(LinkEvent.CONNECTED)
        self._last_rx = time.monotonic()
        self._write(self._conn.send(self._hello(udp_port)))
        early, self._early = self._early, []
        try:
            for frame in early:
                self._on_frame(frame)
        except RemoteProtocolError as exc:
            self._on_bad_frame(exc)
        supervisor = loop.create_task(self._supervise())
        try:
            await self._ended.wait()
        finally:
            supervisor.cancel()
        if self.state is LinkState.DRAINING:
            await self._drain()
            self._fire(LinkEvent.DRAINED)

    async def _supervise(self) -> None:
        """Heartbeat and liveness, checked against the monotonic clock each quarter interval.

        Deadlines are computed from timestamps, never by counting timer ticks, so
        a coarse event-loop timer (Qt's drifts up to 5 %) adds at most its own
        error once and never accumulates.
        """
        t = self.timings
        while True:
            await asyncio.sleep(t.heartbeat_s / 4)
            now = time.monotonic()
            silent = now - self._last_rx
            if silent > t.dead_after_s:
                # After a pause of this process (SIGSTOP, a long GC) the timer and the
                # socket are ready together: read what has arrived before calling the
                # peer dead (a command's answer may be waiting there).
                await asyncio.sleep(DEAD_PEER_GRACE_S)
                silent = time.monotonic() - self._last_rx
                if silent <= t.dead_after_s or self._ended is None or self._ended.is_set():
                    continue
                self._failed(
                    f"no frame for {silent:.2f} s (heartbeat timeout)",
                    LinkCause.HEARTBEAT,
                    f"{silent:.1f}",
                )
                return
            if (
                self.state in (LinkState.UP, LinkState.HANDSHAKE)
                and self._conn.ready
                and now - self._last_ping >= t.heartbeat_s
            ):
                self._last_ping = now
                self._write(
                    self._conn.send(dataclasses.replace(self._heartbeat(), ping_ms=mono_ms()))
                )

    def _failed(self, why: str, cause: LinkCause, param: str = "") -> None:
        """Peer dead or stream broken: stop accepting sends now, drain, then close."""
        if not self.last_error:
            self.last_error = why
            self.last_cause = (cause, param)
        log.warning("link %s: %s", self.name, why)
        if self.state in (LinkState.UP, LinkState.HANDSHAKE):
            self._fire(LinkEvent.FAIL, why)
        if self._ended is not None:
            self._ended.set()

    def _on_lost(self, exc: Exception | None) -> None:
        if not self.last_error:
            self.last_error = f"connection lost: {exc}" if exc else "connection closed by peer"
            self.last_cause = (LinkCause.LOST, "") if exc else (LinkCause.CLOSED, "")
        self._transport = None
        if self._ended is not None:
            self._ended.set()

    async def _drain(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        deadline = time.monotonic() + self.timings.drain_s
        # Transports signal "drained" only through flow control; a short poll is bounded here.
        while transport.get_write_buffer_size() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        left = transport.get_write_buffer_size()
        if left:
            log.warning(
                "link %s: %d bytes not drained within %.2f s; dropped",
                self.name,
                left,
                self.timings.drain_s,
            )

    def _teardown(self) -> None:
        if self._transport is not None:
            self._transport.abort()
            self._transport = None
        if self._udp is not None:
            udp, self._udp = self._udp, None
            udp.close()
            self._udp_counts[0] += udp.received + udp.bad
            self._udp_counts[1] += udp.bad

    def _fail_pending(self, cause: str) -> None:
        pending, self._pending = self._pending, {}
        self._sent.clear()
        for fut in pending.values():
            if not fut.done():
                err = LinkDown(f"link {self.name} left UP before the answer came")
                err.__cause__ = ConnectionError(cause)
                fut.set_exception(err)

    # -- I/O --------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise LinkDown(f"link {self.name} is {self.state}")
        backlog = transport.get_write_buffer_size()
        if backlog > self.timings.max_backlog:
            # A peer that stops reading must not make us buffer without end.
            self._failed(
                f"peer not reading: {backlog} bytes waiting to be sent",
                LinkCause.NOT_READING,
                str(backlog),
            )
            raise LinkDown(f"link {self.name}: peer not reading")
        transport.write(data)

    def send(self, msg: Message) -> None:
        if self.state is not LinkState.UP:
            raise LinkDown(f"link {self.name} is {self.state}")
        self._write(self._conn.send(msg))

    def request(self, cmd: Command) -> asyncio.Future[CommandResult]:
        """Send a command; the future gets its result, or LinkDown if the link fails first."""
        self.send(cmd)
        fut: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[cmd.command_id] = fut
        self._sent[cmd.command_id] = cmd
        return fut

    def forget(self, command_id: str) -> None:
        self._pending.pop(command_id, None)
        self._sent.pop(command_id, None)

    def _on_frame(self, frame: Frame) -> None:
        """Each whole frame the ring framer cuts. Raising here counts as a bad frame."""
        if self.state is LinkState.CONNECTING:
            # It came before create_connection() returned to us: the peer's HELLO.
            self._early.append(frame)
            return
        if self.state not in (LinkState.HANDSHAKE, LinkState.UP):
            return
        msg = self._conn.accept(frame)
        if msg is None:
            return  # dropped by a protection check (counted in _on_violation)
        # Liveness counts whole frames: a peer trickling bytes is not alive.
        self._last_rx = time.monotonic()
        self._dispatch(msg)

    def _on_bad_frame(self, exc: RemoteProtocolError) -> None:
        if isinstance(exc, LinkRefused):
            # the server said why it refused the HELLO (REFUSED): say that, not "bad frame"
            self._failed(f"{exc.message} ({self.host}:{self.port})", LinkCause.REFUSED, exc.code)
            return
        self.bad_frames += 1
        self._failed(f"bad frame from {self.host}:{self.port}: {exc}", LinkCause.BAD_FRAME)

    def _on_violation(self, v: Violation) -> None:
        """A frame or datagram failed a check: count, tell, and resync past the threshold."""
        tripped = self.integrity.record(v.kind, self._clock_ms())
        log.warning("link %s: integrity: %s at %s: %s", self.name, v.kind, v.where, v.detail)
        self._handler.link_integrity(self, v, tripped)
        if tripped and self.state in (LinkState.UP, LinkState.HANDSHAKE):
            self.resyncs += 1
            p = self.integrity
            self._failed(
                f"link integrity: {p.threshold} failures within {p.window_ms / 1000:g} s "
                f"(last: {v.kind} at {v.where}: {v.detail}); resynchronising",
                LinkCause.INTEGRITY,
                v.kind,
            )

    def _on_bad_datagram(self, exc: IntegrityError) -> None:
        self._on_violation(Violation(exc.kind, exc.where, exc.message))

    def _dispatch(self, msg: Message) -> None:
        if isinstance(msg, Hello):
            if self.expect_line is not None and (msg.line_id, msg.line_digest) != self.expect_line:
                line_id, digest = self.expect_line
                self._failed(
                    f"server {msg.node or '?'} serves line {msg.line_id!r} (digest "
                    f"{msg.line_digest!r}), not line {line_id!r} (digest {digest!r}): "
                    "the line files differ",
                    LinkCause.WRONG_LINE,
                    msg.line_id[:40],
                )
                return
            self.peer_hello = msg
            self.peer_role, self.peer_epoch = msg.role, msg.epoch
            if self._udp is not None:
                self._udp.key = self._conn.udp_key
            if self.state is LinkState.HANDSHAKE:
                self._fire(LinkEvent.HELLO)
        elif isinstance(msg, Heartbeat):
            if msg.pong_ms:
                self.rtt_ms = float(mono_ms() - msg.pong_ms)
            if (msg.role, msg.epoch) != (self.peer_role, self.peer_epoch) and msg.role:
                self.peer_role, self.peer_epoch = msg.role, msg.epoch
                self._handler.link_state(self)
        elif isinstance(msg, CommandResult):
            sent = self._sent.get(msg.command_id)
            if sent is not None and (sent.device, sent.op) != (msg.device, msg.op):
                # The feedback must be about the command sent: anything else is not its answer.
                self._on_violation(
                    Violation(
                        "feedback",
                        "COMMAND_RESULT",
                        f"result for {msg.op} {msg.device}, but command {msg.command_id} "
                        f"was {sent.op} {sent.device}",
                    )
                )
                return
            self._sent.pop(msg.command_id, None)
            fut = self._pending.pop(msg.command_id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        self._handler.link_message(self, msg)

    def _on_status(self, rec: TrainStatus) -> None:
        if self.state is not LinkState.UP:
            return
        if self.policy is not None:
            why = age_violation(self.policy, self._clock_ms(), rec.timestamp_ms)
            if why is not None:
                kind = why.split(":", 1)[0]
                self._on_violation(
                    Violation(kind, "datagram.timestamp", f"train {rec.train_id}: {why}")
                )
                return
        self._handler.link_status(self, rec)
