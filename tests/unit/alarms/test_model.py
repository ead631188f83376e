"""The ISA-18.2 transition table and the alarm list (no Kafka, no Qt)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest

import app.alarms.model as model_module
import app.alarms.states as states_module
from app.alarms.model import (
    BASE_STATES,
    HIDDEN_STATES,
    TRANSITIONS,
    UNHIDDEN,
    Action,
    AlarmChanges,
    AlarmList,
    AlarmRow,
    AlarmState,
    Ignored,
    PriorityCounts,
    Transition,
    state_of_snapshot_entry,
    step,
)
from app.alarms.records import (
    MAX_SHELVE_MS,
    AlarmEvent,
    EndOfTopic,
    EventType,
    Priority,
    Record,
    RecordType,
    snapshot_records,
)

ROOT = Path(__file__).resolve().parents[3]
S = AlarmState
E = EventType
T0 = 1_795_838_400_000  # 2026-11-28 08:00 Asia/Shanghai
HOUR = 3_600_000


# -- helpers ------------------------------------------------------------------------------

_FLAGS = {
    E.RAISE: (True, False),
    E.CLEAR: (False, False),
    E.ACK: (True, True),
}


def ev(
    n: int,
    kind: EventType = E.RAISE,
    *,
    ms: int = T0,
    priority: Priority | None = None,
    device: str | None = None,
    until: int = 0,
) -> AlarmEvent:
    active, acked = _FLAGS.get(kind, (True, False))
    return AlarmEvent(
        alarm_id=f"A{n}",
        event=kind,
        device=f"W{n:04d}" if device is None else device,
        station="S01",
        zone="Z1",
        priority=Priority((n % 4) + 1) if priority is None else priority,
        kind="switch_lost",
        code="ALM-SW-001",
        text_zh="道岔失表",
        text_en="switch lost its position",
        raised_ms=T0,
        event_ms=ms,
        active=active,
        acked=acked,
        shelved_until_ms=until,
    )


class Feed:
    """Numbers change records the way the server does."""

    def __init__(self, lst: AlarmList, server: str = "A") -> None:
        self.lst = lst
        self.server = server
        self.seq = 0

    def record(self, e: AlarmEvent) -> Record:
        self.seq += 1
        return Record(RecordType.CHANGE, self.server, self.seq, e.event_ms, -1, e)

    def __call__(self, e: AlarmEvent) -> AlarmChanges:
        return self.lst.apply(self.record(e))


def snapshot_of(
    lst: AlarmList, *, seq: int, server: str = "A", part_size: int = 1000
) -> list[Record]:
    return snapshot_records(
        [row.snapshot_event() for row in lst.active()],
        snapshot_id=f"snap-{seq}",
        server=server,
        seq=seq,
        ms=T0,
        snapshot_offset=-1,
        part_size=part_size,
    )


def states(lst: AlarmList) -> dict[str, tuple[AlarmState, AlarmState]]:
    return {row.alarm_id: (row.state, row.base) for row in lst.active()}


# -- the table ----------------------------------------------------------------------------


def test_every_state_and_event_pair_has_an_entry() -> None:
    pairs = {(s, e) for s in AlarmState for e in EventType}
    assert set(TRANSITIONS) == pairs
    assert len(TRANSITIONS) == len(AlarmState) * len(EventType) == 63


@pytest.mark.parametrize(("pair", "t"), list(TRANSITIONS.items()), ids=str)
def test_each_entry_is_well_formed(pair: tuple[AlarmState, EventType], t: Transition) -> None:
    state, event = pair
    if t.action is Action.IGNORE:
        assert isinstance(t.reason, Ignored) and t.target is None
    else:
        assert t.reason is None
    if t.action is Action.MOVE:
        assert t.target is not None
        # between base states, or from a hiding state to a hiding state
        assert (state in BASE_STATES and t.target in BASE_STATES) or (
            state in HIDDEN_STATES and t.target in HIDDEN_STATES
        )
    if t.action is Action.HIDE:
        assert state in BASE_STATES and t.target in HIDDEN_STATES
    if t.action is Action.UNHIDE:
        assert state in HIDDEN_STATES and t.target is None
    if t.action is Action.TRACK:
        # raise and clear only: an acknowledgement of a hidden alarm is refused
        assert state in HIDDEN_STATES and event in (E.RAISE, E.CLEAR)
        for base in BASE_STATES:  # what tracking does to the remembered state
            assert TRANSITIONS[(base, event)].action in (Action.MOVE, Action.IGNORE)
    if t.action is Action.SYNC:  # only where the list's own shelve timer may have been first
        assert state in BASE_STATES and event is E.UNSHELVE


def run(*events: EventType, start: AlarmState = S.NORMAL) -> list[AlarmState]:
    state = base = start
    path = [state]
    for e in events:
        result = step(state, base, e)
        state, base = result.state, result.base
        path.append(state)
    return path


def test_raise_ack_clear_is_normal() -> None:
    assert run(E.RAISE, E.ACK, E.CLEAR) == [S.NORMAL, S.UNACK_ACTIVE, S.ACKED_ACTIVE, S.NORMAL]


def test_raise_clear_is_unack_rtn_then_ack_is_normal() -> None:
    assert run(E.RAISE, E.CLEAR, E.ACK) == [S.NORMAL, S.UNACK_ACTIVE, S.UNACK_RTN, S.NORMAL]


def test_a_returned_alarm_raised_again_before_its_ack_is_unack_active() -> None:
    assert run(E.RAISE, E.CLEAR, E.RAISE)[-1] is S.UNACK_ACTIVE


# Issue 16 (9): this test used to enforce the wrong rule (back to the remembered state:
# an acknowledged alarm came back acknowledged, a cleared one "returned, unacknowledged").
# ISA-18.2's state diagram: unacknowledged while the condition is present, else normal.
HIDING = [
    (E.SHELVE, E.UNSHELVE),
    (E.SUPPRESS, E.UNSUPPRESS),
    (E.OUT_OF_SERVICE, E.RETURN_TO_SERVICE),
]


@pytest.mark.parametrize(("hide", "unhide"), HIDING, ids=str)
def test_leaving_a_hiding_state_is_unacknowledged_while_active_else_normal(
    hide: EventType, unhide: EventType
) -> None:
    # acknowledged and still active: nobody has looked at it since it was hidden
    assert run(E.RAISE, E.ACK, hide, unhide)[-1] is S.UNACK_ACTIVE
    assert run(E.RAISE, hide, unhide)[-1] is S.UNACK_ACTIVE
    assert run(hide, E.RAISE, unhide)[-1] is S.UNACK_ACTIVE
    assert run(E.RAISE, E.ACK, hide, E.CLEAR, E.RAISE, unhide)[-1] is S.UNACK_ACTIVE
    # the condition cleared, before or while hidden: normal, acknowledged or not
    assert run(E.RAISE, hide, E.CLEAR, unhide)[-1] is S.NORMAL
    assert run(E.RAISE, E.ACK, hide, E.CLEAR, unhide)[-1] is S.NORMAL
    assert run(E.RAISE, E.CLEAR, hide, unhide)[-1] is S.NORMAL
    assert run(hide, unhide)[-1] is S.NORMAL
    # while hidden, raise and clear are tracked: the alarm stays hidden
    assert run(E.RAISE, hide, E.RAISE, E.CLEAR, E.RAISE)[2:] == [hide_state(hide)] * 4


def hide_state(hide: EventType) -> AlarmState:
    return {E.SHELVE: S.SHELVED, E.SUPPRESS: S.SUPPRESSED, E.OUT_OF_SERVICE: S.OUT_OF_SERVICE}[hide]


@pytest.mark.parametrize(("hide", "unhide"), HIDING, ids=str)
def test_an_acknowledged_alarm_back_from_hiding_while_active_is_annunciated(
    hide: EventType, unhide: EventType
) -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1, device="W1"))
    feed(ev(1, E.ACK, device="W1"))
    feed(ev(1, hide, device="W1", until=T0 + HOUR))
    assert lst.newest_highest_unacked() is None and lst.unacked_devices() == set()
    changes = feed(ev(1, unhide, ms=T0 + 5, device="W1"))
    row = lst.get("A1")
    assert row is not None and (row.state, row.since_ms) == (S.UNACK_ACTIVE, T0 + 5)
    assert lst.newest_highest_unacked() is row  # the banner
    assert lst.unacked_devices() == {"W1"}  # it blinks on the schematic
    assert changes.updated == {"A1"} and changes.annunciated == {"A1"}  # the horn


@pytest.mark.parametrize(("hide", "unhide"), HIDING, ids=str)
def test_an_alarm_that_cleared_while_hidden_comes_back_normal(
    hide: EventType, unhide: EventType
) -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    for n in (1, 2):
        feed(ev(n))
    feed(ev(2, E.ACK))
    for n in (1, 2):
        feed(ev(n, hide, until=T0 + HOUR))
        feed(ev(n, E.CLEAR))
    assert states(lst) == {
        "A1": (hide_state(hide), S.UNACK_RTN),
        "A2": (hide_state(hide), S.NORMAL),
    }
    for n in (1, 2):
        assert feed(ev(n, unhide)).removed == {f"A{n}"}
    assert len(lst) == 0


def test_the_unhide_table_is_isa_18_2() -> None:
    assert set(UNHIDDEN) == BASE_STATES
    assert {s for s, t in UNHIDDEN.items() if t is S.UNACK_ACTIVE} == {
        S.UNACK_ACTIVE,
        S.ACKED_ACTIVE,
    }
    assert {s for s, t in UNHIDDEN.items() if t is S.NORMAL} == {S.NORMAL, S.UNACK_RTN}


def test_suppress_and_unsuppress() -> None:
    assert run(E.SUPPRESS, E.RAISE, E.UNSUPPRESS) == [
        S.NORMAL,
        S.SUPPRESSED,
        S.SUPPRESSED,
        S.UNACK_ACTIVE,
    ]
    assert run(E.RAISE, E.ACK, E.SUPPRESS, E.CLEAR, E.UNSUPPRESS)[-1] is S.NORMAL
    assert step(S.SUPPRESSED, S.NORMAL, E.SHELVE).ignored is Ignored.SUPPRESSED


def test_out_of_service() -> None:
    assert run(E.RAISE, E.OUT_OF_SERVICE, E.SUPPRESS, E.RETURN_TO_SERVICE) == [
        S.NORMAL,
        S.UNACK_ACTIVE,
        S.OUT_OF_SERVICE,
        S.OUT_OF_SERVICE,
        S.UNACK_ACTIVE,
    ]
    assert run(E.OUT_OF_SERVICE, E.RETURN_TO_SERVICE)[-1] is S.NORMAL
    # out of service replaces shelving and suppression; the remembered state stays
    assert run(E.RAISE, E.SHELVE, E.OUT_OF_SERVICE, E.RETURN_TO_SERVICE)[-1] is S.UNACK_ACTIVE
    assert run(E.RAISE, E.SUPPRESS, E.OUT_OF_SERVICE)[-1] is S.OUT_OF_SERVICE


def test_ignored_pairs_keep_the_state_and_say_why() -> None:
    result = step(S.ACKED_ACTIVE, S.ACKED_ACTIVE, E.ACK)
    assert (result.state, result.ignored) == (S.ACKED_ACTIVE, "already acknowledged")
    tracked = step(S.SHELVED, S.NORMAL, E.CLEAR)
    assert (tracked.state, tracked.base, tracked.ignored) == (S.SHELVED, S.NORMAL, "not active")


@pytest.mark.parametrize(
    ("active", "acked", "event", "expected"),
    [
        (True, False, E.RAISE, (S.UNACK_ACTIVE, S.UNACK_ACTIVE)),
        (True, True, E.ACK, (S.ACKED_ACTIVE, S.ACKED_ACTIVE)),
        (False, False, E.CLEAR, (S.UNACK_RTN, S.UNACK_RTN)),
        (False, True, E.ACK, (S.NORMAL, S.NORMAL)),
        (True, False, E.SHELVE, (S.SHELVED, S.UNACK_ACTIVE)),
        (False, True, E.SUPPRESS, (S.SUPPRESSED, S.NORMAL)),
        (True, True, E.OUT_OF_SERVICE, (S.OUT_OF_SERVICE, S.ACKED_ACTIVE)),
        (True, True, E.UNSHELVE, (S.ACKED_ACTIVE, S.ACKED_ACTIVE)),
    ],
)
def test_a_snapshot_entry_maps_to_a_state_from_its_flags_and_event(
    active: bool, acked: bool, event: EventType, expected: tuple[AlarmState, AlarmState]
) -> None:
    entry = AlarmEvent(
        "A1", event, "W1", "S01", "Z1", Priority.HIGH, "k", "", "", "", 0, 0, active, acked
    )
    assert state_of_snapshot_entry(entry) == expected


# -- the table in docs/alarms.md ----------------------------------------------------------


def doc_cell(t: Transition) -> str:
    return {
        Action.MOVE: f"→ {t.target}",
        Action.HIDE: f"hide → {t.target}",
        Action.UNHIDE: "unhide",
        Action.TRACK: "track",
        Action.SYNC: "sync",
        Action.IGNORE: f"ignored: {t.reason}",
    }[t.action]


def doc_rows(marker: str) -> list[list[str]]:
    text = (ROOT / "docs" / "alarms.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker}:begin -->(.*?)<!-- {marker}:end -->", text, re.S)
    assert block, f"docs/alarms.md has no {marker} table between the markers"
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in block.group(1).strip().splitlines()
    ]


def doc_table() -> dict[tuple[str, str], str]:
    header, _rule, *body = doc_rows("transitions")
    events = header[1:]
    return {
        (row[0], event): cell for row in body for event, cell in zip(events, row[1:], strict=True)
    }


def test_the_docs_table_is_the_codes_table() -> None:
    expected = {(s.value, e.value): doc_cell(t) for (s, e), t in TRANSITIONS.items()}
    assert doc_table() == expected


def test_the_docs_unhide_table_is_the_codes() -> None:
    _header, _rule, *body = doc_rows("unhide")
    assert {row[0]: row[1] for row in body} == {
        b.value: f"→ {t.value}" for b, t in UNHIDDEN.items()
    }


# -- purity -------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [model_module, states_module], ids=lambda m: m.__name__)
def test_the_model_imports_neither_kafka_nor_qt(module: object) -> None:
    path = Path(str(getattr(module, "__file__", "")))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if m.split(".")[0] in ("PySide6", "confluent_kafka")}


# -- the list: changes and duplicates -----------------------------------------------------


def test_a_change_adds_updates_and_removes_rows() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    assert feed(ev(1)).added == {"A1"}
    changes = feed(ev(1, E.ACK, ms=T0 + 5))
    assert changes.updated == {"A1"} and not changes.added and not changes.reset
    row = lst.get("A1")
    assert row is not None
    assert (row.state, row.since_ms, row.event.event) == (S.ACKED_ACTIVE, T0 + 5, E.ACK)
    assert feed(ev(1, E.CLEAR, ms=T0 + 9)).removed == {"A1"}
    assert len(lst) == 0 and "A1" not in lst


def test_an_ignored_event_changes_nothing_and_is_counted() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1))
    before = lst.get("A1")
    assert not feed(ev(1, E.RAISE, ms=T0 + 7))
    assert lst.get("A1") is before
    assert not feed(ev(2, E.CLEAR))  # an alarm the list never had
    assert lst.stats.ignored == {"already active": 1, "not active": 1}
    assert lst.stats.changes == 3 and lst.applied_seq == 3


def test_a_record_at_or_below_the_applied_seq_is_a_duplicate() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    raised = feed.record(ev(1))
    acked = feed.record(ev(1, E.ACK))
    lst.apply(raised)
    lst.apply(acked)
    assert not lst.apply(raised) and not lst.apply(acked)
    assert lst.stats.duplicates == 2
    row = lst.get("A1")
    assert row is not None and row.state is S.ACKED_ACTIVE


def test_a_skipped_seq_is_counted_as_a_gap_and_the_record_applied() -> None:
    lst = AlarmList(lambda: T0)
    lst.apply(Record(RecordType.CHANGE, "A", 1, T0, -1, ev(1)))
    lst.apply(Record(RecordType.CHANGE, "A", 5, T0, -1, ev(2)))
    assert lst.stats.gaps == 1 and len(lst) == 2 and lst.applied_seq == 5


def test_the_list_is_capped() -> None:
    lst = AlarmList(lambda: T0, max_alarms=3)
    feed = Feed(lst)
    for n in range(5):
        feed(ev(n))
    assert len(lst) == 3 and lst.stats.overflow == 2
    feed(ev(0, E.ACK))  # a known alarm still changes
    row = lst.get("A0")
    assert row is not None and row.state is S.ACKED_ACTIVE


# -- the list: snapshots ------------------------------------------------------------------


def filled(n: int) -> AlarmList:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    for i in range(n):
        feed(ev(i, ms=T0 + i))
    return lst


def test_a_complete_snapshot_replaces_the_list_at_its_last_part() -> None:
    source = filled(7)
    parts = snapshot_of(source, seq=40, part_size=3)
    assert len(parts) == 3
    lst = filled(2)
    lst.apply(Record(RecordType.CHANGE, "A", 3, T0, -1, ev(99)))  # not in the snapshot: goes
    assert not lst.apply(parts[0]) and not lst.apply(parts[1])
    assert len(lst) == 3  # nothing changes before the last part
    changes = lst.apply(parts[2])
    assert changes.reset and not (changes.added or changes.updated or changes.removed)
    assert states(lst) == states(source)
    assert lst.applied_seq == 40 and lst.stats.snapshots == 1


@pytest.mark.parametrize(
    "order",
    [
        [0, 1],  # the last part is missing, then a change comes
        [0, 2],  # a part is missing
        [1, 2],  # the beginning is missing
        [0, 1, 0, 1],  # restarted, never finished
    ],
)
def test_an_incomplete_snapshot_is_dropped_and_counted(order: list[int]) -> None:
    parts = snapshot_of(filled(7), seq=40, part_size=3)
    lst = filled(2)
    before = states(lst)
    for i in order:
        assert not lst.apply(parts[i]).reset
    lst.apply(Record(RecordType.CHANGE, "A", 41, T0, -1, ev(50)))
    assert states(lst) == before | {"A50": (S.UNACK_ACTIVE, S.UNACK_ACTIVE)}
    assert lst.stats.snapshots == 0 and lst.stats.snapshots_incomplete >= 1


def test_parts_of_another_snapshot_do_not_mix() -> None:
    one = snapshot_of(filled(4), seq=10, part_size=2)
    two = snapshot_of(filled(6), seq=11, part_size=2)
    lst = AlarmList(lambda: T0)
    lst.apply(one[0])
    assert not lst.apply(two[1]).reset  # same part number, other snapshot
    assert len(lst) == 0 and lst.stats.snapshots_incomplete == 1


def test_a_snapshot_not_newer_than_the_list_is_skipped() -> None:
    lst = filled(3)  # seq 3 from server A
    old = snapshot_of(filled(1), seq=2)
    assert not lst.apply(old[0]) and len(lst) == 3 and lst.stats.snapshots_skipped == 1
    same = snapshot_of(lst, seq=3)
    assert not lst.apply(same[0]).reset and lst.stats.snapshots_skipped == 2
    # the standby taking over counts from its own seq: its snapshot is taken
    other = snapshot_of(filled(1), seq=1, server="B")
    assert lst.apply(other[0]).reset and len(lst) == 1 and lst.server == "B"


def test_after_a_missed_change_a_snapshot_at_the_same_seq_repairs_the_list() -> None:
    server = filled(3)  # seq 1..3
    hmi = AlarmList(lambda: T0)
    hmi.apply(Record(RecordType.CHANGE, "A", 1, T0, -1, ev(0, ms=T0)))
    # seq 2 was malformed and skipped by the feed
    hmi.apply(Record(RecordType.CHANGE, "A", 3, T0, -1, ev(2, ms=T0 + 2)))
    assert hmi.missed_changes and "A1" not in hmi
    assert hmi.apply_all(snapshot_of(server, seq=3)).reset
    assert states(hmi) == states(server) and not hmi.missed_changes
    # in sync again: the next snapshot at the same seq is skipped
    assert not hmi.apply_all(snapshot_of(server, seq=3)).reset


def test_an_empty_snapshot_empties_the_list() -> None:
    lst = filled(3)
    parts = snapshot_records([], snapshot_id="s", server="A", seq=9, ms=T0, snapshot_offset=-1)
    assert lst.apply(parts[0]).reset and len(lst) == 0 and lst.applied_seq == 9


def test_a_snapshot_is_rebuilt_with_hidden_alarms_and_their_remembered_state() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1))
    feed(ev(1, E.SHELVE, until=T0 + 60_000))
    feed(ev(1, E.CLEAR))  # tracked while shelved
    feed(ev(2, E.SUPPRESS))  # suppressed while normal
    feed(ev(3))
    feed(ev(3, E.ACK))
    feed(ev(3, E.OUT_OF_SERVICE))
    fresh = AlarmList(lambda: T0)
    fresh.apply_all(snapshot_of(lst, seq=feed.seq))
    assert (
        states(fresh)
        == states(lst)
        == {
            "A1": (S.SHELVED, S.UNACK_RTN),
            "A2": (S.SUPPRESSED, S.NORMAL),
            "A3": (S.OUT_OF_SERVICE, S.ACKED_ACTIVE),
        }
    )
    row = fresh.get("A1")
    assert row is not None and row.shelved_until_ms == T0 + 60_000
    assert fresh.tick(T0 + 60_000).unshelved == {"A1"}


# -- midnight -----------------------------------------------------------------------------


def test_an_acknowledged_alarm_still_active_at_midnight_stays() -> None:
    hmi = AlarmList(lambda: T0)
    feed = Feed(hmi)
    feed(ev(1))
    feed(ev(1, E.ACK))
    feed(ev(2))
    feed(ev(2, E.CLEAR))  # unacknowledged, returned to normal: stays too
    end = Record(RecordType.END, "A", feed.seq, T0, -1, EndOfTopic("alarms.20261129"))
    changes = hmi.apply(end)
    assert changes.end_of_topic == "alarms.20261129" and not changes
    assert hmi.last_end == EndOfTopic("alarms.20261129") and hmi.stats.ends == 1
    # the next day's topic starts with a snapshot of the same state
    day2 = snapshot_of(hmi, seq=feed.seq)
    assert not hmi.apply_all(day2)  # nothing new: the list stays as it is
    late = AlarmList(lambda: T0)  # an HMI that starts on day 2
    assert late.apply_all(day2).reset
    for lst in (hmi, late):
        assert states(lst) == {
            "A1": (S.ACKED_ACTIVE, S.ACKED_ACTIVE),
            "A2": (S.UNACK_RTN, S.UNACK_RTN),
        }
    clear = feed.record(ev(1, E.CLEAR))
    assert hmi.apply(clear).removed == {"A1"} and late.apply(clear).removed == {"A1"}


# -- shelve timer -------------------------------------------------------------------------


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_the_shelve_timer_returns_an_alarm_when_its_time_passes() -> None:
    clock = Clock(T0)
    lst = AlarmList(clock)
    feed = Feed(lst)
    feed(ev(1))
    feed(ev(1, E.SHELVE, until=T0 + 1000))
    feed(ev(2))
    feed(ev(2, E.ACK))
    feed(ev(2, E.SHELVE, until=T0 + 2000))
    feed(ev(2, E.CLEAR))  # returns to normal while shelved
    clock.ms = T0 + 999
    assert not lst.tick() and lst.tick().unshelved == set()
    clock.ms = T0 + 1000
    first = lst.tick()
    assert first.unshelved == {"A1"} and first.updated == {"A1"}
    row = lst.get("A1")
    assert row is not None
    assert (row.state, row.since_ms, row.event.event) == (S.UNACK_ACTIVE, T0 + 1000, E.UNSHELVE)
    second = lst.tick(T0 + 5000)  # an explicit time wins over the clock
    assert second.unshelved == {"A2"} and second.removed == {"A2"}
    assert len(lst) == 1 and lst.stats.unshelved_by_timer == 2
    assert not lst.tick(T0 + 10_000)


def test_the_shelve_timer_brings_an_acknowledged_alarm_back_unacknowledged() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1, device="W1"))
    feed(ev(1, E.ACK, device="W1"))
    feed(ev(1, E.SHELVE, device="W1", until=T0 + 1000))
    feed(ev(2))
    feed(ev(2, E.SHELVE, until=T0 + 1000))
    feed(ev(2, E.CLEAR))  # unacknowledged, cleared while shelved
    changes = lst.tick(T0 + 1000)
    assert changes.unshelved == {"A1", "A2"} and changes.removed == {"A2"}
    assert changes.annunciated == {"A1"}
    row = lst.get("A1")
    assert row is not None and (row.state, row.event.event) == (S.UNACK_ACTIVE, E.UNSHELVE)
    assert (row.event.active, row.event.acked) == (True, False)
    assert lst.unacked_devices() == {"W1"}


# -- shelves past their end (issue 16, defect 8) ------------------------------------------


def shelved_source() -> tuple[AlarmList, Feed]:
    """A server's list: A1 acknowledged and A2 cleared, both shelved for an hour; A3 for 3."""
    source = AlarmList(lambda: T0)
    feed = Feed(source)
    for n in (1, 2, 3):
        feed(ev(n))
    feed(ev(1, E.ACK))
    feed(ev(1, E.SHELVE, until=T0 + HOUR))
    feed(ev(2, E.SHELVE, until=T0 + HOUR))
    feed(ev(2, E.CLEAR))
    feed(ev(3, E.SHELVE, until=T0 + 3 * HOUR))
    return source, feed


