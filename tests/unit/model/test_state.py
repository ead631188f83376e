from __future__ import annotations

import pytest

from app.model.state import (
    Changes,
    LineState,
    SectionState,
    SequenceGap,
    StateDelta,
    StateSnapshot,
    SwitchPosition,
    SwitchState,
    TrainState,
    UnknownDevice,
)
from app.model.topology import (
    ControlZone,
    Direction,
    Line,
    Link,
    Section,
    Switch,
    TrackKind,
    TrainSpec,
)


def tiny_line() -> Line:
    secs = (
        Section("A", TrackKind.MAIN, 300, 0, 10, 0, 0),
        Section("B", TrackKind.MAIN, 300, 10, 20, 0, 0),
        Section("C", TrackKind.MAIN, 300, 20, 30, 0, 0),
        Section("X", TrackKind.CROSSOVER, 100, 20, 30, 0, 10),
    )
    return Line(
        "T",
        "测试",
        "Test",
        "Asia/Shanghai",
        TrainSpec(),
        (),
        (),
        secs,
        (Link("A", "B"),),
        (Switch("W1", "Z1", "B", "C", "X", 20, 0),),
        (),
        (),
        (ControlZone("Z1", "一区", "Zone 1", ("W1",), ()),),
    )


def snap(seq: int) -> StateSnapshot:
    return StateSnapshot(seq, sections=(SectionState("A", occupied=True),))


def test_snapshot_then_deltas_in_order() -> None:
    st = LineState(tiny_line())
    assert not st.synchronised
    assert st.apply_snapshot(snap(10)).full
    assert st.sections["A"].occupied
    ch = st.apply_delta(StateDelta(11, switches=(SwitchState("W1", SwitchPosition.REVERSE),)))
    assert ch.switches == {"W1"} and not ch.full
    assert st.switches["W1"].position is SwitchPosition.REVERSE
    assert st.seq == 11


def test_repeated_delta_is_ignored_and_counted() -> None:
    st = LineState(tiny_line())
    st.apply_snapshot(snap(10))
    st.apply_delta(StateDelta(11, sections=(SectionState("B", occupied=True),)))
    ch = st.apply_delta(StateDelta(11, sections=(SectionState("B", occupied=False),)))
    assert not ch
    assert st.sections["B"].occupied
    assert st.stale_deltas == 1


def test_gap_raises_and_refuses_until_snapshot() -> None:
    st = LineState(tiny_line())
    st.apply_snapshot(snap(10))
    with pytest.raises(SequenceGap) as info:
        st.apply_delta(StateDelta(12))
    assert (info.value.expected, info.value.got) == (11, 12)
    assert not st.synchronised
    with pytest.raises(SequenceGap):
        st.apply_delta(StateDelta(13))
    st.apply_snapshot(snap(13))
    st.apply_delta(StateDelta(14))
    assert st.seq == 14


def test_delta_before_any_snapshot_is_a_gap() -> None:
    with pytest.raises(SequenceGap):
        LineState(tiny_line()).apply_delta(StateDelta(1))


def test_unknown_device_is_refused_whole() -> None:
    st = LineState(tiny_line())
    st.apply_snapshot(snap(1))
    with pytest.raises(UnknownDevice, match="section 'NOPE'"):
        st.apply_delta(StateDelta(2, sections=(SectionState("B", True), SectionState("NOPE"))))
    assert not st.sections["B"].occupied
    assert st.unknown_records == 1


def test_trains_move_and_leave() -> None:
    st = LineState(tiny_line())
    st.apply_snapshot(StateSnapshot(1, trains=(TrainState(7, "0701", "A", 5, 0, Direction.DOWN),)))
    ch = st.apply_train(TrainState(7, "0701", "B", 5, 40, Direction.DOWN))
    assert ch.trains == {7}
    assert st.trains[7].section == "B"
    assert not st.apply_train(TrainState(7, "0701", "B", 5, 40, Direction.DOWN))
    assert not st.apply_train(TrainState(8, "0801", "NOWHERE", 5, 40, Direction.DOWN))
    ch = st.apply_delta(StateDelta(2, trains_removed=(7,)))
    assert ch.trains_removed == {7} and 7 not in st.trains


def test_changes_merge_keeps_removal_last_word() -> None:
    a = Changes(trains={1, 2})
    a.merge(Changes(trains_removed={2}))
    assert a.trains == {1} and a.trains_removed == {2}
    a.merge(Changes(trains={2}))
    assert a.trains == {1, 2} and not a.trains_removed
