"""The workstation's black box: everything its views are made of, with times, on disk.

The :class:`Recorder` listens to the parts the window listens to and writes what
they take in, as they take it (``docs/replay.md``):

- the line state: each SNAPSHOT and the DELTAs the session applied (exact), the
  state dropped (a gap, a failover), the day's ACTUALS;
- the trains' status datagrams, **sampled**: once every ``train_sample_ms`` the
  trains that changed since the last sample, as the state holds them then;
- the alarm list's input: each record of the day's topic as read, each event of the
  workstation's own alarms (raised, cleared, acknowledged);
- the session's local alarms, the links' states, the followed master (a failover is
  a switchover marker), each command's outcome as audited;
- a keyframe, everything the views show whole, at the start of every file and every
  ``keyframe_ms``: a seek starts from the newest keyframe before its moment.

Records are buffered and handed to the OS every second (a kill loses at most that)
and made durable (fsync) every ``sync_s`` in a worker thread. A new file starts at
midnight; the retention runs then and at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from app.alarms.consumer import Delivered
from app.alarms.records import AlarmEvent, encode_record
from app.alarms.service import AlarmService
from app.clock import wall_ms
from app.comms.linkstate import LinkInfo
from app.control.pipeline import CommandRecord
from app.model.state import Changes, LineState, StateSnapshot
from app.protocol.messages import Actuals
from app.replay.format import (
    ActualsBody,
    AlarmBody,
    CommandBody,
    DeltasBody,
    EndBody,
    InvalidBody,
    KeyframeBody,
    LinksBody,
    LocalAlarmBody,
    LocalEventBody,
    MasterBody,
    Meta,
    SnapshotBody,
    TrainsBody,
)
from app.replay.store import (
    Writer,
    apply_retention,
    day_of,
    new_file_path,
    next_midnight_ms,
    repair_recent,
)
from app.session.dispatcher import DispatcherSession
from app.session.election import MasterView
from app.session.health import LocalAlarm
from app.session.values import Applied

log = logging.getLogger(__name__)

#: the local alarm while the black box cannot write (docs/replay.md, "On disk")
BLACKBOX_FAILED = "blackbox_failed"
#: records kept in memory at most while the disk refuses them; past it they are dropped
#: (counted) and the recorder starts a new file when the disk takes writes again
MAX_PENDING = 16 * 1024 * 1024
#: how often a recorder that could not open its file tries again
RETRY_MS = 10_000
#: a failure is logged at most this often (the alarm stays up meanwhile)
LOG_EVERY_MS = 60_000


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """``root``: the black box's folder; the rest as in ``docs/configuration.md``."""

    root: Path
    retention_days: int = 30
    keyframe_ms: int = 30_000
    train_sample_ms: int = 1_000
    flush_ms: int = 1_000
    sync_s: float = 10.0


def line_snapshot(state: LineState, time_ms: int) -> StateSnapshot:
    """The line state whole, as a snapshot (``seq`` 0 when it is not synchronised)."""
    return StateSnapshot(
        seq=state.seq or 0,
        sections=tuple(state.sections.values()),
        switches=tuple(state.switches.values()),
        signals=tuple(state.signals.values()),
        routes=tuple(state.routes.values()),
        trains=tuple(state.trains.values()),
        time_ms=time_ms,
    )