def test_a_snapshot_read_after_its_shelves_ended_is_never_read_as_shelved() -> None:
    source, feed = shelved_source()
    clock = Clock(T0 + 2 * HOUR)  # nobody unshelved since (the server was down)
    hmi = AlarmList(clock)
    changes = hmi.apply_all(snapshot_of(source, seq=feed.seq))
    # the shelves that ended are ended before anyone reads the list, and said so
    assert changes.reset and changes.unshelved == {"A1", "A2"}
    assert changes.annunciated == {"A1"}
    assert states(hmi) == {
        "A1": (S.UNACK_ACTIVE, S.UNACK_ACTIVE),
        "A3": (S.SHELVED, S.UNACK_ACTIVE),
    }
    row = hmi.get("A1")
    assert row is not None and row.since_ms == T0 + HOUR  # when the shelve ended


def test_a_shelve_that_ends_between_two_ticks_is_not_read_as_shelved() -> None:
    source, feed = shelved_source()
    clock = Clock(T0)
    hmi = AlarmList(clock)
    hmi.apply_all(snapshot_of(source, seq=feed.seq))
    assert not hmi.tick()
    clock.ms = T0 + HOUR  # no tick yet: whoever reads sees the shelves ended
    p1, p2 = Priority(2), Priority(3)  # A1's and A2's
    assert hmi.counts_by_priority()[p1] == PriorityCounts(unacked=1, total=1, hidden=0)
    assert hmi.counts_by_priority()[p2] == PriorityCounts(0, 0, 0)
    assert "A2" not in hmi and len(hmi) == 2
    row = hmi.get("A1")
    assert row is not None and row.state is S.UNACK_ACTIVE
    assert hmi.newest_highest_unacked() is row and hmi.unacked_devices() == {"W0001"}
    # ... and the views hear of it with the next tick (or the next record)
    changes = hmi.tick()
    assert changes.unshelved == {"A1", "A2"} and changes.updated == {"A1"}
    assert changes.removed == {"A2"} and changes.annunciated == {"A1"}
    assert not hmi.tick()
    clock.ms = T0 + 3 * HOUR
    assert hmi.active()[0].state is S.UNACK_ACTIVE
    later = hmi.apply(feed.record(ev(5)))
    assert later.unshelved == {"A3"} and later.updated == {"A3"} and later.added == {"A5"}


