"""The dispatcher's session: links to the server pair, the line state, and commands.

Everything runs on one asyncio loop (qasync puts it on Qt's loop in the GUI):
messages arrive, the line state changes, listeners hear about it, in one thread.

:class:`DispatcherSession` is the composition of pure parts, each tested on its own
(``tests/unit/session/``), with the links and the loop's timers around them:

- :mod:`app.session.election`: which server to follow. Every configured address has
  its own link, all kept connected and heartbeated; the master is the server that
  claims ``master`` with the highest epoch among the links that are up. When it
  changes, the state is marked stale and rebuilt from the new master's snapshot.
  Two servers claiming master at once (双主, split brain): the higher epoch is followed.
- :mod:`app.session.health`: redundancy told as local alarms (failover, no redundancy,
  a network down, dual master...), by a table, each cleared when its condition ends.
- :mod:`app.session.sequencing`: the followed server's deltas from any of its up
  links, in order: the copy from the other network is dropped, one ahead of its
  predecessor waits a while for it, a gap asks for a snapshot. Losing one network
  interrupts nothing.
- :mod:`app.session.trains`: its train status datagrams, newer only, to train
  records and the units' coupling reports (the conversion is
  :mod:`app.protocol.train_status`, shared with the simulator).
- :mod:`app.session.commands` and :mod:`app.session.sending`: what a command sends,
  how it is sent and the outcomes given without the server's answer; commands go on
  the master's link with the lowest round-trip time.
- :mod:`app.session.service`: the service clock, the day's actuals, late trains.

Link protection (``docs/security.md``): with a :class:`LinkPolicy` holding the
workstation key, every link authenticates its frames and datagrams; a link
whose failures pass the threshold is resynchronised and raises the local alarm
``link_integrity``, which clears once every link has been quiet for the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from app.clock import ClockMs, mono_ms, wall_ms
from app.comms.link import LinkDown, LinkHandler, LinkInfo, LinkTimings, ServerLink
from app.events import Event
from app.model.commands import CommandOp, CommandResult
from app.model.coupling import (
    DEFAULT_CONFIRM,
    DEFAULT_LOST_AFTER_MS,
    CouplingChanges,
    CouplingTracker,
)
from app.model.roles import Role
from app.model.state import (
    Changes,
    LineState,
    SequenceGap,
    StateDelta,
    StateSnapshot,
    UnknownDevice,
)
from app.model.topology import Line
from app.protocol.messages import PROTOCOL_LEVEL, Actuals, Hello, Message, SnapshotRequest
from app.protocol.security import LinkPolicy, Violation
from app.protocol.udp import TrainStatus
from app.session.commands import new_command
from app.session.election import NO_MASTER, MasterView, elect
from app.session.health import (
    LINK_INTEGRITY,
    HealthMonitor,
    LocalAlarm,
    LocalAlarms,
    integrity_quiet,
    integrity_tripped,
    observe,
)
from app.session.sending import send_and_wait
from app.session.sequencing import Apply, DeltaSequencer, Gap, Held, Stale
from app.session.service import ServiceFeed
from app.session.trains import TrainFeed
from app.session.values import Applied, Endpoint
from app.timetable.model import Timetable

# The name the session has always logged under (app.session), whatever the module.
log = logging.getLogger("app.session")

#: How often consists are checked for silent units (the server's cycle)
COUPLING_WATCH_S = 0.1
#: Late trains are checked every this many coupling cycles (1 s)
LATE_CHECK_TICKS = 10
#: How long after a snapshot it could not apply the session asks for another
SNAPSHOT_RETRY_S = 1.0


class DispatcherSession(LinkHandler):
    """The dispatcher's view of the line and the way to command it.

    ``role`` is a :class:`~app.model.roles.Role` or its value (``"dispatcher"``...);
    :attr:`role` is the enum, which compares equal to its value.
    """

    def __init__(
        self,
        line: Line,
        endpoints: Sequence[Endpoint],
        *,
        node: str,
        dispatcher: str,
        role: Role | str,
        timings: LinkTimings | None = None,
        command_timeout_s: float = 5.0,
        coupling_confirm: int = DEFAULT_CONFIRM,
        coupling_lost_after_ms: int = DEFAULT_LOST_AFTER_MS,
        clock_ms: Callable[[], int] | None = None,
        policy: LinkPolicy | None = None,
        timetable: Timetable | None = None,
        late_alarm_s: float = 300.0,
        on_time_s: float = 60.0,
        archive_dir: Path | None = None,
    ) -> None:
        self.line = line
        self.policy = policy if policy is not None and policy.protected else None
        self.node = node
        self.dispatcher = dispatcher
        self._role = Role(role)
        self.command_timeout_s = command_timeout_s
        self.state = LineState(line)
        self.state_changed: Event[Changes] = Event("state_changed")
        self.links_changed: Event[list[LinkInfo]] = Event("links_changed")
        self.command_finished: Event[CommandResult] = Event("command_finished")
        self.master_changed: Event[MasterView] = Event("master_changed")
        #: what the line state takes in, as it takes it (the black box, docs/replay.md)
        self.applied: Event[Applied] = Event("applied")
        self.local = LocalAlarms()
        #: the local alarms' events and those active now (``LocalAlarms``)
        self.alarm: Event[LocalAlarm] = self.local.changed
        #: consists (联挂) confirmed from the units' UDP reports (docs/coupling.md)
        self.coupling = CouplingTracker(coupling_confirm, coupling_lost_after_ms)
        self.coupling_changed: Event[CouplingChanges] = Event("coupling_changed")
        #: the monotonic clock (ms) the units' reports and the consists are stamped with
        self.clock_ms: ClockMs = clock_ms or mono_ms
        #: the service clock and the day's actuals (docs/timetable.md)
        self.service = ServiceFeed(
            timetable,
            late_alarm_s=late_alarm_s,
            on_time_s=on_time_s,
            alarms=self.local,
            clock_ms=self.clock_ms,
            archive_dir=archive_dir,
        )
        self._watch_ticks = 0
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
        self.master = NO_MASTER
        self.alarms: dict[str, LocalAlarm] = self.local.active
        self.health = HealthMonitor()
        self.deltas = DeltaSequencer()
        self._reorder_timer: asyncio.TimerHandle | None = None
        self.train_status = TrainFeed(line)
        self._synced = asyncio.Event()
        self._commandable = asyncio.Event()  # the master's link is up: commands can go
        self._closing = False
        self._closed = False
        self.gaps = 0
        self.failovers = 0
        self._bad_state_records = 0
        self.integrity_failures = 0
        if self.policy is None:
            log.warning("links are not protected: no link key (docs/security.md)")

    @property
    def role(self) -> Role:
        """The role the dispatcher logged in with; set it as a Role or its value."""
        return self._role

    @role.setter
    def role(self, role: Role | str) -> None:
        self._role = Role(role)

    @property
    def bad_records(self) -> int:
        """Records naming what the line does not have: in snapshots and deltas (each
        answered by a snapshot request) and in train status datagrams."""
        return self._bad_state_records + self.train_status.bad_records

    @property
    def _train_seq(self) -> dict[int, int]:
        """The last status sequence number taken per train (tests watch datagrams come)."""
        return self.train_status.newer.last

    def _hello(self, udp_port: int) -> Hello:
        return Hello(
            node=self.node,
            role=self.role.value,
            line_id=self.line.id,
            line_digest=self.line.digest(),
            dispatcher=self.dispatcher,
            udp_port=udp_port,
            protocol=PROTOCOL_LEVEL,
        )

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        for link in self.links:
            link.start()
        self._watch_coupling()

    def _watch_coupling(self) -> None:
        """Every cycle: consists whose units fell silent become unknown; a link-integrity
        alarm clears once every link has been quiet for the window."""
        self._coupling_changes(self.coupling.tick(self.clock_ms()))
        self._assess()
        up = self.alarms.get(LINK_INTEGRITY)
        if up is not None and all(lk.integrity.quiet_since(lk.clock_ms()) for lk in self.links):
            self.local.told([integrity_quiet(up)])
        self._watch_ticks += 1
        if self._watch_ticks % LATE_CHECK_TICKS == 0 and self.state.synchronised:
            self.service.tick(self.state.trains.keys(), wall_ms())
        if not self._closing:
            self._coupling_watch = asyncio.get_running_loop().call_later(
                COUPLING_WATCH_S, self._watch_coupling
            )

    def _coupling_changes(self, ch: CouplingChanges) -> None:
        for alarm in ch.alarms:
            self.local.set(alarm.code, alarm.text, alarm.active)
        if ch:
            self.coupling_changed.emit(ch)

    async def aclose(self) -> None:
        """Close every link and stop the timers; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        self._closing = True
        if self._coupling_watch is not None:
            self._coupling_watch.cancel()
        self.service.save()
        for link in self.links:
            await link.aclose()
        self._cancel_reorder_timer()

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
            self._assess()
        if self.master.can_command and self.command_link() is not None and not self._closing:
            self._commandable.set()
        else:
            self._commandable.clear()
        self.links_changed.emit(self.link_infos())

    def _elect(self) -> None:
        change = elect(self.links, self.master)
        old, view = change.old, change.new
        self.master = view
        if change.switched:
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
            if change.failover:
                self.failovers += 1
            now = wall_ms()
            self.local.told(self.health.followed(now, self.links, view), now)
            # another server's units: nothing confirmed from the old one counts
            self._coupling_changes(self.coupling.clear())
            self._invalidate()
            best = self.command_link()
            if best is not None:
                self._request_snapshot(best, "master changed")
        if change.changed:
            self.master_changed.emit(view)

    def link_integrity(self, link: ServerLink, violation: Violation, tripped: bool) -> None:
        self.integrity_failures += 1
        if tripped:
            mon = link.integrity
            v = violation
            log.warning("link %s: integrity: %s at %s: %s", link.name, v.kind, v.where, v.detail)
            now = wall_ms()
            self.local.told(
                [integrity_tripped(now, link.name, mon.threshold, mon.window_ms, violation)], now
            )
            self.links_changed.emit(self.link_infos())

    def _assess(self) -> None:
        """Redundancy and networks as they are now: health alarms raised or cleared."""
        if not self._closing:
            now = wall_ms()
            self.local.told(self.health.update(now, observe(self.links, self.master)), now)

    # -- line state -------------------------------------------------------------

    def link_message(self, link: ServerLink, msg: Message) -> None:
        if not self.master.follows(link.server):
            return
        if isinstance(msg, StateSnapshot):
            self._on_snapshot(link, msg)
            self.service.told_clock(msg.service_date, msg.service_ms)
        elif isinstance(msg, StateDelta):
            self._on_delta(link, msg)
            self.service.told_clock(msg.service_date, msg.service_ms)
        elif isinstance(msg, Actuals):
            news = self.service.told_actuals(msg)
            if news is not None and (news.fresh or news.new_day):
                # what was kept anew: the copy from the other network, a catch-up
                # telling again what came live, add nothing to the day
                self.applied.emit(Applied(link.server, replace(msg, records=news.fresh)))

    def _on_snapshot(self, link: ServerLink, snap: StateSnapshot) -> None:
        if not self.deltas.snapshot_is_news(self.state.seq, snap.seq):
            return  # the greeting of the master's other link: nothing new in it
        self._clear_reorder()
        try:
            changes = self.state.apply_snapshot(snap)
        except UnknownDevice as exc:
            # The server's line is not ours in some record: show nothing stale as
            # current, and ask again (not at once: the same snapshot would come).
            self._bad_state_records += 1
            log.error("link %s: snapshot: %s; asking again in 1 s", link.name, exc)
            self._invalidate()
            asyncio.get_running_loop().call_later(
                SNAPSHOT_RETRY_S, self._request_snapshot, link, str(exc)
            )
            return
        self.applied.emit(Applied(link.server, snap))
        self._emit(changes)
        self._synced.set()
        self.local.told(self.health.synchronised())

    def _on_delta(self, link: ServerLink, delta: StateDelta) -> None:
        st = self.state
        verdict = self.deltas.offer(st.seq, delta, asyncio.get_running_loop().time())
        if isinstance(verdict, Stale):
            st.stale_deltas += 1  # the copy from the other network, or a repeat
        elif isinstance(verdict, Held):
            if verdict.started:
                self._schedule_reorder(link)
        elif isinstance(verdict, Gap):
            self._gap(link, verdict.gap)
        elif isinstance(verdict, Apply):
            self._apply(link, verdict.deltas)
        # NotSynchronised: waiting for a snapshot; deltas before it mean nothing

    def _apply(self, link: ServerLink, deltas: tuple[StateDelta, ...]) -> None:
        # told before: a batch that fails half way was applied half way (the replay too)
        self.applied.emit(Applied(link.server, deltas))
        changes = Changes()
        try:
            for delta in deltas:
                changes.merge(self.state.apply_delta(delta))
        except SequenceGap as gap:
            self._gap(link, gap)
            return
        except UnknownDevice as exc:
            self._bad_state_records += 1
            log.error("link %s: %s; asking for a snapshot", link.name, exc)
            self._invalidate()
            self._request_snapshot(link, str(exc))
            return
        if self.deltas.deadline is None:
            self._cancel_reorder_timer()
        self._emit(changes)

    def _schedule_reorder(self, link: ServerLink) -> None:
        deadline = self.deltas.deadline
        if deadline is None or self._reorder_timer is not None:
            return
        loop = asyncio.get_running_loop()
        self._reorder_timer = loop.call_later(
            max(0.0, deadline - loop.time()), self._reorder_expired, link
        )

    def _reorder_expired(self, link: ServerLink) -> None:
        self._reorder_timer = None
        verdict = self.deltas.expire(self.state.seq, asyncio.get_running_loop().time())
        if verdict is not None:
            self._gap(link, verdict.gap)
        else:
            self._schedule_reorder(link)  # fired before the deadline: wait for the rest

    def _gap(self, link: ServerLink, gap: SequenceGap) -> None:
        self.gaps += 1
        log.warning("link %s: %s; asking for a snapshot", link.name, gap)
        self._invalidate()
        self._request_snapshot(self.command_link() or link, str(gap))

    def _clear_reorder(self) -> None:
        self.deltas.clear()
        self._cancel_reorder_timer()

    def _cancel_reorder_timer(self) -> None:
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
        self.applied.emit(Applied(self.master.server or "", None))
        self._synced.clear()
        self._clear_reorder()
        self.train_status.clear()
        self.state_changed.emit(Changes(full=True))

    def _request_snapshot(self, link: ServerLink, reason: str) -> None:
        with contextlib.suppress(LinkDown):
            link.send(SnapshotRequest(reason))

    def link_status(self, link: ServerLink, rec: TrainStatus) -> None:
        if not self.master.follows(link.server) or not self.state.synchronised:
            return
        taken = self.train_status.take(rec, self.state.trains.get(rec.train_id))
        if taken is None:
            return
        train, report = taken
        self._emit(self.state.apply_train(train))
        self._coupling_changes(self.coupling.report(report, self.clock_ms()))

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
        cmd = new_command(
            device,
            op,
            dispatcher=self.dispatcher,
            role=self.role,
            zone=self.state.zone_of(device) if zone is None else zone,
            idempotency_key=idempotency_key,
            fencing_token=fencing_token,
            arg=arg,
        )
        result = await send_and_wait(
            self.command_link(), cmd, self.role, self.master, self.command_timeout_s
        )
        self.command_finished.emit(result)
        return result

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
