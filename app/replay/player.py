"""Replay: a recording played back into the same model the live views are drawn from.

:class:`Player` holds a :class:`~app.model.state.LineState`, an
:class:`~app.alarms.model.AlarmList`, the session's local alarms, a
:class:`~app.session.service.ServiceFeed` (the service clock, the day's actuals)
and the links and master as recorded, and moves them to a moment of the recording:

- :meth:`Player.seek` rebuilds everything at any moment: the newest keyframe at or
  before it, then every record after it up to the moment (the day's actuals from
  the start of the recording);
- :meth:`Player.advance` plays forward to a later moment, record by record, telling
  what changed through the same events a live session has.

The replay clock (:class:`ReplayClock`) is the recording's wall time; it drives the
alarm list's shelve timers and the service clock, so every view follows one clock.
Nothing here sends anything: a replay has no links (``docs/replay.md``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.alarms.model import AlarmChanges, AlarmList, ListFrame
from app.alarms.records import AlarmEvent, Priority, decode_record
from app.alarms.records import RecordError as AlarmRecordError
from app.comms.linkstate import LinkInfo
from app.control.pipeline import CommandRecord
from app.events import Event
from app.model.state import Changes, LineState, SequenceGap, UnknownDevice
from app.model.topology import Line
from app.protocol.messages import Actuals
from app.replay.format import (
    ActualsBody,
    AlarmBody,
    CommandBody,
    DeltasBody,
    KeyframeBody,
    Kind,
    LinksBody,
    LocalAlarmBody,
    LocalEventBody,
    MasterBody,
    Meta,
    RecordError,
    SnapshotBody,
    TrainsBody,
)
from app.replay.store import Recording
from app.session.election import NO_MASTER, MasterView
from app.session.health import LocalAlarm
from app.session.service import ServiceFeed
from app.timetable.actuals import Actual
from app.timetable.model import Timetable

log = logging.getLogger(__name__)

#: the speeds a replay offers (historians': 0.5× to 128×)
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)


@dataclass(slots=True)
class ReplayClock:
    """The recording's time: where it stands, how fast it runs, whether it runs.

    ``mono_s`` is the real clock it advances by (injected: tests step it).
    """

    position_ms: int = 0
    speed: float = 1.0
    playing: bool = False
    mono_s: Callable[[], float] = time.monotonic
    _anchor_s: float = 0.0
    _anchor_ms: int = 0

    def now_ms(self) -> int:
        """Where the replay is (while playing: where it has run to by now)."""
        if not self.playing:
            return self.position_ms
        return self._anchor_ms + int((self.mono_s() - self._anchor_s) * 1000 * self.speed)

    def set(self, position_ms: int) -> None:
        self.position_ms = position_ms
        self._anchor_s, self._anchor_ms = self.mono_s(), position_ms

    def play(self, speed: float | None = None) -> None:
        if speed is not None:
            if speed not in SPEEDS:
                raise ValueError(f"speed {speed}: one of {', '.join(map(str, SPEEDS))}")
            self.set(self.now_ms())
            self.speed = speed
        self.set(self.position_ms)
        self.playing = True

    def pause(self) -> None:
        self.position_ms = self.now_ms()
        self.playing = False


@dataclass(frozen=True, slots=True)
class Picture:
    """What the views show, as values: two equal pictures look the same on screen.
    (The black box's check: the state rebuilt at a moment against the live one.)"""

    synchronised: bool
    state: dict[str, object]
    alarms: ListFrame | None
    local: tuple[LocalAlarm, ...]
    service_date: str
    service_ms: int  # as the server last told it (the views run it on by the clock)
    actuals: tuple[Actual, ...]  # the day's actual arrivals and departures kept
    links: tuple[tuple[str, str, str, int, str], ...] = ()  # name, state, peer, epoch, cause


def merge_links(links: tuple[LinkInfo, ...], changed: tuple[LinkInfo, ...]) -> tuple[LinkInfo, ...]:
    """``links`` with ``changed`` in place of the ones of the same name (new ones after)."""
    by_name = {i.name: i for i in links}
    by_name.update((i.name, i) for i in changed)
    return tuple(by_name.values())


def picture(
    state: LineState,
    alarms: AlarmList | None,
    local: Iterable[LocalAlarm],
    service: ServiceFeed,
    links: Iterable[LinkInfo] = (),
) -> Picture:
    frame = alarms.frame() if alarms is not None else None
    if frame is not None:  # the order of rows in the dict is not what a view shows
        frame = ListFrame(
            tuple(sorted(frame.rows, key=lambda r: r.alarm_id)),
            frame.unacked,
            tuple(sorted(frame.local)),
            frame.applied_seq,
            frame.server,
            frame.raises,
            frame.missed_changes,
        )
    return Picture(
        state.synchronised,
        state.to_json(),
        frame,
        tuple(sorted(local, key=lambda a: a.code)),
        service.service_date,
        service.told_ms,
        tuple(service.store.actuals()) if service.store is not None else (),
        tuple(sorted((i.name, str(i.state), i.peer_role, i.peer_epoch, i.cause) for i in links)),
    )


@dataclass(slots=True)
class Moves:
    """What one step of the replay changed, for the views."""

    state: Changes = field(default_factory=Changes)
    alarms: AlarmChanges = field(default_factory=AlarmChanges)
    local: list[tuple[int, LocalAlarm]] = field(default_factory=list)  # (when, alarm)
    links: tuple[LinkInfo, ...] | None = None
    master: MasterView | None = None
    actuals: bool = False
    commands: list[tuple[int, CommandRecord]] = field(default_factory=list)  # (when, record)


class Player:
    """Plays ``recording`` into the model; the events are the live session's."""

    def __init__(
        self,
        line: Line,
        recording: Recording,
        *,
        timetable: Timetable | None = None,
        clock: ReplayClock | None = None,
        alarms: AlarmList | None = None,
    ) -> None:
        self.line = line
        self.recording = recording
        self.clock = clock or ReplayClock()
        self.state = LineState(line)
        self.alarm_list = alarms if alarms is not None else AlarmList(self.now_ms)
        self.local: dict[str, LocalAlarm] = {}
        self.service = ServiceFeed(timetable, clock_ms=self.now_ms)
        self.links: tuple[LinkInfo, ...] = ()
        self.master: MasterView = NO_MASTER
        self.server = ""
        self.meta: Meta | None = None
        self.bad_records = 0
        self.cursor = 0  # the next record to apply
        self.state_changed: Event[Changes] = Event("replay.state_changed")
        self.alarms_changed: Event[AlarmChanges] = Event("replay.alarms_changed")
        self.alarm: Event[LocalAlarm] = Event("replay.alarm")
        self.links_changed: Event[list[LinkInfo]] = Event("replay.links_changed")
        self.master_changed: Event[MasterView] = Event("replay.master_changed")
        self.command_finished: Event[CommandRecord] = Event("replay.command_finished")
        self.moved: Event[int] = Event("replay.moved")  # the replay's time, after each move
        self._actuals = [i for i in recording.of_kinds((Kind.ACTUALS,))]
        self._decoded: dict[int, Actuals] = {}
        self._position = 0
        self._metas = list(recording.of_kinds((Kind.META,)))
        if self._metas:
            self.meta = recording.body(self._metas[0])

    # -- the clock ------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The moment the model shows (the alarm list and the service clock read it)."""
        return self._position

    @property
    def start_ms(self) -> int:
        return self.recording.time(0) if len(self.recording) else 0

    @property
    def end_ms(self) -> int:
        return self.recording.time(len(self.recording) - 1) if len(self.recording) else 0

    # -- moving -----------------------------------------------------------------------------

    def seek(self, time_ms: int) -> Moves:
        """Everything as it was at ``time_ms`` (after every record made at or before it).

        Each record is applied at its own time (the replay clock stands there while it
        is: the alarm list's shelves end, and the service clock is told, when they did)."""
        rec = self.recording
        self.clock.set(time_ms)
        kf = rec.last_keyframe_at_or_before(time_ms)
        moves = Moves()
        if kf is None or not self._restore(kf, moves):
            self._reset()
            start = 0
        else:
            start = kf + 1
        end = rec.first_at_or_after(time_ms + 1)
        self._meta_before(end)
        self._replay_actuals(time_ms)
        for i in range(start, end):
            kind = rec.kind(i)
            if kind in (Kind.ACTUALS, Kind.KEYFRAME):
                continue  # the actuals are whole already; a later keyframe is this state
            self._position = rec.time(i)
            self._apply(i, kind, moves, quiet=True)
        self._position = time_ms
        self.alarm_list.tick(time_ms)
        self.cursor = end
        moves = Moves(
            Changes(full=True),
            AlarmChanges(reset=True),
            [(time_ms, a) for a in self.local.values()],
            self.links,
            self.master,
            True,
            [],
        )
        self._tell(moves)
        return moves

    def advance(self, time_ms: int) -> Moves:
        """Play forward to ``time_ms`` (a moment before the replay's: a seek)."""
        if time_ms < self._position:
            return self.seek(time_ms)
        rec = self.recording
        end = rec.first_at_or_after(time_ms + 1)
        moves = Moves()
        for i in range(self.cursor, end):
            kind = rec.kind(i)
            self._position = rec.time(i)
            if kind is Kind.KEYFRAME:
                if i > 0 and rec.kind(i - 1) is Kind.META:  # a new file: a new run
                    self._restore(i, moves)
                continue
            self._apply(i, kind, moves, quiet=False)
        self._position = time_ms
        self.cursor = end
        moves.alarms.merge(self.alarm_list.tick(time_ms))
        self._tell(moves)
        return moves

    def _meta_before(self, end: int) -> None:
        """The META in force for the records before ``end`` (who recorded them)."""
        metas = [i for i in self._metas if i < end]
        if metas:
            body = self._body(metas[-1])
            if isinstance(body, Meta):
                self.meta = body

    def _tell(self, m: Moves) -> None:
        if m.state:
            self.state_changed.emit(m.state)
        if m.alarms or m.alarms.unshelved:
            self.alarms_changed.emit(m.alarms)
        now = self._position
        try:  # each told at its own time: the logs stamp what the clock says
            for t, a in m.local:
                self._position = t
                self.alarm.emit(a)
            if m.links is not None:
                self.links_changed.emit(list(m.links))
            if m.master is not None:
                self.master_changed.emit(m.master)
            for t, c in m.commands:
                self._position = t
                self.command_finished.emit(c)
        finally:
            self._position = now
        self.moved.emit(self._position)

    # -- records --------------------------------------------------------------------------

    def _reset(self) -> None:
        LineState.__init__(self.state, self.line)  # the same object: views hold it
        self.alarm_list.restore(ListFrame((), tuple(() for _ in Priority), (), -1, "", (), False))
        self.local = {}
        self.links = ()
        self.master = NO_MASTER
        self.server = ""

    def _restore(self, kf_index: int, moves: Moves) -> bool:
        """Everything as keyframe ``kf_index`` holds it; False when it does not decode."""
        kf = self._body(kf_index)
        if not isinstance(kf, KeyframeBody):
            return False
        LineState.__init__(self.state, self.line)  # nothing of the moment before stays
        st = self.state
        try:
            st.apply_snapshot(kf.state)
        except UnknownDevice as exc:
            self.bad_records += 1
            log.error("replay: keyframe: %s", exc)
        if not kf.synchronised:
            st.invalidate()
        self.server = kf.server
        if kf.alarms is not None:
            moves.alarms.merge(self.alarm_list.restore(kf.alarms))
        self.local = {a.code: a for a in kf.local}
        self.links = kf.links
        self.master = kf.master
        at = self._position
        self._position = self.recording.time(kf_index) - kf.service_age_ms  # when told
        self.service.told_clock(kf.service_date, kf.service_ms)
        self._position = at
        moves.state.full = True
        moves.links = kf.links
        moves.master = kf.master
        return True

    def _replay_actuals(self, time_ms: int) -> None:
        feed = self.service
        if feed.store is None:
            return
        feed.store.clear("")
        rec = self.recording
        for i in self._actuals:
            if rec.time(i) > time_ms:
                break
            msg = self._decoded.get(i)
            if msg is None:
                body = self._body(i)
                if body is None:
                    continue
                msg = self._decoded[i] = body.actuals
            feed.told_actuals(msg)

    def _body(self, i: int) -> Any:
        try:
            return self.recording.body(i)
        except RecordError as exc:
            self.bad_records += 1
            log.error("replay: %s", exc)
            return None

    def _apply(self, i: int, kind: Kind, moves: Moves, *, quiet: bool) -> None:
        body = self._body(i)
        if body is None:
            return
        st = self.state
        try:
            if isinstance(body, DeltasBody):
                for d in body.deltas:
                    moves.state.merge(st.apply_delta(d))
                    self.service.told_clock(d.service_date, d.service_ms)
            elif isinstance(body, TrainsBody):
                for t in body.trains:
                    moves.state.merge(st.apply_train(t))
            elif isinstance(body, SnapshotBody):
                self.server = body.server
                moves.state.merge(st.apply_snapshot(body.snapshot))
                self.service.told_clock(body.snapshot.service_date, body.snapshot.service_ms)
            elif kind is Kind.INVALID:
                st.invalidate()
                moves.state.full = True
            elif isinstance(body, AlarmBody):
                record = decode_record(body.record, f"record {i}")
                moves.alarms.merge(self.alarm_list.apply(record))
            elif isinstance(body, LocalEventBody):
                moves.alarms.merge(self.alarm_list.apply_local(body.event))
            elif isinstance(body, LocalAlarmBody):
                a = body.alarm
                if a.active:
                    self.local[a.code] = a
                else:
                    self.local.pop(a.code, None)
                moves.local.append((self._position, a))
            elif isinstance(body, LinksBody):  # the links that changed
                self.links = moves.links = merge_links(self.links, body.links)
            elif isinstance(body, MasterBody):
                self.master = moves.master = body.view
            elif isinstance(body, CommandBody):
                moves.commands.append((self._position, body.record))
            elif isinstance(body, ActualsBody):
                if self.service.told_actuals(body.actuals) is not None:
                    moves.actuals = True
            elif isinstance(body, Meta):
                self.meta = body
        except (SequenceGap, UnknownDevice, AlarmRecordError) as exc:
            self.bad_records += 1
            if not quiet:
                log.warning("replay: record %d (%s): %s", i, kind.name.lower(), exc)

    # -- finding moments ------------------------------------------------------------------

    def next_of(
        self, kinds: Iterable[Kind], after_ms: int, *, failover_only: bool = False
    ) -> int | None:
        """The time of the first record of ``kinds`` after ``after_ms`` (a MASTER only when
        it is a failover, with ``failover_only``); None when there is none."""
        rec = self.recording
        for i in rec.of_kinds(kinds, rec.first_at_or_after(after_ms + 1)):
            kind = rec.kind(i)
            if failover_only and kind is Kind.MASTER:
                body = self._body(i)
                if not (isinstance(body, MasterBody) and body.failover):
                    continue
            if kind is Kind.ALARM and not self._is_alarm_event(i):
                continue  # a topic snapshot's part or its end: no event
            return rec.time(i)
        return None

    def _is_alarm_event(self, i: int) -> bool:
        body = self._body(i)
        if not isinstance(body, AlarmBody):
            return False
        try:
            return isinstance(decode_record(body.record, f"record {i}").body, AlarmEvent)
        except AlarmRecordError:
            return False

    def picture(self) -> Picture:
        return picture(self.state, self.alarm_list, self.local.values(), self.service, self.links)


__all__ = ["SPEEDS", "Moves", "Picture", "Player", "ReplayClock", "merge_links", "picture"]