def test_a_shelve_the_lists_timer_ended_first_takes_the_servers_word_when_it_comes() -> None:
    """The HMI's clock a little ahead of the server's: its timer ends the shelve, then
    the server's records arrive: the condition cleared while it was still shelved
    there, then the server's UNSHELVE. The list ends where the server is."""
    clock = Clock(T0)
    hmi = AlarmList(clock)
    feed = Feed(hmi)
    for n in (1, 2):
        feed(ev(n))
        feed(ev(n, E.ACK))
        feed(ev(n, E.SHELVE, until=T0 + 1000))
    clock.ms = T0 + 1000
    assert hmi.tick().unshelved == {"A1", "A2"}
    feed(ev(1, E.CLEAR, ms=T0 + 999))  # cleared while shelved at the server
    row = hmi.get("A1")
    assert row is not None and row.state is S.UNACK_RTN  # for a moment
    server_normal = replace(ev(1, E.UNSHELVE, ms=T0 + 1000), active=False, acked=True)
    assert feed(server_normal).removed == {"A1"}
    server_active = replace(ev(2, E.UNSHELVE, ms=T0 + 1000), active=True, acked=False)
    assert not feed(server_active).annunciated  # already where the server says
    assert states(hmi) == {"A2": (S.UNACK_ACTIVE, S.UNACK_ACTIVE)}


