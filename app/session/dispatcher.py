"""The dispatcher's session: links to the server pair, the line state, and commands.

Everything runs on one asyncio loop (qasync puts it on Qt's loop in the GUI):
messages arrive, the line state changes, listeners hear about it, in one thread.

Redundancy (two servers, each on two networks): every configured address has
its own link, all kept connected and heartbeated. The master is the server
that claims ``master`` with the highest epoch among the links that are up;
line state is accepted from any up link of the master (deltas are numbered, so
the same delta arriving on both networks is applied once, and losing one
network interrupts nothing), commands go on the master's link with the
lowest round-trip time. When the master changes, the state is marked stale
and rebuilt from the new master's snapshot. Two servers claiming master at
once (双主, split brain) raise a local alarm; the higher epoch is followed.

Link protection (``docs/security.md``): with a :class:`LinkPolicy` holding the
workstation key, every link authenticates its frames and datagrams; a link
whose failures pass the threshold is resynchronised and raises the local alarm
``link_integrity``, which clears once every link has been quiet for the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.comms.link import LinkDown, LinkHandler, LinkInfo, LinkTimings, ServerLink
from app.events import Event
from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.coupling import (
    DEFAULT_CONFIRM,
    DEFAULT_LOST_AFTER_MS,
    CouplingChanges,
    CouplingTracker,
    UnitReport,
)
from app.model.state import (
    CabRole,
    Changes,
    CouplingState,
    LineState,
    SequenceGap,
    StateDelta,
    StateSnapshot,
    TrainState,
    UnknownDevice,
)
from app.model.topology import Direction, Line
from app.protocol.messages import Hello, Message, SnapshotRequest
from app.protocol.security import LinkPolicy, Violation
from app.protocol.udp import CAB_ROLES, COUPLING_STATES, DIRECTIONS, TrainStatus

log = logging.getLogger(__name__)

#: How long an out-of-order delta may wait for the one before it (from the other network).
REORDER_WINDOW_S = 0.5
REORDER_MAX = 64
#: How often consists are checked for silent units (the server's cycle)
COUPLING_WATCH_S = 0.1
#: How long after a snapshot it could not apply the session asks for another
SNAPSHOT_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One server address. ``check_id``: the server must say it is ``server`` (protected
    links); off for addresses given without a server id (``--server`` on the command line)."""

    server: str
    host: str
    port: int
    check_id: bool = True


@dataclass(frozen=True, slots=True)
class LocalAlarm:
    """An alarm the workstation raises itself (the alarm list shows it with the server's)."""

    code: str
    text: str
    active: bool
    time_ms: int


@dataclass(frozen=True, slots=True)
class MasterView:
    """Which server the line state comes from, and what it claims to be.

    ``role`` is ``master`` normally. When no master is reachable on any network
    but a standby is, the standby's mirrored state is shown (``role`` is
    ``standby``) and commands are refused until a master is back.
    """

    server: str | None
    epoch: int
    claimants: tuple[tuple[str, int], ...]
    role: str = "master"

    @property
    def split_brain(self) -> bool:
        return len(self.claimants) > 1

    @property
    def can_command(self) -> bool:
        return self.server is not None and self.role == "master"


def choose_master(links: Sequence[ServerLink], current: str | None) -> MasterView:
    """The server to follow: the master with the highest epoch among links that are up.

    Equal epochs from two servers (should never happen) keep the current one, else
    the lower server id, so the choice never flaps between them. With no master
    reachable, the best reachable standby, for its state only.
    """
    for role in ("master", "standby"):
        epochs: dict[str, int] = {}
        for link in links:
            if link.is_up() and link.peer_role == role:
                epochs[link.server] = max(epochs.get(link.server, 0), link.peer_epoch)
        if epochs:
            ranked = sorted(epochs.items(), key=lambda kv: (-kv[1], kv[0] != current, kv[0]))
            server, epoch = ranked[0]
            claimants = tuple(sorted(epochs.items())) if role == "master" else ()
            return MasterView(server, epoch, claimants, role)
    return MasterView(None, 0, ())


