"""The consist state machine: the table, confirmation, disagreement, faults, lost reports."""

from __future__ import annotations

import pytest

from app.model.coupling import (
    FAULT_STATES,
    TRANSITIONS,
    ConsistState,
    CouplingTracker,
    Observation,
    Step,
    UnitReport,
)
from app.model.state import CabRole, CouplingState

C = ConsistState
Cp = CouplingState
M, S = CabRole.MASTER, CabRole.SLAVE


def pair(
    t: CouplingTracker,
    seq: int,
    now: int,
    a: tuple[CouplingState, CabRole],
    b: tuple[CouplingState, CabRole],
    consist: int = 1,
) -> None:
    t.report(UnitReport(1, "0101", seq, consist, 0, 2, *a), now)
    t.report(UnitReport(2, "0201", seq, consist, 1, 2, *b), now)


def test_table_is_complete_and_its_targets_follow_the_observation() -> None:
    assert set(TRANSITIONS) == {(s, o) for s in ConsistState for o in Observation}
    for (state, obs), tr in TRANSITIONS.items():
        assert (tr.step is Step.STAY) == (tr.target is state)
        if obs is Observation.LOST:
            assert tr.target is C.UNKNOWN
        else:
            assert tr.target.value == obs.value
        assert (tr.step is Step.FAULT) == (tr.target in FAULT_STATES and tr.target is not state)


def test_normal_cycle_is_normal_and_jumps_are_skips() -> None:
    for a, b in [
        (C.UNCOUPLED, C.COUPLING),
        (C.COUPLING, C.COUPLED),
        (C.COUPLED, C.UNCOUPLING),
        (C.UNCOUPLING, C.UNCOUPLED),
    ]:
        assert TRANSITIONS[(a, Observation(b.value))].step is Step.NORMAL
    assert TRANSITIONS[(C.UNCOUPLED, Observation.COUPLED)].step is Step.SKIP
    assert TRANSITIONS[(C.COUPLED, Observation.UNCOUPLED)].step is Step.SKIP
    assert TRANSITIONS[(C.DUAL_MASTER, Observation.COUPLED)].step is Step.RECOVER


def test_a_state_is_shown_only_after_n_agreeing_cycles() -> None:
    t = CouplingTracker(confirm=3)
    for seq in (1, 2):
        pair(t, seq, seq * 100, (Cp.COUPLED, M), (Cp.COUPLED, S))
        assert t.get(1) is not None and t.get(1).state is C.UNKNOWN  # type: ignore[union-attr]
    pair(t, 3, 300, (Cp.COUPLED, M), (Cp.COUPLED, S))
    view = t.get(1)
    assert view is not None and view.state is C.COUPLED and view.confirmed
    assert view.since_ms == 300 and view.master is not None and view.master.unit == 1


def test_a_disagreeing_cycle_resets_the_count() -> None:
    t = CouplingTracker(confirm=3)
    pair(t, 1, 0, (Cp.COUPLED, M), (Cp.COUPLED, S))
    pair(t, 2, 100, (Cp.COUPLED, M), (Cp.COUPLED, S))
    pair(t, 3, 200, (Cp.COUPLED, M), (Cp.COUPLING, S))  # the units disagree
    view = t.get(1)
    assert view is not None and view.disagreeing and view.pending_count == 0
    pair(t, 4, 300, (Cp.COUPLED, M), (Cp.COUPLED, S))
    pair(t, 5, 400, (Cp.COUPLED, M), (Cp.COUPLED, S))
    assert view.state is C.UNKNOWN
    pair(t, 6, 500, (Cp.COUPLED, M), (Cp.COUPLED, S))
    assert view.state is C.COUPLED
    assert t.stats.disagreements == 1