# -- the cases ISA-18.2's diagram leaves open: what this product decided ---------------------


@pytest.mark.parametrize(
    ("hidden", "reason"),
    [
        (S.SHELVED, Ignored.SHELVED),
        (S.SUPPRESSED, Ignored.SUPPRESSED),
        (S.OUT_OF_SERVICE, Ignored.OUT_OF_SERVICE),
    ],
)
def test_an_acknowledgement_of_a_hidden_alarm_is_refused(
    hidden: AlarmState, reason: Ignored
) -> None:
    """Nobody can see a hidden alarm, and it comes back unacknowledged anyway: the server
    refuses the command, and the list ignores (and counts) such a record."""
    for base in BASE_STATES:
        result = step(hidden, base, E.ACK)
        assert (result.state, result.base, result.ignored) == (hidden, base, reason)
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1))
    feed(ev(1, E.SHELVE, until=T0 + HOUR))
    assert not feed(ev(1, E.ACK))
    assert lst.stats.ignored == {Ignored.SHELVED: 1}


def test_shelving_is_timed_not_one_shot_a_return_stays_shelved_until_the_end() -> None:
    """A shelved alarm that clears stays shelved; if it returns before the shelve
    ends it stays hidden (shelving is for chattering alarms), and at the end it comes
    back unacknowledged if present, normal if not."""
    clock = Clock(T0)
    lst = AlarmList(clock)
    feed = Feed(lst)
    feed(ev(1, device="W1"))
    feed(ev(1, E.SHELVE, device="W1", until=T0 + 1000))
    for k in range(3):
        feed(ev(1, E.CLEAR, device="W1", ms=T0 + 10 * k))
        assert states(lst) == {"A1": (S.SHELVED, S.UNACK_RTN)}
        changes = feed(ev(1, E.RAISE, device="W1", ms=T0 + 10 * k + 5))
        assert states(lst) == {"A1": (S.SHELVED, S.UNACK_ACTIVE)}
        assert not changes.annunciated and lst.unacked_devices() == set()
    assert not lst.flood(T0) and len(lst._raises) == 1
    clock.ms = T0 + 1000
    assert lst.tick().annunciated == {"A1"}


