"""The alarm list the HMI shows (ISA-18.2), fed with records in topic order.

Pure: no Kafka, no Qt, no wall clock unless one is injected. The feed hands
decoded :class:`~app.alarms.records.Record` objects to :meth:`AlarmList.apply`;
each call says which rows changed (:class:`AlarmChanges`), so a table model
can update rows instead of resetting. Each alarm moves by the transition table
of :mod:`app.alarms.states` (re-exported here).

**Order.** Each change record carries the producer's ``seq``; one at or below
the last applied ``seq`` is a duplicate (a re-read after a broker restart) and
is dropped. A complete snapshot replaces the list and sets the applied ``seq``
to its own.

**Shelves end on time, whoever looks.** A shelve past its end is never
reported: before every read and around every applied record the list ends the
shelves whose time has passed by its clock (a snapshot may bring some already
ended). What that changed is reported with the next :meth:`AlarmList.apply`
or :meth:`AlarmList.tick`. A shelve without an end, or longer than
``max_shelve_ms``, ends ``max_shelve_ms`` after it was made.

**Cost.** Every change is O(1): rows in a dict, the counts per (priority,
state), the unacknowledged rows per priority (in the order they became
unacknowledged) and per device, the shelve deadlines in a heap. Only a
snapshot (a reset) and the queries that return collections are O(n).
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from app.alarms.records import (
    MAX_SHELVE_MS,
    AlarmEvent,
    EndOfTopic,
    EventType,
    Priority,
    Record,
    SnapshotPart,
)
from app.alarms.rows import (
    AlarmChanges,
    AlarmRow,
    AlarmStats,
    ListFrame,
    OrderHold,
    PriorityCounts,
    list_order_key,
)
from app.alarms.states import (
    BASE_BY_FLAGS,
    BASE_STATES,
    FLAGS_BY_BASE,
    HIDDEN_STATES,
    HIDING_EVENT,
    SHOWN_STATES,
    TRANSITIONS,
    UNACKED_STATES,
    UNHIDDEN,
    Action,
    AlarmState,
    Ignored,
    Step,
    Transition,
    state_of_snapshot_entry,
    step,
)
from app.clock import wall_ms

__all__ = [
    "BASE_BY_FLAGS",
    "BASE_STATES",
    "FLAGS_BY_BASE",
    "HIDDEN_STATES",
    "HIDING_EVENT",
    "SHOWN_STATES",
    "TRANSITIONS",
    "UNACKED_STATES",
    "UNHIDDEN",
    "Action",
    "AlarmChanges",
    "AlarmList",
    "AlarmRow",
    "AlarmState",
    "AlarmStats",
    "Ignored",
    "ListFrame",
    "OrderHold",
    "PriorityCounts",
    "Step",
    "Transition",
    "list_order_key",
    "state_of_snapshot_entry",
    "step",
]

FLOOD_THRESHOLD = 10
FLOOD_WINDOW_MS = 10 * 60 * 1000
#: Rows kept at most; the server caps its active alarms at 10000, so this is a safety net.
MAX_ALARMS = 250_000


@dataclass(slots=True)
class _Assembly:
    snapshot_id: str
    server: str
    seq: int
    parts: int
    next_part: int
    alarms: list[AlarmEvent]
    dropped: int = 0  # entries beyond the list's capacity


class AlarmList:
    """The HMI's alarm list, fed with records in topic order."""

    def __init__(
        self,
        now_ms: Callable[[], int] = wall_ms,
        *,
        flood_threshold: int = FLOOD_THRESHOLD,
        flood_window_ms: int = FLOOD_WINDOW_MS,
        max_alarms: int = MAX_ALARMS,
        max_shelve_ms: int = MAX_SHELVE_MS,
    ) -> None:
        if flood_threshold < 0 or flood_window_ms <= 0 or max_alarms < 1 or max_shelve_ms < 1:
            raise ValueError(
                "flood_threshold >= 0, flood_window_ms > 0, max_alarms >= 1, max_shelve_ms >= 1"
            )
        self._now_ms = now_ms
        self.flood_threshold = flood_threshold
        self.flood_window_ms = flood_window_ms
        self.max_alarms = max_alarms
        self.max_shelve_ms = max_shelve_ms
        self.stats = AlarmStats()
        self.applied_seq = -1  # the newest change the list holds; -1: nothing yet
        self.server = ""  # who produced the newest applied record
        self.last_end: EndOfTopic | None = None
        #: A change was skipped (a seq gap, e.g. a malformed record): the next complete
        #: snapshot is applied even if it is not newer than the list, to repair it.
        self.missed_changes = False
        self._rows: dict[str, AlarmRow] = {}
        self._counts: collections.Counter[tuple[Priority, AlarmState]] = collections.Counter()
        # unacknowledged ids per priority, oldest first (dicts keep insertion order)
        self._unacked: dict[Priority, dict[str, None]] = {p: {} for p in Priority}
        self._unacked_devices: collections.Counter[str] = collections.Counter()
        self._shelved: dict[str, int] = {}  # id -> shelved_until_ms (> 0 only)
        self._deadlines: list[tuple[int, str]] = []  # heap; stale entries skipped
        # the newest annunciated raises' times: enough to tell a flood
        self._raises: collections.deque[int] = collections.deque(maxlen=flood_threshold + 1)
        self._assembly: _Assembly | None = None
        #: alarms this workstation raised itself: no topic carries them, snapshots keep them
        self._local: dict[str, AlarmRow] = {}
        #: what ended shelves changed since the last apply or tick returned (reads end them)
        self._unreported: AlarmChanges | None = None

    # -- queries ------------------------------------------------------------------------

    def __len__(self) -> int:
        self._expire()
        return len(self._rows)

    def __contains__(self, alarm_id: object) -> bool:
        self._expire()
        return alarm_id in self._rows

    def get(self, alarm_id: str) -> AlarmRow | None:
        self._expire()
        return self._rows.get(alarm_id)

    def active(self) -> list[AlarmRow]:
        """Every alarm on the list (every alarm not NORMAL, hidden ones included)."""
        self._expire()
        return list(self._rows.values())

    def counts_by_priority(self) -> dict[Priority, PriorityCounts]:
        self._expire()
        c = self._counts
        return {
            p: PriorityCounts(
                unacked=sum(c[(p, s)] for s in UNACKED_STATES),
                total=sum(c[(p, s)] for s in SHOWN_STATES),
                hidden=sum(c[(p, s)] for s in HIDDEN_STATES),
            )
            for p in Priority
        }

    def newest_highest_unacked(self) -> AlarmRow | None:
        """The most urgent unacknowledged alarm; among equals, the latest to become so."""
        self._expire()
        for p in Priority:
            ids = self._unacked[p]
            if ids:
                return self._rows[next(reversed(ids))]
        return None

    def unacked_devices(self) -> set[str]:
        """Devices with at least one unacknowledged alarm (they blink on the schematic)."""
        self._expire()
        return set(self._unacked_devices)

    def unacked_device_priorities(self) -> dict[str, Priority]:
        """Each device with an unacknowledged alarm, and the most urgent priority among
        them (the schematic's alarm tag). O(unacknowledged alarms)."""
        self._expire()
        out: dict[str, Priority] = {}
        for p in reversed(Priority):  # the most urgent last: it wins
            for aid in self._unacked[p]:
                device = self._rows[aid].event.device
                if device:
                    out[device] = p
        return out

    def flood(self, now_ms: int | None = None) -> bool:
        """More than ``flood_threshold`` new alarms raised within ``flood_window_ms``."""
        now = self._now_ms() if now_ms is None else now_ms
        raises = self._raises
        return len(raises) > self.flood_threshold and min(raises) > now - self.flood_window_ms

    # -- applying records ---------------------------------------------------------------

    def apply_all(self, records: Iterable[Record]) -> AlarmChanges:
        """Apply records in order; the net changes."""
        total = AlarmChanges()
        for rec in records:
            total.merge(self.apply(rec))
        return total

    def apply(self, record: Record) -> AlarmChanges:
        """Apply one record from the topic; which rows it changed.

        A change at or below the applied ``seq`` is a duplicate and changes
        nothing. Snapshot parts are gathered until the last one; then the
        snapshot replaces the list (``reset``) unless it is from the server
        the list follows and not newer than the list (an older one is stale; one
        at the list's ``seq`` has nothing new, unless a change was missed). Any
        other record between two parts drops the unfinished snapshot.

        Shelves that have ended by the clock end before the record and after it
        (a snapshot or a shelve may bring one already ended); those changes are
        in the result too.
        """
        self._expire()
        self._report(self._apply(record))
        self._expire()
        return self._take()

    def _apply(self, record: Record) -> AlarmChanges:
        body = record.body
        if isinstance(body, SnapshotPart):
            return self._snapshot_part(record, body)
        self._drop_assembly()  # parts must be consecutive
        if isinstance(body, EndOfTopic):
            self.stats.ends += 1
            self.last_end = body
            return AlarmChanges(end_of_topic=body.next_topic)
        if record.seq <= self.applied_seq:
            self.stats.duplicates += 1
            return AlarmChanges()
        if self.applied_seq >= 0 and record.seq > self.applied_seq + 1:
            self.stats.gaps += 1
            self.missed_changes = True
        self.applied_seq = record.seq
        self.server = record.server
        self.stats.changes += 1
        return self._event(body)

    def apply_local(self, ev: AlarmEvent) -> AlarmChanges:
        """An event of an alarm the workstation raises itself (no topic, no ``seq``).

        It goes through the same table as the topic's events and stays on the list
        across snapshots, which only replace the server's alarms.
        """
        self._expire()
        self._report(self._event(ev))
        row = self._rows.get(ev.alarm_id)
        if row is None:
            self._local.pop(ev.alarm_id, None)
        else:
            self._local[ev.alarm_id] = row
        return self._take()

    def is_local(self, alarm_id: str) -> bool:
        return alarm_id in self._local

    def tick(self, now_ms: int | None = None) -> AlarmChanges:
        """End every shelve whose time has passed (by ``now_ms``, else the clock).

        Returns what changed since the last apply or tick: the shelves ended now and
        those a read ended before; their ids are also in ``unshelved``.
        """
        self._expire(now_ms)
        return self._take()

    # -- the list whole (the black box's keyframes, docs/replay.md) ---------------------

    def frame(self) -> ListFrame:
        """The list as it stands, whole: :meth:`restore` makes another list the same."""
        return ListFrame(
            tuple(self._rows.values()),
            tuple(tuple(self._unacked[p]) for p in Priority),
            tuple(self._local),
            self.applied_seq,
            self.server,
            tuple(self._raises),
            self.missed_changes,
        )

    def restore(self, frame: ListFrame) -> AlarmChanges:
        """Become the list ``frame`` was taken of (a replay's seek); every row changed."""
        self._assembly = None
        self._clear_rows()
        self._unreported = None
        for row in frame.rows:
            self._insert(row)
        self._unacked = {
            p: dict.fromkeys(ids) for p, ids in zip(Priority, frame.unacked, strict=True)
        }
        self._local = {aid: self._rows[aid] for aid in frame.local if aid in self._rows}
        self.applied_seq = frame.applied_seq
        self.server = frame.server
        self._raises.clear()
        self._raises.extend(frame.raises)
        self.missed_changes = frame.missed_changes
        return AlarmChanges(reset=True)

    # -- the shelve timer ---------------------------------------------------------------

    def _expire(self, now_ms: int | None = None) -> None:
        """End the shelves whose time has passed; the changes wait in ``_unreported``."""
        heap = self._deadlines
        if not heap:
            return
        now = self._now_ms() if now_ms is None else now_ms
        while heap and heap[0][0] <= now:
            until, aid = heapq.heappop(heap)
            if self._shelved.get(aid) != until:
                continue  # unshelved or shelved again since
            row = self._rows[aid]
            active, acked = FLAGS_BY_BASE[UNHIDDEN[row.base]]
            # dated when the shelve ended, not when the list noticed
            timer = replace(
                row.event,
                event=EventType.UNSHELVE,
                event_ms=until,
                active=active,
                acked=acked,
                by="",
                shelved_until_ms=0,
            )
            changes = self._event(timer)
            changes.unshelved.add(aid)
            self._report(changes)
            self.stats.unshelved_by_timer += 1

    def _report(self, changes: AlarmChanges) -> None:
        if self._unreported is None:
            self._unreported = changes
        else:
            self._unreported.merge(changes)

    def _take(self) -> AlarmChanges:
        changes, self._unreported = self._unreported, None
        return AlarmChanges() if changes is None else changes

    def _shelve_end(self, ev: AlarmEvent) -> int:
        """When a shelve made by ``ev`` ends: its time, at most ``max_shelve_ms`` after it."""
        latest = ev.event_ms + self.max_shelve_ms
        if 0 < ev.shelved_until_ms <= latest:
            return ev.shelved_until_ms
        self.stats.shelves_capped += 1
        return latest

    # -- changes ------------------------------------------------------------------------

    def _event(self, ev: AlarmEvent) -> AlarmChanges:
        aid = ev.alarm_id
        old = self._rows.get(aid)
        state, base = (old.state, old.base) if old else (AlarmState.NORMAL, AlarmState.NORMAL)
        result = step(state, base, ev.event, (ev.active, ev.acked))
        if result.ignored is not None:
            self.stats.ignored[result.ignored] += 1
            return AlarmChanges()
        if result.state is AlarmState.NORMAL:
            if old is None:  # cannot happen with this table; harmless if it did
                return AlarmChanges()
            self._remove(old)
            return AlarmChanges(removed={aid})
        if old is None and len(self._rows) >= self.max_alarms:
            self.stats.overflow += 1
            return AlarmChanges()
        since = old.since_ms if old is not None and result.state is old.state else ev.event_ms
        until = 0
        if result.state is AlarmState.SHELVED:
            # a (re-)shelve sets the time; a tracked event keeps it
            keep = old.shelved_until_ms if old is not None else 0
            until = self._shelve_end(ev) if ev.event is EventType.SHELVE else keep
        row = AlarmRow(ev, result.state, since, result.base, until)
        annunciated = row.state is AlarmState.UNACK_ACTIVE and state is not AlarmState.UNACK_ACTIVE
        if annunciated and ev.event is EventType.RAISE:
            self._raises.append(ev.event_ms)
        changes = AlarmChanges(annunciated={aid} if annunciated else set())
        if old is None:
            self._insert(row)
            changes.added.add(aid)
        else:
            self._replace(old, row)
            changes.updated.add(aid)
        return changes

    # -- indexes ------------------------------------------------------------------------

    def _insert(self, row: AlarmRow) -> None:
        aid = row.alarm_id
        self._rows[aid] = row
        self._counts[(row.event.priority, row.state)] += 1
        if row.state in UNACKED_STATES:
            self._unacked[row.event.priority][aid] = None
            if row.event.device:
                self._unacked_devices[row.event.device] += 1
        if row.shelved_until_ms > 0:
            self._shelved[aid] = row.shelved_until_ms
            heapq.heappush(self._deadlines, (row.shelved_until_ms, aid))
            if len(self._deadlines) > 2 * len(self._shelved) + 1024:
                self._deadlines = [(until, i) for i, until in self._shelved.items()]
                heapq.heapify(self._deadlines)

    def _remove(self, row: AlarmRow, *, keep_order: bool = False) -> None:
        aid = row.alarm_id
        del self._rows[aid]
        key = (row.event.priority, row.state)
        self._counts[key] -= 1
        if not self._counts[key]:
            del self._counts[key]
        if row.state in UNACKED_STATES:
            if not keep_order:
                del self._unacked[row.event.priority][aid]
            device = row.event.device
            if device:
                self._unacked_devices[device] -= 1
                if not self._unacked_devices[device]:
                    del self._unacked_devices[device]
        self._shelved.pop(aid, None)

    def _replace(self, old: AlarmRow, new: AlarmRow) -> None:
        # An alarm that stays unacknowledged, same priority, same raise keeps its
        # place in the "newest unacknowledged" order.
        keep = (
            old.state in UNACKED_STATES
            and new.state in UNACKED_STATES
            and old.event.priority is new.event.priority
            and old.event.raised_ms == new.event.raised_ms
        )
        self._remove(old, keep_order=keep)
        self._insert(new)

    # -- snapshots ----------------------------------------------------------------------

    def _drop_assembly(self) -> None:
        if self._assembly is not None:
            self._assembly = None
            self.stats.snapshots_incomplete += 1

    def _snapshot_part(self, record: Record, part: SnapshotPart) -> AlarmChanges:
        asm = self._assembly
        if part.part == 0:
            self._drop_assembly()
            asm = self._assembly = _Assembly(
                part.snapshot_id, record.server, record.seq, part.parts, 0, []
            )
        elif asm is None:
            self.stats.snapshots_incomplete += 1  # a part without its beginning
            return AlarmChanges()
        elif (asm.snapshot_id, asm.server, asm.seq, asm.parts, asm.next_part) != (
            part.snapshot_id,
            record.server,
            record.seq,
            part.parts,
            part.part,
        ):
            self._drop_assembly()  # not the next part of this snapshot
            return AlarmChanges()
        room = self.max_alarms - len(asm.alarms)
        asm.alarms.extend(part.alarms[:room])
        asm.dropped += max(0, len(part.alarms) - room)
        asm.next_part += 1
        if asm.next_part < asm.parts:
            return AlarmChanges()
        self._assembly = None
        # from the server the list follows: older is stale; the same seq has nothing new
        # unless a change was missed since the last snapshot
        behind = record.seq < self.applied_seq or (
            record.seq == self.applied_seq and not self.missed_changes
        )
        if record.server == self.server and behind:
            self.stats.snapshots_skipped += 1  # the list already holds all of it
            return AlarmChanges()
        self._rebuild(asm)
        return AlarmChanges(reset=True)

    def _clear_rows(self) -> None:
        self._rows.clear()
        self._counts.clear()
        for ids in self._unacked.values():
            ids.clear()
        self._unacked_devices.clear()
        self._shelved.clear()
        self._deadlines.clear()

    def _rebuild(self, asm: _Assembly) -> None:
        self._clear_rows()
        latest = {e.alarm_id: e for e in asm.alarms}  # the same id twice: the later wins
        # oldest first, so that the newest unacknowledged is the last one inserted
        for entry in sorted(latest.values(), key=lambda e: e.raised_ms):
            state, base = state_of_snapshot_entry(entry)
            if state is AlarmState.NORMAL:
                continue
            until = self._shelve_end(entry) if state is AlarmState.SHELVED else 0
            self._insert(AlarmRow(entry, state, entry.event_ms, base, until))
        for aid, row in self._local.items():
            if aid not in self._rows:
                self._insert(row)
        self.missed_changes = False
        self.stats.overflow += asm.dropped
        self.stats.snapshots += 1
        self.applied_seq = asm.seq
        self.server = asm.server