class DispatcherSession(LinkHandler):
    """The dispatcher's view of the line and the way to command it."""

    def __init__(
        self,
        line: Line,
        endpoints: Sequence[Endpoint],
        *,
        node: str,
        dispatcher: str,
        role: str,
        timings: LinkTimings | None = None,
        command_timeout_s: float = 5.0,
        coupling_confirm: int = DEFAULT_CONFIRM,
        coupling_lost_after_ms: int = DEFAULT_LOST_AFTER_MS,
        clock_ms: Callable[[], int] | None = None,
        policy: LinkPolicy | None = None,
    ) -> None:
        self.line = line
        self.policy = policy if policy is not None and policy.protected else None
        self.node = node
        self.dispatcher = dispatcher
        self.role = role
        self.command_timeout_s = command_timeout_s
        self.state = LineState(line)
        self.state_changed: Event[Changes] = Event("state_changed")
        self.links_changed: Event[list[LinkInfo]] = Event("links_changed")
        self.command_finished: Event[CommandResult] = Event("command_finished")
        self.master_changed: Event[MasterView] = Event("master_changed")
        self.alarm: Event[LocalAlarm] = Event("alarm")
        #: consists (联挂) confirmed from the units' UDP reports (docs/coupling.md)
        self.coupling = CouplingTracker(coupling_confirm, coupling_lost_after_ms)
        self.coupling_changed: Event[CouplingChanges] = Event("coupling_changed")
        self._clock_ms = clock_ms or (lambda: time.monotonic_ns() // 1_000_000)
        self._coupling_watch: asyncio.TimerHandle | None = None
        self.links = [
            ServerLink(
                f"{ep.server}@{ep.host}:{ep.port}",
                ep.server,
                ep.host,
                ep.port,
                self._hello,
                self,
                timings or LinkTimings(),
                policy=self.policy,
                expect_peer=ep.server if ep.check_id else "",
                expect_line=(line.id, line.digest()),
            )
            for ep in endpoints
        ]
        self.master = MasterView(None, 0, ())
        self.alarms: dict[str, LocalAlarm] = {}
        self._reorder: dict[int, StateDelta] = {}
        self._reorder_timer: asyncio.TimerHandle | None = None
        self._train_seq: dict[int, int] = {}
        self._synced = asyncio.Event()
        self._commandable = asyncio.Event()  # the master's link is up: commands can go
        self._closing = False
        self.gaps = 0
        self.failovers = 0
        self.bad_records = 0
        self.integrity_failures = 0
        if self.policy is None:
            log.warning("links are not protected: no link key (docs/security.md)")

    def _hello(self, udp_port: int) -> Hello:
        return Hello(
            node=self.node,
            role=self.role,
            line_id=self.line.id,
            line_digest=self.line.digest(),
            dispatcher=self.dispatcher,
            udp_port=udp_port,
        )

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        for link in self.links:
            link.start()
        self._watch_coupling()

    def _watch_coupling(self) -> None:
        """Every cycle: consists whose units fell silent become unknown; a link-integrity
        alarm clears once every link has been quiet for the window."""
        self._coupling_changes(self.coupling.tick(self._clock_ms()))
        if "link_integrity" in self.alarms and all(
            lk.integrity.quiet_since(lk.clock_ms()) for lk in self.links
        ):
            self._raise("link_integrity", "link integrity: no failure within the window", False)
        if not self._closing:
            self._coupling_watch = asyncio.get_running_loop().call_later(
                COUPLING_WATCH_S, self._watch_coupling
            )

    def _coupling_changes(self, ch: CouplingChanges) -> None:
        for alarm in ch.alarms:
            self._raise(alarm.code, alarm.text, alarm.active)
        if ch:
            self.coupling_changed.emit(ch)

    async def close(self) -> None:
        self._closing = True
        if self._coupling_watch is not None:
            self._coupling_watch.cancel()
        for link in self.links:
            await link.close()
        if self._reorder_timer is not None:
            self._reorder_timer.cancel()

    async def wait_synchronised(self) -> None:
        """Wait until a snapshot from the master has been applied."""
        await self._synced.wait()

    def link_infos(self) -> list[LinkInfo]:
        return [link.info() for link in self.links]

    def command_link(self) -> ServerLink | None:
        """The followed server's up link with the lowest round-trip time (ties: config order)."""
        up = [lk for lk in self.links if lk.server == self.master.server and lk.is_up()]
        if not up:
            return None
        return min(up, key=lambda lk: lk.rtt_ms if lk.rtt_ms is not None else float("inf"))

    # -- master selection -------------------------------------------------------

    def link_state(self, link: ServerLink) -> None:
        if not self._closing:  # closing links one by one must not look like failovers
            self._elect()
        if self.master.can_command and self.command_link() is not None and not self._closing:
            self._commandable.set()
        else:
            self._commandable.clear()
        self.links_changed.emit(self.link_infos())

    def _elect(self) -> None:
        view = choose_master(self.links, self.master.server)
        old = self.master
        self.master = view
        if view.split_brain != old.split_brain:
            names = ", ".join(f"{s} (epoch {e})" for s, e in view.claimants)
            text = (
                f"dual master: {names} all claim master; following {view.server}"
                if view.split_brain
                else "dual master cleared"
            )
            self._raise("dual_master", text, view.split_brain)
        if view.server != old.server or view.role != old.role:
            # Losing or changing a master is news; finding the first one, or closing, is not.
            level = logging.WARNING if old.server and not self._closing else logging.INFO
            log.log(
                level,
                "master: %s (epoch %d) -> %s (epoch %d)",
                old.server,
                old.epoch,
                view.server,
                view.epoch,
            )
            if old.server is not None:
                self.failovers += 1
            # another server's units: nothing confirmed from the old one counts
            self._coupling_changes(self.coupling.clear())
            self._invalidate()
            best = self.command_link()
            if best is not None:
                self._request_snapshot(best, "master changed")
        if view != old:
            self.master_changed.emit(view)

    def link_integrity(self, link: ServerLink, violation: Violation, tripped: bool) -> None:
        self.integrity_failures += 1
        if tripped:
            mon = link.integrity
            self._raise(
                "link_integrity",
                f"link integrity: {link.name}: {mon.threshold} failures within "
                f"{mon.window_ms / 1000:g} s (last: {violation.kind} at {violation.where}: "
                f"{violation.detail}); link resynchronised",
                True,
            )
            self.links_changed.emit(self.link_infos())

    def _raise(self, code: str, text: str, active: bool) -> None:
        alarm = LocalAlarm(code, text, active, time.time_ns() // 1_000_000)
        if active:
            self.alarms[code] = alarm
            log.error("local alarm %s: %s", code, text)
        else:
            self.alarms.pop(code, None)
            log.warning("local alarm %s cleared", code)
        self.alarm.emit(alarm)

    # -- line state -------------------------------------------------------------

    def link_message(self, link: ServerLink, msg: Message) -> None:
        if link.server != self.master.server:
            return
        if isinstance(msg, StateSnapshot):
            seq = self.state.seq
            if seq is not None and msg.seq <= seq:
                return  # the greeting of the master's other link: nothing new in it
            self._clear_reorder()
            try:
                changes = self.state.apply_snapshot(msg)
            except UnknownDevice as exc:
                # The server's line is not ours in some record: show nothing stale as
                # current, and ask again (not at once: the same snapshot would come).
                self.bad_records += 1
                log.error("link %s: snapshot: %s; asking again in 1 s", link.name, exc)
                self._invalidate()
                asyncio.get_running_loop().call_later(
                    SNAPSHOT_RETRY_S, self._request_snapshot, link, str(exc)
                )
                return
            self._emit(changes)
            self._synced.set()
        elif isinstance(msg, StateDelta):
            self._on_delta(link, msg)

    def _on_delta(self, link: ServerLink, delta: StateDelta) -> None:
        st = self.state
        if st.seq is None:
            return  # waiting for a snapshot; deltas before it mean nothing
        if delta.seq <= st.seq:
            st.stale_deltas += 1  # the copy from the other network, or a repeat
            return
        if delta.seq > st.seq + 1:
            # Maybe the one before it is still on its way over the other network.
            self._reorder[delta.seq] = delta
            if len(self._reorder) > REORDER_MAX:
                self._gap(link, SequenceGap(st.seq + 1, delta.seq))
            elif self._reorder_timer is None:
                self._reorder_timer = asyncio.get_running_loop().call_later(
                    REORDER_WINDOW_S, self._reorder_expired, link
                )
            return
        changes = Changes()
        try:
            changes.merge(st.apply_delta(delta))
            while st.seq is not None and (nxt := self._reorder.pop(st.seq + 1, None)):
                changes.merge(st.apply_delta(nxt))
        except SequenceGap as gap:
            self._gap(link, gap)
            return
        except UnknownDevice as exc:
            self.bad_records += 1
            log.error("link %s: %s; asking for a snapshot", link.name, exc)
            self._invalidate()
            self._request_snapshot(link, str(exc))
            return
        if st.seq is not None:
            self._reorder = {s: d for s, d in self._reorder.items() if s > st.seq}
        if not self._reorder:
            self._clear_reorder()
        self._emit(changes)

    def _reorder_expired(self, link: ServerLink) -> None:
        self._reorder_timer = None
        if self._reorder and self.state.seq is not None:
            self._gap(link, SequenceGap(self.state.seq + 1, min(self._reorder)))

    def _gap(self, link: ServerLink, gap: SequenceGap) -> None:
        self.gaps += 1
        log.warning("link %s: %s; asking for a snapshot", link.name, gap)
        self._invalidate()
        self._request_snapshot(self.command_link() or link, str(gap))

    def _clear_reorder(self) -> None:
        self._reorder.clear()
        if self._reorder_timer is not None:
            self._reorder_timer.cancel()
            self._reorder_timer = None

    def _emit(self, changes: Changes) -> None:
        if changes:
            self.state_changed.emit(changes)
        if (changes.full or changes.trains_removed) and self.state.synchronised:
            # units out of service leave their consists
            gone = self.coupling.units() - self.state.trains.keys()
            if gone:
                self._coupling_changes(self.coupling.forget_units(gone))

    def _invalidate(self) -> None:
        """The state is no longer current: say so at once, everywhere it is shown."""
        self.state.invalidate()
        self._synced.clear()
        self._clear_reorder()
        self._train_seq.clear()
        self.state_changed.emit(Changes(full=True))

    def _request_snapshot(self, link: ServerLink, reason: str) -> None:
        with contextlib.suppress(LinkDown):
            link.send(SnapshotRequest(reason))

    def link_status(self, link: ServerLink, rec: TrainStatus) -> None:
        if link.server != self.master.server or not self.state.synchronised:
            return
        sections = self.line.sections
        if rec.section_index >= len(sections):
            self.bad_records += 1  # before the sequence: a bad record advances nothing
            return
        last = self._train_seq.get(rec.train_id)
        # The same record arrives on both networks, and UDP may reorder: newer only.
        if last is not None and not 0 < ((rec.seq - last) & 0xFFFFFFFF) < 0x80000000:
            return
        self._train_seq[rec.train_id] = rec.seq
        section = sections[rec.section_index].id
        direction = Direction(DIRECTIONS[rec.direction])
        old = self.state.trains.get(rec.train_id)
        # "since" is when the train entered its section, not when it last reported.
        same_place = old is not None and (old.section, old.direction) == (section, direction)
        since = old.since_ms if old is not None and same_place else rec.timestamp_ms
        # The datagram has no room for the hold (扣车): it comes in state messages only.
        held = old.held if old is not None else False
        train = TrainState(
            rec.train_id,
            rec.number,
            section,
            rec.offset_cm / 100,
            rec.speed_dkmh / 10,
            direction,
            CouplingState(COUPLING_STATES[rec.coupling]),
            CabRole(CAB_ROLES[rec.cab]),
            since,
            held,
        )
        self._emit(self.state.apply_train(train))
        consist, index, count = rec.consist_fields()
        report = UnitReport(
            rec.train_id,
            rec.number,
            rec.seq,
            consist,
            index,
            count,
            train.coupling,
            train.cab,
        )
        self._coupling_changes(self.coupling.report(report, self._clock_ms()))

    # -- commands ---------------------------------------------------------------

    async def command(
        self,
        device: str,
        op: CommandOp,
        *,
        idempotency_key: str = "",
        fencing_token: int = 0,
        zone: str | None = None,
        arg: str = "",
    ) -> CommandResult:
        """Send one command and wait for its result. Never raises: failures are outcomes.

        ``idempotency_key`` names the dispatcher's intent: a retry of the same
        intent must pass the same key, and the server then answers with the first
        result instead of executing again. A new key is made when none is given.
        ``fencing_token`` comes with the device lock (0: none).
        ``zone`` is the control zone the command is sent for; by default the
        device's (:meth:`LineState.zone_of`: a train's is the zone of the section it
        occupies now, as this session last heard).
        """
        cmd = Command(
            command_id=uuid.uuid4().hex,
            device=device,
            op=op,
            dispatcher=self.dispatcher,
            role=self.role,
            zone=(self.state.zone_of(device) if zone is None else zone) or "",
            idempotency_key=idempotency_key or uuid.uuid4().hex,
            fencing_token=fencing_token,
            arg=arg,
        )
        result = await self._send_and_wait(cmd)
        self.command_finished.emit(result)
        return result

    async def _send_and_wait(self, cmd: Command) -> CommandResult:
        def outcome(kind: Outcome, code: str, reason: str) -> CommandResult:
            return CommandResult(cmd.command_id, cmd.device, cmd.op, kind, code, reason)

        if self.role == "observer":
            return outcome(Outcome.REFUSED, "not_authorised", "observers may not command")
        link = self.command_link()
        if link is None:
            return outcome(Outcome.FAILED, "no_link", "no link to the master; not sent")
        if not self.master.can_command:
            return outcome(
                Outcome.FAILED,
                "master_unreachable",
                f"the master is unreachable; showing standby {link.server}'s state; not sent",
            )
        try:
            fut = link.request(cmd)
        except LinkDown as exc:
            return outcome(Outcome.FAILED, "no_link", f"not sent: {exc}")
        # From here on the command may have left: without the server's answer its
        # outcome is unknown, never "not sent" (docs/control.md, "Outcomes").
        try:
            async with asyncio.timeout(self.command_timeout_s):
                return await fut
        except LinkDown as exc:
            return outcome(
                Outcome.UNKNOWN,
                "link_down",
                f"sent on {link.name}, but the link failed before the result "
                f"({exc.__cause__}); outcome unknown: check the device",
            )
        except TimeoutError:
            return outcome(
                Outcome.UNKNOWN,
                "timeout",
                f"no result within {self.command_timeout_s:g} s; outcome unknown: check the device",
            )
        finally:
            link.forget(cmd.command_id)

    async def wait_commandable(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until a command could be sent to the master now."""
        if self._commandable.is_set():
            return True
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                await self._commandable.wait()
        except TimeoutError:
            return False
        return True