def test_no_latching_and_no_re_alarm() -> None:
    """An acknowledged alarm that clears goes to normal (not latched); one that clears
    unacknowledged waits for its acknowledgement. The list never re-annunciates an
    alarm by itself: a raise of an active alarm is ignored (re-alarming is the server's
    to decide, as a new raise after a clear)."""
    assert run(E.RAISE, E.ACK, E.CLEAR)[-1] is S.NORMAL
    assert run(E.RAISE, E.CLEAR)[-1] is S.UNACK_RTN
    assert step(S.ACKED_ACTIVE, S.ACKED_ACTIVE, E.RAISE).ignored is Ignored.ALREADY_ACTIVE
    assert step(S.UNACK_ACTIVE, S.UNACK_ACTIVE, E.RAISE).ignored is Ignored.ALREADY_ACTIVE
    lst = AlarmList(lambda: T0 + 10 * HOUR)
    feed = Feed(lst)
    feed(ev(1))
    feed(ev(1, E.ACK))
    assert not lst.tick(T0 + 10 * HOUR)  # no timer re-annunciates a standing alarm
    row = lst.get("A1")
    assert row is not None and row.state is S.ACKED_ACTIVE


def test_an_unshelve_outside_shelving_needs_the_events_flags() -> None:
    with pytest.raises(ValueError, match="flags"):
        step(S.NORMAL, S.NORMAL, E.UNSHELVE)
    assert step(S.NORMAL, S.NORMAL, E.UNSHELVE, (True, False)).state is S.UNACK_ACTIVE


