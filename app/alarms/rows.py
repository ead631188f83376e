"""What the alarm list is made of and what it reports: rows, changes, counts, stats.

Values only (frozen where they can be); :mod:`app.alarms.model` keeps them.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field, replace

from app.alarms.records import AlarmEvent
from app.alarms.states import FLAGS_BY_BASE, HIDING_EVENT, UNACKED_STATES, AlarmState, Ignored

__all__ = [
    "AlarmChanges",
    "AlarmRow",
    "AlarmStats",
    "ListFrame",
    "OrderHold",
    "PriorityCounts",
    "list_order_key",
]


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alarm on the list: its latest (effective) event and where it stands."""

    event: AlarmEvent
    state: AlarmState
    since_ms: int  # when it entered ``state``
    base: AlarmState  # the base state, tracked while hidden (= state when not hidden)
    shelved_until_ms: int = 0  # when SHELVED: when the shelve ends (never 0 then)

    @property
    def alarm_id(self) -> str:
        return self.event.alarm_id

    @property
    def unacked(self) -> bool:
        return self.state in UNACKED_STATES

    def snapshot_event(self) -> AlarmEvent:
        """This row as a snapshot entry: :func:`state_of_snapshot_entry` gives it back.

        The latest event with ``active``/``acked`` set from the (remembered) base
        state; while hidden, its event is the one that hides it.
        """
        active, acked = FLAGS_BY_BASE[self.base]
        hiding = HIDING_EVENT.get(self.state)
        if hiding is None:
            return replace(self.event, active=active, acked=acked)
        return replace(
            self.event,
            event=hiding,
            active=active,
            acked=acked,
            shelved_until_ms=self.shelved_until_ms,
        )


@dataclass(frozen=True, slots=True)
class ListFrame:
    """The alarm list whole, as the black box keeps it (``docs/replay.md``): its rows in
    order, each priority's unacknowledged ids oldest first, the workstation's own
    alarms, what it last applied from the topic, and its recent raises (the flood)."""

    rows: tuple[AlarmRow, ...]
    unacked: tuple[tuple[str, ...], ...]
    local: tuple[str, ...]
    applied_seq: int
    server: str
    raises: tuple[int, ...]
    missed_changes: bool


@dataclass(slots=True)
class AlarmChanges:
    """Which rows one or more applied records changed.

    ``reset``: a snapshot replaced the whole list (the id sets are then empty);
    ``unshelved``: ids the shelve timer returned (also in ``updated`` or ``removed``);
    ``annunciated``: ids that became UNACK_ACTIVE from another state (raised, raised
    again, or back from hiding while active): the horn sounds for them; kept across a
    reset, so a reader checks the row still stands there;
    ``end_of_topic``: the next topic, when an END record was applied.
    """

    added: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    reset: bool = False
    unshelved: set[str] = field(default_factory=set)
    annunciated: set[str] = field(default_factory=set)
    end_of_topic: str = ""

    def __bool__(self) -> bool:
        return self.reset or bool(self.added or self.updated or self.removed)

    def merge(self, later: AlarmChanges) -> None:
        """Fold ``later`` (changes after these) in: the net effect of both, per id."""
        self.end_of_topic = later.end_of_topic or self.end_of_topic
        self.unshelved |= later.unshelved
        self.annunciated |= later.annunciated
        if later.reset:
            self.reset = True
            self.added.clear()
            self.updated.clear()
            self.removed.clear()
            return
        if self.reset:
            return
        for aid in later.added:
            if aid in self.removed:  # was there before: removed and added again
                self.removed.discard(aid)
                self.updated.add(aid)
            else:
                self.added.add(aid)
        for aid in later.updated:
            if aid not in self.added:
                self.updated.add(aid)
        for aid in later.removed:
            if aid in self.added:  # came and went: the view never saw it
                self.added.discard(aid)
            else:
                self.updated.discard(aid)
                self.removed.add(aid)


@dataclass(frozen=True, slots=True)
class PriorityCounts:
    unacked: int  # UNACK_ACTIVE + UNACK_RTN
    total: int  # shown: UNACK_ACTIVE + ACKED_ACTIVE + UNACK_RTN
    hidden: int  # SHELVED + SUPPRESSED + OUT_OF_SERVICE


