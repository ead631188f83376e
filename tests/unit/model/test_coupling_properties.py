"""Property tests of the consist state machine (hypothesis).

- no state reaches the dispatcher without N consecutive complete, agreeing cycles
  that show it (``unknown`` excepted: it comes from silence);
- whatever the reports, every state change is a pair of the table;
- two masters confirmed always raise the alarm; it is up while the state is a fault.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.coupling import (
    TRANSITIONS,
    ConsistState,
    CouplingTracker,
    Observation,
    Step,
    UnitReport,
    classify,
)
from app.model.state import CabRole, CouplingState


@dataclass(frozen=True)
class Cycle:
    reports: tuple[tuple[CouplingState, CabRole], ...]  # per unit, unit 1 first
    lost: tuple[bool, ...]  # per unit: its report did not arrive
    gap_ms: int  # time since the previous cycle


def cycles(units: int) -> st.SearchStrategy[list[Cycle]]:
    report = st.tuples(st.sampled_from(CouplingState), st.sampled_from(CabRole))
    # mostly steady runs, so that states do get confirmed
    steady = st.tuples(st.sampled_from(CouplingState), st.sampled_from(CabRole)).map(
        lambda r: tuple([r] + [(r[0], CabRole.SLAVE)] * (units - 1))
    )
    return st.lists(
        st.builds(
            Cycle,
            st.one_of(steady, st.tuples(*[report] * units)),
            st.tuples(*[st.booleans() if units > 1 else st.just(False)] * units).map(
                lambda t: t if not all(t) else (False, *t[1:])
            ),
            st.sampled_from([100, 100, 100, 100, 400, 2500]),
        ),
        max_size=60,
    )


def run(confirm: int, units: int, script: list[Cycle]) -> None:
    t = CouplingTracker(confirm=confirm, lost_after_ms=1000)
    now = 0
    history: list[Observation | None] = []  # per evaluated cycle: its observation
    alarm_up = False
    for seq, cyc in enumerate(script, start=1):
        now += cyc.gap_ms
        ch = t.tick(now)
        sent = [
            UnitReport(u + 1, f"{u + 1:02d}01", seq, 1, u, units, *cyc.reports[u])
            for u in range(units)
            if not (cyc.lost[u] and units > 1)
        ]
        before = t.get(1).state if t.get(1) else ConsistState.UNKNOWN
        for rec in sent:
            ch.merge(t.report(rec, now))
        view = t.get(1)
        assert view is not None
        complete = len(sent) == units
        history.append(classify(sent) if complete else None)
        # every change is a pair of the table
        if view.state is not before:
            obs = history[-1]
            assert obs is not None, "a state changed on a cycle that did not agree"
            assert (before, obs) in TRANSITIONS
            assert TRANSITIONS[(before, obs)].target is view.state
            assert TRANSITIONS[(before, obs)].step is not Step.STAY
            # ... and only after N consecutive agreeing cycles that showed it
            last = history[-confirm:]
            assert len(last) == confirm and all(o is obs for o in last), (before, view.state, last)
        for alarm in ch.alarms:
            if alarm.kind is ConsistState.DUAL_MASTER:
                alarm_up = alarm.active
        if view.state is ConsistState.DUAL_MASTER:
            assert view.alarm is ConsistState.DUAL_MASTER and alarm_up
        if len(history) >= confirm and all(
            o is Observation.DUAL_MASTER for o in history[-confirm:]
        ):
            assert view.state is ConsistState.DUAL_MASTER and alarm_up
        if view.state in (ConsistState.DUAL_MASTER, ConsistState.NO_MASTER):
            assert view.alarm is view.state


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4), cycles(2))
def test_two_unit_consists(confirm: int, script: list[Cycle]) -> None:
    run(confirm, 2, script)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), cycles(1))
def test_lone_units(confirm: int, script: list[Cycle]) -> None:
    run(confirm, 1, script)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), cycles(3))
def test_three_unit_consists(confirm: int, script: list[Cycle]) -> None:
    run(confirm, 3, script)