def test_shelving_again_moves_the_deadline_and_unshelving_cancels_it() -> None:
    clock = Clock(T0)
    lst = AlarmList(clock)
    feed = Feed(lst)
    feed(ev(1))
    feed(ev(1, E.SHELVE, until=T0 + 1000))
    feed(ev(1, E.SHELVE, until=T0 + 3000))
    feed(ev(2))
    feed(ev(2, E.SHELVE, until=T0 + 1000))
    feed(ev(2, E.UNSHELVE))
    feed(ev(2, E.SHELVE, until=T0 + 9000))
    assert not lst.tick(T0 + 2000)
    assert lst.tick(T0 + 3000).unshelved == {"A1"}
    assert lst.tick(T0 + 9000).unshelved == {"A2"}


def test_a_shelve_without_an_end_or_longer_than_the_maximum_ends_at_the_maximum() -> None:
    """Decided (ISA-18.2 leaves it open): no shelve lasts longer than a shift (8 h);
    the server refuses a longer request, the list caps what a record asks."""
    assert MAX_SHELVE_MS == 8 * HOUR
    lst = AlarmList(lambda: T0, max_shelve_ms=10_000)
    feed = Feed(lst)
    for n in (1, 2, 3):
        feed(ev(n))
    feed(ev(1, E.SHELVE))  # no end given
    feed(ev(2, E.SHELVE, ms=T0 + 5, until=T0 + HOUR))  # longer than the maximum
    feed(ev(3, E.SHELVE, until=T0 + 10_000))  # exactly the maximum: kept
    assert {r.alarm_id: r.shelved_until_ms for r in lst.active()} == {
        "A1": T0 + 10_000,
        "A2": T0 + 5 + 10_000,
        "A3": T0 + 10_000,
    }
    assert lst.stats.shelves_capped == 2
    assert not lst.tick(T0 + 9_999)
    assert lst.tick(T0 + 10_005).unshelved == {"A1", "A2", "A3"}
    # a snapshot entry without an end, from another producer: capped the same way
    entry = replace(ev(4, E.SHELVE, ms=T0 + 20_000), active=True, acked=False)
    fresh = AlarmList(lambda: T0, max_shelve_ms=10_000)
    fresh.apply_all(
        snapshot_records([entry], snapshot_id="s", server="A", seq=1, ms=T0, snapshot_offset=-1)
    )
    row = fresh.get("A4")
    assert row is not None and (row.state, row.shelved_until_ms) == (S.SHELVED, T0 + 30_000)