class Recorder:
    """Writes one workstation's black box; ``start()`` and ``await aclose()`` (a part)."""

    def __init__(
        self,
        settings: RecorderSettings,
        session: DispatcherSession,
        *,
        alarms: AlarmService | None = None,
        commands: Any = None,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.settings = settings
        self.session = session
        self.alarms = alarms
        #: the command pipeline's ``finished`` event (:class:`CommandRecord` each)
        self.commands = commands
        self.clock_ms = clock_ms
        self.tz = session.line.timezone
        self.writer: Writer | None = None
        self._midnight = 0
        self._moved: set[int] = set()
        self._server = ""
        self._failovers = session.failovers
        m = session.master
        self._last_master = m.server or "" if m.role == "master" else ""
        #: each link as last recorded (what a change is told against)
        self._links_key: dict[str, tuple[object, ...]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._next_keyframe = 0
        self._next_sample = 0
        self._syncing: asyncio.Future[None] | None = None
        self._upkeep: asyncio.Future[None] | None = None
        self._last_ms = 0  # the newest record's time: times never go back in a file
        self.lost = 0  # records made while no file could be open (counted, said)
        self._actuals_day = ""
        self._last_sync = 0.0
        self._closed = False
        self.records = 0
        self.bytes = 0
        self.errors = 0
        self.dropped = 0  # bytes dropped while the disk refused them
        self._failing = False
        self._logged_at = -LOG_EVERY_MS
        self._retry_at = 0

    # -- life -------------------------------------------------------------------------

    def _hooks(self) -> list[tuple[Any, Callable[[Any], None]]]:
        s = self.session
        hooks: list[tuple[Any, Callable[[Any], None]]] = [
            (s.applied, self._on_applied),
            (s.state_changed, self._on_changes),
            (s.alarm, self._on_local_alarm),
            (s.links_changed, self._on_links),
            (s.master_changed, self._on_master),
        ]
        if self.alarms is not None:
            hooks += [
                (self.alarms.delivered, self._on_delivered),
                (self.alarms.applied_local, self._on_list_local),
            ]
        if self.commands is not None:
            hooks.append((self.commands, self._on_command))
        return hooks

    def start(self) -> None:
        now = self.clock_ms()
        self._open(now)
        for event, hook in self._hooks():
            event.connect(hook)
        self._schedule()
        # the last days' torn tails and the retention: a CRC pass over up to two days'
        # files (about a second a 100 MB), off the loop; the file just opened is locked
        loop = asyncio.get_running_loop()
        self._upkeep = loop.run_in_executor(None, self._check_days, day_of(now, self.tz))

    def _check_days(self, today: dt.date) -> None:
        root = self.settings.root
        try:
            repair_recent(root, today)
            apply_retention(root, today, self.settings.retention_days)
        except OSError as exc:
            log.error("black box %s: not checked: %s", root, exc)

    async def aclose(self) -> None:
        """Write what is buffered, close the file; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        for event, hook in self._hooks():
            with contextlib.suppress(ValueError):
                event.disconnect(hook)
        if self._timer is not None:
            self._timer.cancel()
        for pending in (self._syncing, self._upkeep):
            if pending is not None:
                with contextlib.suppress(Exception):
                    await pending
        self._close_file(self.clock_ms())

    # -- the file ---------------------------------------------------------------------

    def _open(self, now: int) -> None:
        s, sess = self.settings, self.session
        path = new_file_path(s.root, sess.node, now, self.tz)
        try:
            self.writer = Writer(path)
        except OSError as exc:
            self.writer = None
            self._retry_at = now + RETRY_MS
            self._failed(now, f"cannot write {path}: {exc}")
            return
        self._midnight = next_midnight_ms(now, self.tz)
        timetable = sess.service.name
        self._write(
            now,
            Meta(
                line=sess.line.id,
                digest=sess.line.digest(),
                node=sess.node,
                dispatcher=sess.dispatcher,
                role=str(sess.role),
                started_ms=now,
                timezone=self.tz,
                timetable=timetable,
                train_sample_ms=s.train_sample_ms,
                keyframe_ms=s.keyframe_ms,
            ),
        )
        self._keyframe(now)
        self._day_so_far(now)
        if self.lost:
            log.error("black box: %d records made while no file was open are lost", self.lost)
        log.info("black box: recording to %s", path)

    def _close_file(self, now: int) -> None:
        w = self.writer
        if w is None:
            return
        self.writer = None
        try:
            w.append(max(self._last_ms, min(now, self._midnight - 1)), EndBody(w.records + 1))
        finally:
            w.close()

    def _write(self, now: int, body: msgspec.Struct) -> None:
        # the wall clock may step back (NTP): a file's records stay in time order
        now = max(now, self._last_ms)
        if now >= self._midnight and self.writer is not None:
            self._rotate(now)  # a record of the new day goes into the new day's file
        w = self.writer
        if w is None:
            self.lost += 1
            return
        self._last_ms = now
        try:
            self.bytes += w.append(now, body)
        except (msgspec.EncodeError, TypeError, ValueError, OverflowError) as exc:
            self.errors += 1
            log.error("black box: a %s not recorded: %s", type(body).__name__, exc)
            return
        self.records += 1

    # -- the cycle: samples, keyframes, flush, sync, midnight ---------------------------

    def _schedule(self) -> None:
        if not self._closed:
            loop = asyncio.get_running_loop()
            period = min(self.settings.flush_ms, self.settings.train_sample_ms) / 1000
            self._timer = loop.call_later(period, self._cycle)

    def _rotate(self, now: int) -> None:
        """Midnight: the day's file ends, the new day's starts (a keyframe first)."""
        self._close_file(now)
        self._open(now)
        loop = asyncio.get_running_loop()
        if self._upkeep is None or self._upkeep.done():
            self._upkeep = loop.run_in_executor(None, self._check_days, day_of(now, self.tz))

    def _cycle(self) -> None:
        now = self.clock_ms()
        try:
            if self.writer is None and now >= self._retry_at:
                self._open(now)  # it could not: again, every RETRY_MS
            if now >= self._midnight and self.writer is not None:
                self._rotate(now)
            if now >= self._next_sample:
                self.sample_trains(now)
            if now >= self._next_keyframe:
                self._keyframe(now)
            self.flush()
        except Exception as exc:  # whatever it is, the cycle goes on and the desk is told
            self._failed(now, f"{type(exc).__name__}: {exc}")
        finally:
            self._schedule()

    def flush(self) -> None:
        """Buffered records to the OS now; an fsync every ``sync_s`` off the loop."""
        w = self.writer
        if w is None:
            return
        now = self.clock_ms()
        try:
            w.flush()
        except OSError as exc:
            self._failed(now, f"{w.path}: {exc}")
            if w.pending > MAX_PENDING:
                self.dropped += w.discard()
                w.close()  # it may end inside a record now: a new file, from a keyframe
                self.writer = None
                self._retry_at = now
            return
        if self._failing:
            self._failing = False
            log.warning("black box: writing again to %s (%d bytes dropped)", w.path, self.dropped)
            self.session.local.set(BLACKBOX_FAILED, "black box writing again", False)
        loop = asyncio.get_running_loop()
        if self._syncing is None and loop.time() - self._last_sync >= self.settings.sync_s:
            self._last_sync = loop.time()
            self._syncing = loop.run_in_executor(None, w.sync)
            self._syncing.add_done_callback(self._synced)

    def _synced(self, fut: asyncio.Future[None]) -> None:
        self._syncing = None
        if not fut.cancelled() and fut.exception() is not None:
            self._failed(self.clock_ms(), f"fsync: {fut.exception()}")

    def _failed(self, now: int, what: str) -> None:
        """The disk refused: counted, logged at most once a minute, a local alarm."""
        self.errors += 1
        if now - self._logged_at >= LOG_EVERY_MS:
            self._logged_at = now
            log.error("black box: %s (%d errors so far)", what, self.errors)
        if not self._failing:
            self._failing = True
            self.session.local.set(BLACKBOX_FAILED, f"black box not recording: {what}", True)

    def sample_trains(self, now: int) -> None:
        """The trains that moved since the last sample, as the state holds them now; and
        the links, whose cause and counters may change between two of their events (the
        views read them every second, so does the sample)."""
        self._next_sample = now + self.settings.train_sample_ms
        self._on_links(self.session.link_infos())
        if not self._moved:
            return
        trains = self.session.state.trains
        moved = tuple(trains[t] for t in sorted(self._moved) if t in trains)
        self._moved.clear()
        if moved:
            self._write(now, TrainsBody(moved))

    def _day_so_far(self, now: int) -> None:
        """The day's actuals kept so far, after a file's first keyframe: a file replays
        whole on its own (a new file at midnight, mid-way through a service day)."""
        feed = self.session.service
        store = feed.store
        if store is None:
            return
        self._actuals_day = store.service_date
        if not store.recorded:
            return
        kept = Actuals(store.service_date, feed.name, tuple(store.actuals()), True, True)
        self._write(now, ActualsBody(self._server, kept))

    def _keyframe(self, now: int) -> None:
        self._next_keyframe = now + self.settings.keyframe_ms
        sess = self.session
        feed = sess.service
        self._write(
            now,
            KeyframeBody(
                server=self._server,
                synchronised=sess.state.synchronised,
                state=line_snapshot(sess.state, now),
                service_date=feed.service_date,
                service_ms=feed.told_ms,
                service_age_ms=feed.told_age_ms(),
                alarms=self.alarms.list.frame() if self.alarms is not None else None,
                local=tuple(sess.local.active.values()),
                links=tuple(sess.link_infos()),
                master=sess.master,
            ),
        )
        self._moved.clear()  # the keyframe holds every train as it is now

    # -- what the parts take in ---------------------------------------------------------

    def _on_applied(self, a: Applied) -> None:
        now = self.clock_ms()
        what = a.what
        if isinstance(what, StateSnapshot):
            self._server = a.server
            self._write(now, SnapshotBody(a.server, what))
            self._moved.clear()
        elif isinstance(what, tuple):
            self._write(now, DeltasBody(a.server, what))
        elif isinstance(what, Actuals):
            store = self.session.service.store
            if store is not None and store.service_date != self._actuals_day:
                # a new service day: the feed may have read a kept day back from disk
                # first (a restart mid-day); what it holds now is written whole
                self._actuals_day = store.service_date
                self._day_so_far(now)
            else:
                self._write(now, ActualsBody(a.server, what))
        else:
            self._write(now, InvalidBody(a.server))

    def _on_changes(self, ch: Changes) -> None:
        if ch.trains:
            self._moved |= ch.trains
        if ch.trains_removed:
            self._moved -= ch.trains_removed

    def _on_local_alarm(self, alarm: LocalAlarm) -> None:
        self._write(self.clock_ms(), LocalAlarmBody(alarm))

    def _on_list_local(self, ev: AlarmEvent) -> None:
        self._write(self.clock_ms(), LocalEventBody(ev))

    def _on_delivered(self, batch: list[Delivered]) -> None:
        now = self.clock_ms()
        for d in batch:
            self._write(now, _alarm_body(d))

    def _on_links(self, infos: list[LinkInfo]) -> None:
        # a change of state, peer, counters or cause; round-trip times and ages move on
        # with every heartbeat: the keyframes carry them
        changed = tuple(i for i in infos if self._links_key.get(i.name) != _link_key(i))
        if changed:
            self._links_key.update((i.name, _link_key(i)) for i in changed)
            self._write(self.clock_ms(), LinksBody(changed))

    def _on_master(self, view: MasterView) -> None:
        failover = self.session.failovers != self._failovers
        self._failovers = self.session.failovers
        # "old": the last server followed as master (a standby's mirror shown meanwhile
        # is not one: A lost, B shown as standby, B promoted reads A -> B twice)
        old = self._last_master
        if view.role == "master" and view.server:
            self._last_master = view.server
        self._write(self.clock_ms(), MasterBody(old, view, failover))

    def _on_command(self, rec: CommandRecord) -> None:
        sess = self.session
        self._write(self.clock_ms(), CommandBody(rec, sess.dispatcher, sess.node))


def _link_key(i: LinkInfo) -> tuple[object, ...]:
    return (
        i.name,
        i.state,
        i.peer_role,
        i.peer_epoch,
        i.reconnects,
        i.bad_frames,
        i.bad_datagrams,
        i.protected,
        i.integrity_failures,
        i.cause,
        i.cause_param,
    )


def _alarm_body(d: Delivered) -> msgspec.Struct:
    return AlarmBody(d.topic, d.offset, encode_record(d.record))
