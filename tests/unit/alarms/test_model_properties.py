"""Property tests of the alarm list: table-only states, idempotent replay, snapshots."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.alarms.model import (
    BASE_STATES,
    HIDDEN_STATES,
    SHOWN_STATES,
    TRANSITIONS,
    UNACKED_STATES,
    UNHIDDEN,
    Action,
    AlarmList,
    AlarmState,
    PriorityCounts,
)
from app.alarms.records import (
    MAX_SHELVE_MS,
    AlarmEvent,
    EventType,
    Priority,
    Record,
    RecordType,
    decode_record,
    encode_record,
    snapshot_records,
)

S = AlarmState
T0 = 1_795_838_400_000


@dataclass(frozen=True)
class Op:
    alarm: int
    event: EventType
    priority: Priority
    device: int
    dt_ms: int  # time since the previous op
    shelve_ms: int  # for SHELVE: how long (0: no time)
    tick: bool  # run the shelve timer after this op


ops_strategy = st.lists(
    st.builds(
        Op,
        st.integers(0, 5),
        st.sampled_from(EventType),
        st.sampled_from(Priority),
        st.integers(0, 3),
        st.integers(0, 5000),
        st.sampled_from([0, 1000, 4000, 20_000]),
        st.booleans(),
    ),
    max_size=80,
)


def event_of(op: Op, now: int) -> AlarmEvent:
    active = op.event is EventType.RAISE
    return AlarmEvent(
        alarm_id=f"A{op.alarm}",
        event=op.event,
        device=f"D{op.device}" if op.device else "",
        station="S01",
        zone="Z1",
        priority=op.priority,
        kind="switch_lost",
        code="ALM-SW-001",
        text_zh="道岔失表",
        text_en="switch lost its position",
        raised_ms=now,
        event_ms=now,
        active=active,
        acked=op.event is EventType.ACK,
        by="op1",
        shelved_until_ms=now + op.shelve_ms if op.shelve_ms else 0,
    )


# -- a reference machine: the table read by hand, one alarm at a time --------------------

Ref = tuple[AlarmState, AlarmState, int]  # state, remembered base state, shelved until


def ref_step(cur: Ref, e: AlarmEvent) -> Ref:
    state, base, until = cur
    t = TRANSITIONS[(state, e.event)]
    if t.action is Action.MOVE:
        assert t.target is not None
        new_state, new_base = t.target, base if t.target in HIDDEN_STATES else t.target
    elif t.action is Action.HIDE:
        assert t.target is not None
        new_state, new_base = t.target, state
    elif t.action is Action.UNHIDE:
        new_state = new_base = UNHIDDEN[base]
    elif t.action is Action.SYNC:  # the server's word: the state its flags describe
        new_state = new_base = {
            (True, False): S.UNACK_ACTIVE,
            (True, True): S.ACKED_ACTIVE,
            (False, False): S.UNACK_RTN,
            (False, True): S.NORMAL,
        }[(e.active, e.acked)]
    elif t.action is Action.TRACK:
        inner = TRANSITIONS[(base, e.event)]
        tracked = inner.target if inner.action is Action.MOVE else base
        assert tracked is not None
        new_state, new_base = state, tracked
    else:
        return cur
    if new_state is not S.SHELVED:
        until = 0
    elif e.event is EventType.SHELVE:
        # no end, or past the maximum: the maximum
        latest = e.event_ms + MAX_SHELVE_MS
        until = e.shelved_until_ms if 0 < e.shelved_until_ms <= latest else latest
    return new_state, new_base, until


def ref_tick(ref: dict[str, Ref], now: int) -> None:
    for aid, (state, base, until) in list(ref.items()):
        if state is S.SHELVED and until <= now:
            ref[aid] = (UNHIDDEN[base], UNHIDDEN[base], 0)


def visible(ref: dict[str, Ref]) -> dict[str, Ref]:
    return {aid: r for aid, r in ref.items() if r[0] is not S.NORMAL}


def model_view(lst: AlarmList) -> dict[str, Ref]:
    return {r.alarm_id: (r.state, r.base, r.shelved_until_ms) for r in lst.active()}


def check_indexes(lst: AlarmList) -> None:
    """The O(1) indexes agree with a brute-force look at the rows."""
    rows = lst.active()
    for row in rows:
        assert row.state in AlarmState and row.state is not S.NORMAL
        assert row.base in BASE_STATES
        assert row.state in HIDDEN_STATES or row.base is row.state
        assert (row.state is S.SHELVED) == (row.shelved_until_ms > 0)
    by: Counter[tuple[Priority, AlarmState]] = Counter((r.event.priority, r.state) for r in rows)
    expected = {
        p: PriorityCounts(
            unacked=sum(by[(p, s)] for s in UNACKED_STATES),
            total=sum(by[(p, s)] for s in SHOWN_STATES),
            hidden=sum(by[(p, s)] for s in HIDDEN_STATES),
        )
        for p in Priority
    }
    assert lst.counts_by_priority() == expected
    unacked = [r for r in rows if r.state in UNACKED_STATES]
    assert lst.unacked_devices() == {r.event.device for r in unacked if r.event.device}
    banner = lst.newest_highest_unacked()
    if not unacked:
        assert banner is None
    else:
        assert banner is not None and banner.state in UNACKED_STATES
        assert banner.event.priority == min(r.event.priority for r in unacked)


def stream(ops: list[Op]) -> tuple[list[Record], list[int]]:
    """Change records for ``ops``, one per op (seq 1, 2, ...), and their times."""
    records, times, now = [], [], T0
    for seq, op in enumerate(ops, start=1):
        now += op.dt_ms
        e = event_of(op, now)
        records.append(Record(RecordType.CHANGE, "A", seq, now, -1, e))
        times.append(now)
    return records, times


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(ops_strategy)
def test_any_sequence_moves_each_alarm_only_through_table_entries(ops: list[Op]) -> None:
    records, times = stream(ops)
    lst = AlarmList(lambda: T0)
    ref: dict[str, Ref] = {}
    for op, rec, now in zip(ops, records, times, strict=True):
        assert isinstance(rec.body, AlarmEvent)
        aid = rec.body.alarm_id
        ref[aid] = ref_step(ref.get(aid, (S.NORMAL, S.NORMAL, 0)), rec.body)
        changes = lst.apply(rec)
        assert changes.added | changes.updated | changes.removed <= {aid}
        if op.tick:
            ref_tick(ref, now)
            lst.tick(now)
        assert model_view(lst) == visible(ref)
        check_indexes(lst)


@settings(max_examples=300, deadline=None)
@given(ops_strategy)
def test_whatever_the_clock_no_read_shows_a_shelve_past_its_end(ops: list[Op]) -> None:
    """Issue 16 (8): the list ends shelves by its clock before it is read and around
    every record, not only when its timer ticks."""
    records, times = stream(ops)
    clock = [T0]
    lst = AlarmList(lambda: clock[0])
    ref: dict[str, Ref] = {}
    reported: dict[str, AlarmState] = {}  # what the changes told a view, per id
    for rec, now in zip(records, times, strict=True):
        assert isinstance(rec.body, AlarmEvent)
        clock[0] = now
        ref_tick(ref, now)
        aid = rec.body.alarm_id
        ref[aid] = ref_step(ref.get(aid, (S.NORMAL, S.NORMAL, 0)), rec.body)
        ref_tick(ref, now)
        changes = lst.apply(rec)
        for rid in changes.added | changes.updated:
            row = lst.get(rid)
            assert row is not None
            reported[rid] = row.state
        for rid in changes.removed:
            reported.pop(rid, None)
        assert all(r.shelved_until_ms > now for r in lst.active() if r.state is S.SHELVED)
        assert model_view(lst) == visible(ref)
        # a view that applied every change holds what the list holds
        assert reported == {r.alarm_id: r.state for r in lst.active()}
        check_indexes(lst)


def snapshot_at(lst: AlarmList, name: str, part_size: int) -> list[Record]:
    return snapshot_records(
        [row.snapshot_event() for row in lst.active()],
        snapshot_id=name,
        server="A",
        seq=max(lst.applied_seq, 0),
        ms=T0,
        snapshot_offset=-1,
        part_size=part_size,
    )


def topic_of(ops: list[Op], every: int, part_size: int) -> tuple[list[Record], list[int]]:
    """A day's topic as the server writes it: changes, and a snapshot every ``every`` changes.

    Returns the records and the offsets where snapshots start.
    """
    changes, _times = stream(ops)
    server = AlarmList(lambda: T0)
    topic: list[Record] = []
    starts: list[int] = []
    for i, rec in enumerate(changes):
        if i % every == 0:
            starts.append(len(topic))
            topic += snapshot_at(server, f"s{i}", part_size)
        server.apply(rec)
        topic.append(rec)
    return topic, starts


def comparable(lst: AlarmList) -> dict[str, tuple[AlarmState, AlarmState, int, Priority, str]]:
    return {
        r.alarm_id: (r.state, r.base, r.shelved_until_ms, r.event.priority, r.event.device)
        for r in lst.active()
    }


topic_args = (ops_strategy, st.integers(1, 12), st.integers(1, 4))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*topic_args, st.data())
def test_replayed_records_are_applied_once(
    ops: list[Op], every: int, part_size: int, data: st.DataObject
) -> None:
    topic, _starts = topic_of(ops, every, part_size)
    once = AlarmList(lambda: T0)
    once.apply_all(topic)
    twice = AlarmList(lambda: T0)
    twice.apply_all(topic + topic)
    assert comparable(twice) == comparable(once)
    assert twice.applied_seq == once.applied_seq == (len(ops) if ops else -1)
    # a broker restart: the consumer reads again from an earlier offset
    stop = data.draw(st.integers(0, len(topic)), label="stopped at")
    back = data.draw(st.integers(0, stop), label="resumed from")
    rewound = AlarmList(lambda: T0)
    rewound.apply_all(topic[:stop] + topic[back:])
    assert comparable(rewound) == comparable(once)
    check_indexes(rewound)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*topic_args, st.data())
def test_a_consumer_starting_at_any_snapshot_ends_with_the_same_list(
    ops: list[Op], every: int, part_size: int, data: st.DataObject
) -> None:
    topic, starts = topic_of(ops, every, part_size)
    whole = AlarmList(lambda: T0)
    whole.apply_all(topic)
    start = data.draw(st.sampled_from(starts), label="snapshot at") if starts else 0
    late = AlarmList(lambda: T0)
    late.apply_all(topic[start:])
    assert comparable(late) == comparable(whole)
    check_indexes(late)


@settings(max_examples=300, deadline=None)
@given(ops_strategy, st.integers(1, 5))
def test_a_snapshot_of_the_list_rebuilds_the_same_list(ops: list[Op], part_size: int) -> None:
    records, times = stream(ops)
    lst = AlarmList(lambda: T0)
    for op, rec, now in zip(ops, records, times, strict=True):
        lst.apply(rec)
        if op.tick:
            lst.tick(now)
    parts = snapshot_at(lst, "snap", part_size)
    fresh = AlarmList(lambda: T0)
    for part in parts:  # through the wire format too
        fresh.apply(decode_record(encode_record(part), "snapshot"))
    assert comparable(fresh) == comparable(lst)
    assert fresh.counts_by_priority() == lst.counts_by_priority()
    assert fresh.unacked_devices() == lst.unacked_devices()
    assert fresh.applied_seq == max(lst.applied_seq, 0)
    check_indexes(fresh)