def test_many_reshelves_keep_the_deadline_heap_bounded() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1))
    for k in range(5000):
        feed(ev(1, E.SHELVE, until=T0 + 10 + k))
    assert len(lst._deadlines) <= 2 * 1 + 1024 + 1
    assert lst.tick(T0 + 5009).unshelved == {"A1"}


# -- counts, banner, devices, flood -------------------------------------------------------


def test_counts_by_priority() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    P = Priority
    feed(ev(1, priority=P.CRITICAL))
    feed(ev(2, priority=P.CRITICAL))
    feed(ev(2, E.ACK, priority=P.CRITICAL))
    feed(ev(3, priority=P.LOW))
    feed(ev(3, E.CLEAR, priority=P.LOW))
    feed(ev(4, priority=P.LOW))
    feed(ev(4, E.SHELVE, priority=P.LOW))
    counts = lst.counts_by_priority()
    assert counts == {
        P.CRITICAL: PriorityCounts(unacked=1, total=2, hidden=0),
        P.HIGH: PriorityCounts(0, 0, 0),
        P.MEDIUM: PriorityCounts(0, 0, 0),
        P.LOW: PriorityCounts(unacked=1, total=1, hidden=1),
    }
    feed(ev(1, E.CLEAR, priority=P.CRITICAL))
    feed(ev(1, E.ACK, priority=P.CRITICAL))
    assert lst.counts_by_priority()[P.CRITICAL] == PriorityCounts(0, 1, 0)