@dataclass(slots=True)
class AlarmStats:
    """Counters for the diagnostics view."""

    changes: int = 0  # change records applied (including those the table ignored)
    duplicates: int = 0  # change records at or below the applied seq
    gaps: int = 0  # change records whose seq skipped at least one
    ignored: collections.Counter[Ignored] = field(default_factory=collections.Counter)
    snapshots: int = 0  # complete snapshots applied
    snapshots_skipped: int = 0  # complete, but not newer than the list
    snapshots_incomplete: int = 0  # parts missing or out of order: dropped
    overflow: int = 0  # alarms refused because the list was full
    ends: int = 0  # END records seen
    unshelved_by_timer: int = 0  # shelves the list ended by its own clock
    shelves_capped: int = 0  # shelves without an end, or longer than the maximum


def list_order_key(row: AlarmRow) -> tuple[int, int, int, str]:
    """Where a row stands in the list's default order (smallest first): unacknowledged
    before acknowledged, then by priority (1 critical first), then newest raised first;
    the id breaks the last ties, so the order is total and every reader agrees."""
    return (0 if row.unacked else 1, int(row.event.priority), -row.event.raised_ms, row.alarm_id)


#: A row's place in the list: smallest first (:func:`list_order_key`, or a held place).
OrderKey = tuple[int, int, int, str]


@dataclass(slots=True)
class OrderHold:
    """The list's order, and its order held still while a dispatcher works on it
    (issue 18).

    Each row is sorted by its :meth:`key`, worked out once and kept (a sort asks for
    it O(n log n) times). Rows must not move under the pointer: while a row is
    selected or the pointer is over the list (``held``: the reasons holding now, each
    on its own), a row that changes keeps the key it had, and a new row gets one below
    every other, in the order they come: nothing moves, new rows appear at the bottom,
    and the newly annunciated ones are counted (``pending``, "n new"). When the last
    reason lets go, :meth:`let_go` names the rows held back (``moved``), and only
    they move, each to its place, one at a time (:meth:`settle` works out its key
    again just before it moves).
    """

    held: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    keys: dict[str, OrderKey] = field(default_factory=dict)
    moved: set[str] = field(default_factory=set)
    arrivals: int = 0

    @property
    def frozen(self) -> bool:
        return bool(self.held)

    def key(self, row: AlarmRow) -> OrderKey:
        """Where ``row`` stands now (its held place while the order is held)."""
        key = self.keys.get(row.alarm_id)
        if key is None:
            if self.frozen:  # new while held: below every row, in the order they came
                self.arrivals += 1
                key = (2, self.arrivals, 0, row.alarm_id)
                self.moved.add(row.alarm_id)
            else:
                key = list_order_key(row)
            self.keys[row.alarm_id] = key
        return key

    def hold(self, reason: str) -> bool:
        """``reason`` holds the order; True when this froze it."""
        was = self.frozen
        self.held.add(reason)
        return not was

    def let_go(self, reason: str) -> set[str] | None:
        """``reason`` no longer holds. None while another reason still holds; else
        the rows to put in their places now. Each keeps its held place until it is
        :meth:`settle`-d: a view moves them one at a time, each by a binary search
        among the others, which finds the right place only while every other row
        stands where its key says."""
        if reason not in self.held:
            return None
        self.held.discard(reason)
        if self.frozen:
            return None
        self.pending.clear()
        moved, self.moved = self.moved, set()
        return moved

    def settle(self, alarm_id: str) -> None:
        """A row :meth:`let_go` named is about to move: its key is worked out again."""
        self.keys.pop(alarm_id, None)

    def note(self, changes: AlarmChanges) -> None:
        """A batch of changes, before the view applies them: a changed row's key is
        worked out again, or, while held, kept (the row is marked moved)."""
        if changes.reset:
            self.keys.clear()
            self.moved.clear()
            self.pending.clear()
        for aid in changes.removed:
            self.keys.pop(aid, None)
            self.moved.discard(aid)
        for aid in changes.added | changes.updated:
            if not self.frozen:
                self.keys.pop(aid, None)
            elif aid in self.keys:
                self.moved.add(aid)  # keeps its place until let go
        if self.frozen:
            self.pending |= changes.annunciated
            self.pending -= changes.removed

    @property
    def new_count(self) -> int:
        return len(self.pending)