def test_an_incomplete_cycle_resets_the_count() -> None:
    t = CouplingTracker(confirm=2)
    pair(t, 1, 0, (Cp.COUPLED, M), (Cp.COUPLED, S))
    t.report(UnitReport(1, "0101", 2, 1, 0, 2, Cp.COUPLED, M), 100)  # unit 2's report lost
    pair(t, 3, 200, (Cp.COUPLED, M), (Cp.COUPLED, S))
    view = t.get(1)
    assert view is not None and view.state is C.UNKNOWN and t.stats.incomplete == 1
    pair(t, 4, 300, (Cp.COUPLED, M), (Cp.COUPLED, S))
    assert view.state is C.COUPLED


def test_flicker_never_reaches_the_state() -> None:
    t = CouplingTracker(confirm=3)
    for seq in range(1, 4):
        pair(t, seq, seq * 100, (Cp.COUPLED, M), (Cp.COUPLED, S))
    view = t.get(1)
    assert view is not None and view.state is C.COUPLED
    for seq in range(4, 40):
        flick = Cp.UNCOUPLING if seq % 2 else Cp.COUPLED
        pair(t, seq, seq * 100, (flick, M), (flick, S))
        assert view.state is C.COUPLED


def test_dual_master_and_no_master_raise_and_clear_an_alarm() -> None:
    t = CouplingTracker(confirm=2)
    alarms = []
    for seq in range(1, 3):
        pair(t, seq, seq, (Cp.COUPLED, M), (Cp.COUPLED, S))
    for seq in range(3, 5):
        t_ch = t.report(UnitReport(1, "0101", seq, 1, 0, 2, Cp.COUPLED, M), seq)
        t_ch.merge(t.report(UnitReport(2, "0201", seq, 1, 1, 2, Cp.COUPLED, M), seq))
        alarms += t_ch.alarms
    view = t.get(1)
    assert view is not None and view.state is C.DUAL_MASTER and view.fault
    assert [(a.kind, a.active) for a in alarms] == [(C.DUAL_MASTER, True)]
    assert "双主" in alarms[0].text and alarms[0].code == "consist_dual_master:1"
    for seq in range(5, 7):
        ch = t.report(UnitReport(1, "0101", seq, 1, 0, 2, Cp.COUPLED, S), seq)
        ch.merge(t.report(UnitReport(2, "0201", seq, 1, 1, 2, Cp.COUPLED, S), seq))
        alarms += ch.alarms
    assert view.state is C.NO_MASTER
    assert [(a.kind, a.active) for a in alarms[1:]] == [
        (C.DUAL_MASTER, False),
        (C.NO_MASTER, True),
    ]
    for seq in range(7, 9):
        ch = t.report(UnitReport(1, "0101", seq, 1, 0, 2, Cp.COUPLED, M), seq)
        ch.merge(t.report(UnitReport(2, "0201", seq, 1, 1, 2, Cp.COUPLED, S), seq))
        alarms += ch.alarms
    assert view.state is C.COUPLED and view.alarm is None
    assert (alarms[-1].kind, alarms[-1].active) == (C.NO_MASTER, False)


def test_lost_reports_make_the_consist_unknown_and_keep_the_alarm() -> None:
    t = CouplingTracker(confirm=1, lost_after_ms=1000)
    pair(t, 1, 0, (Cp.COUPLED, M), (Cp.COUPLED, M))
    view = t.get(1)
    assert view is not None and view.state is C.DUAL_MASTER
    assert not t.tick(999).consists
    ch = t.tick(1000)
    assert view.state is C.UNKNOWN and 1 in ch.consists and not ch.alarms
    assert view.alarm is C.DUAL_MASTER  # silence proves nothing
    assert not t.tick(5000)  # unknown stays unknown, no new change
    pair(t, 2, 5000, (Cp.COUPLED, M), (Cp.COUPLED, M))
    assert view.state is C.DUAL_MASTER and view.alarm is C.DUAL_MASTER