def test_the_banner_shows_the_newest_of_the_most_urgent_unacknowledged() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    assert lst.newest_highest_unacked() is None
    feed(ev(1, priority=Priority.HIGH))
    feed(ev(2, priority=Priority.CRITICAL))
    feed(ev(3, priority=Priority.CRITICAL))
    feed(ev(4, priority=Priority.LOW))

    def banner() -> str | None:
        row = lst.newest_highest_unacked()
        return None if row is None else row.alarm_id

    assert banner() == "A3"
    feed(ev(2, E.CLEAR, priority=Priority.CRITICAL))  # still unacknowledged: keeps its place
    assert banner() == "A3"
    feed(ev(3, E.ACK, priority=Priority.CRITICAL))
    assert banner() == "A2"
    feed(ev(2, E.ACK, priority=Priority.CRITICAL))
    assert banner() == "A1"
    feed(ev(1, E.SHELVE, priority=Priority.HIGH))
    assert banner() == "A4"


def test_devices_blink_while_one_of_their_alarms_is_unacknowledged() -> None:
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    feed(ev(1, device="W1"))
    feed(ev(2, device="W1"))
    feed(ev(3, device="S7"))
    feed(ev(4, device=""))  # an alarm without a device (a link) blinks nothing
    assert lst.unacked_devices() == {"W1", "S7"}
    feed(ev(1, E.ACK, device="W1"))
    assert lst.unacked_devices() == {"W1", "S7"}
    feed(ev(2, E.CLEAR, device="W1"))
    assert lst.unacked_devices() == {"W1", "S7"}
    feed(ev(2, E.ACK, device="W1"))
    feed(ev(3, E.SUPPRESS, device="S7"))
    assert lst.unacked_devices() == set()


def test_flood_is_more_than_ten_new_alarms_in_ten_minutes() -> None:
    lst = AlarmList(lambda: T0 + 10**9)
    feed = Feed(lst)
    minute = 60_000
    for n in range(10):
        feed(ev(n, ms=T0 + n * minute // 2))
    last = T0 + 9 * minute // 2
    assert not lst.flood(last)
    feed(ev(10, ms=last + 1))
    assert lst.flood(last + 1)
    assert lst.flood(T0 + 10 * minute - 1)  # the first is still inside the window
    assert not lst.flood(T0 + 10 * minute)
    assert not lst.flood()  # the injected clock: long after


def test_only_new_annunciated_raises_count_towards_a_flood() -> None:
    lst = AlarmList(lambda: T0, flood_threshold=2, flood_window_ms=1000)
    feed = Feed(lst)
    feed(ev(1))
    feed(ev(1))  # ignored: already active
    feed(ev(2, E.SHELVE))
    feed(ev(2))  # raised while shelved: not annunciated
    assert not lst.flood(T0)
    feed(ev(1, E.CLEAR))
    feed(ev(1))  # raised again before its ack: annunciated again
    feed(ev(3))
    assert lst.flood(T0) and not lst.flood(T0 + 1000)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        AlarmList(flood_window_ms=0)
    with pytest.raises(ValueError):
        AlarmList(max_alarms=0)


# -- AlarmChanges -------------------------------------------------------------------------


def test_changes_merge_to_their_net_effect() -> None:
    net = AlarmChanges(added={"a"}, updated={"b"}, removed={"c"})
    net.merge(AlarmChanges(updated={"a"}, removed={"a", "b"}, added={"c"}))
    assert (net.added, net.updated, net.removed) == (set(), {"c"}, {"b"})
    net.merge(AlarmChanges(reset=True))
    net.merge(AlarmChanges(added={"x"}, end_of_topic="t2"))
    assert net.reset and not (net.added or net.updated or net.removed)
    assert net.end_of_topic == "t2"


def test_rows_are_immutable() -> None:
    lst = filled(1)
    row = lst.active()[0]
    assert isinstance(row, AlarmRow)
    with pytest.raises(AttributeError):
        row.state = S.NORMAL  # type: ignore[misc]


# -- size ---------------------------------------------------------------------------------


def test_a_hundred_thousand_alarms() -> None:
    """Completes without O(n) work per change; the time is measured in the benchmark."""
    n = 100_000
    lst = AlarmList(lambda: T0)
    feed = Feed(lst)
    for i in range(n):
        feed(ev(i, ms=T0 + i))
    for i in range(0, n, 2):
        feed(ev(i, E.ACK, ms=T0 + n + i))
    for i in range(0, n, 4):
        feed(ev(i, E.CLEAR, ms=T0 + 2 * n + i))
    assert len(lst) == n - n // 4
    counts = lst.counts_by_priority()
    assert sum(c.total for c in counts.values()) == len(lst)
    assert sum(c.unacked for c in counts.values()) == n // 2
    assert len(lst.unacked_devices()) == n // 2
    fresh = AlarmList(lambda: T0)
    assert fresh.apply_all(snapshot_of(lst, seq=feed.seq)).reset
    assert len(fresh) == len(lst) and fresh.counts_by_priority() == counts