def test_one_silent_unit_is_enough_for_unknown() -> None:
    t = CouplingTracker(confirm=1, lost_after_ms=500)
    pair(t, 1, 0, (Cp.COUPLED, M), (Cp.COUPLED, S))
    for seq in range(2, 10):
        t.report(UnitReport(1, "0101", seq, 1, 0, 2, Cp.COUPLED, M), seq * 100)
        t.tick(seq * 100)
    view = t.get(1)
    assert view is not None and view.state is C.UNKNOWN


def test_couple_and_uncouple_move_units_between_consists() -> None:
    t = CouplingTracker(confirm=1)
    t.report(UnitReport(1, "0101", 1, 1, 0, 1, Cp.UNCOUPLED, M), 0)
    t.report(UnitReport(2, "0201", 1, 2, 0, 1, Cp.UNCOUPLED, M), 0)
    assert [v.state for v in t.consists()] == [C.UNCOUPLED, C.UNCOUPLED]
    ch = t.report(UnitReport(1, "0101", 2, 1, 0, 2, Cp.COUPLING, M), 100)
    ch.merge(t.report(UnitReport(2, "0201", 2, 1, 1, 2, Cp.COUPLING, S), 100))
    assert ch.removed == {2}
    assert [(v.id, v.state, len(v.units)) for v in t.consists()] == [(1, C.COUPLING, 2)]
    pair(t, 3, 200, (Cp.COUPLED, M), (Cp.COUPLED, S))
    pair(t, 4, 300, (Cp.UNCOUPLING, M), (Cp.UNCOUPLING, S))
    t.report(UnitReport(1, "0101", 5, 1, 0, 1, Cp.UNCOUPLED, M), 400)
    t.report(UnitReport(2, "0201", 5, 2, 0, 1, Cp.UNCOUPLED, M), 400)
    assert [(v.id, v.state, len(v.units)) for v in t.consists()] == [
        (1, C.UNCOUPLED, 1),
        (2, C.UNCOUPLED, 1),  # a new consist, confirmed by its own report (N = 1)
    ]
    assert t.stats.skips == 0


@pytest.mark.parametrize(
    ("consist", "index", "count"), [(0, 0, 1), (1, 1, 1), (1, 0, 0), (1, -1, 2), (1, 0, 256)]
)
def test_bad_reports_are_refused_and_counted(consist: int, index: int, count: int) -> None:
    t = CouplingTracker()
    ch = t.report(UnitReport(7, "0701", 1, consist, index, count, Cp.UNCOUPLED, M), 0)
    assert not ch and t.stats.bad == 1 and "unit 7" in t.last_error and not t.groups


def test_late_reports_are_ignored() -> None:
    t = CouplingTracker(confirm=1)
    pair(t, 10, 0, (Cp.COUPLED, M), (Cp.COUPLED, S))
    t.report(UnitReport(1, "0101", 9, 1, 0, 2, Cp.UNCOUPLED, M), 0)
    assert t.stats.late == 1


def test_sequence_numbers_wrap() -> None:
    t = CouplingTracker(confirm=2)
    pair(t, 0xFFFFFFFF, 0, (Cp.COUPLED, M), (Cp.COUPLED, S))
    pair(t, 0, 100, (Cp.COUPLED, M), (Cp.COUPLED, S))
    view = t.get(1)
    assert view is not None and view.state is C.COUPLED


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="confirm"):
        CouplingTracker(confirm=0)
    with pytest.raises(ValueError, match="lost_after_ms"):
        CouplingTracker(lost_after_ms=0)


def test_forget_units_and_clear() -> None:
    t = CouplingTracker(confirm=1)
    pair(t, 1, 0, (Cp.COUPLED, M), (Cp.COUPLED, M))
    ch = t.forget_units([1, 2])
    assert ch.removed == {1} and [(a.kind, a.active) for a in ch.alarms] == [(C.DUAL_MASTER, False)]
    pair(t, 2, 0, (Cp.COUPLED, M), (Cp.COUPLED, S))
    assert t.clear().removed == {1} and not t.consists()
