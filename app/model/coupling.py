"""Train coupling and uncoupling (联挂解编): the consist state machine and its confirmation.

Every unit (one 6-car train set) reports, once per server cycle in its UDP status
record, the consist it belongs to, its place in it, how many units the consist
has, its coupling state and its cab role (master / slave). This module turns
those reports into one *confirmed* state per consist:

- A **cycle** of a consist is the reports of all its units carrying one status
  sequence number. It is *complete* when every unit the consist claims has
  reported in it, and *agreeing* when all of them report the same coupling
  state; then it yields an :class:`Observation` (the coupling state, or
  ``dual_master`` / ``no_master`` when the consist has two or more master cabs /
  none).
- An observation is **confirmed** after ``confirm`` consecutive complete,
  agreeing cycles that yield it (default 3). A disagreeing or incomplete cycle
  resets the count. Only a confirmed observation moves the state, and only by
  the :data:`TRANSITIONS` table.
- A consist one of whose units has not reported for ``lost_after_ms`` becomes
  ``unknown`` at once: a stale state is never shown as fresh.
- Entering ``dual_master`` or ``no_master`` raises an alarm; it is cleared by
  the next confirmed normal state (not by lost reports: silence proves nothing).

Pure and clock-free: every call is given the time (``now_ms``). See
``docs/coupling.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from app.model.state import CabRole, CouplingState

DEFAULT_CONFIRM: Final = 3
DEFAULT_LOST_AFTER_MS: Final = 1000


class ConsistState(StrEnum):
    UNKNOWN = "unknown"  # nothing confirmed yet, or reports lost
    UNCOUPLED = "uncoupled"
    COUPLING = "coupling"
    COUPLED = "coupled"
    UNCOUPLING = "uncoupling"
    DUAL_MASTER = "dual_master"  # fault: two or more master cabs (双主)
    NO_MASTER = "no_master"  # fault: no master cab


FAULT_STATES: Final = frozenset({ConsistState.DUAL_MASTER, ConsistState.NO_MASTER})


class Observation(StrEnum):
    """What one complete, agreeing cycle says; ``lost`` comes from the timeout instead."""

    UNCOUPLED = "uncoupled"
    COUPLING = "coupling"
    COUPLED = "coupled"
    UNCOUPLING = "uncoupling"
    DUAL_MASTER = "dual_master"
    NO_MASTER = "no_master"
    LOST = "lost"


class Step(StrEnum):
    """How a transition is taken: what the table says of the pair."""

    STAY = "stay"  # the observation confirms the state it is in
    NORMAL = "normal"  # the expected order: uncoupled → coupling → coupled → uncoupling → …
    SKIP = "skip"  # a step was missed (e.g. coupling seen only once it was coupled): taken, counted
    FAULT = "fault"  # into dual_master / no_master: alarm raised
    RECOVER = "recover"  # out of a fault state to a normal one: alarm cleared
    LOST = "lost"  # reports stopped: unknown


@dataclass(frozen=True, slots=True)
class Transition:
    target: ConsistState
    step: Step


C = ConsistState
O = Observation  # noqa: E741

_OBS_STATE: Final = {
    O.UNCOUPLED: C.UNCOUPLED,
    O.COUPLING: C.COUPLING,
    O.COUPLED: C.COUPLED,
    O.UNCOUPLING: C.UNCOUPLING,
    O.DUAL_MASTER: C.DUAL_MASTER,
    O.NO_MASTER: C.NO_MASTER,
    O.LOST: C.UNKNOWN,
}


def _build_table() -> dict[tuple[ConsistState, Observation], Transition]:
    """Every (state, confirmed observation) pair, written out once at import.

    The normal cycle is uncoupled → coupling → coupled → uncoupling → uncoupled;
    a coupling may be abandoned (coupling → uncoupled) and an uncoupling too
    (uncoupling → coupled). Any other jump between normal states is a SKIP: the
    units agree, so it is the truth and is shown, but it is counted and logged.
    """
    table: dict[tuple[ConsistState, Observation], Transition] = {}
    normal_next = {
        (C.UNCOUPLED, C.COUPLING),
        (C.COUPLING, C.COUPLED),
        (C.COUPLED, C.UNCOUPLING),
        (C.UNCOUPLING, C.UNCOUPLED),
        (C.COUPLING, C.UNCOUPLED),  # coupling abandoned
        (C.UNCOUPLING, C.COUPLED),  # uncoupling abandoned
    }
    for state in ConsistState:
        for obs in Observation:
            target = _OBS_STATE[obs]
            if obs is O.LOST:
                step = Step.STAY if state is C.UNKNOWN else Step.LOST
            elif target is state:
                step = Step.STAY
            elif target in FAULT_STATES:
                step = Step.FAULT
            elif state in FAULT_STATES:
                step = Step.RECOVER
            elif state is C.UNKNOWN or (state, target) in normal_next:
                step = Step.NORMAL
            else:
                step = Step.SKIP
            table[(state, obs)] = Transition(target, step)
    return table


#: The consist state machine: (state, confirmed observation) → transition. Complete.
TRANSITIONS: Final = _build_table()


@dataclass(frozen=True, slots=True)
class UnitReport:
    """One unit's coupling fields from one status record."""

    unit: int  # the train id of the unit
    number: str
    seq: int  # the status cycle's sequence number (mod 2**32)
    consist: int  # the consist it says it belongs to (its own id when alone)
    index: int  # its place in the consist, 0 at the head
    count: int  # how many units the consist has (1 when alone)
    coupling: CouplingState
    cab: CabRole


@dataclass(slots=True)
class UnitView:
    unit: int
    number: str
    index: int
    coupling: CouplingState
    cab: CabRole
    last_ms: int  # when it last reported
    since_ms: int  # since when it reports this coupling state and cab role


@dataclass(slots=True)
class ConsistView:
    """A consist as the dispatcher sees it (a live object: read, do not keep)."""

    id: int
    state: ConsistState = ConsistState.UNKNOWN
    since_ms: int = 0
    units: dict[int, UnitView] = field(default_factory=dict)
    #: the observation being confirmed, and how many consecutive cycles have shown it
    pending: Observation | None = None
    pending_count: int = 0
    #: the newest cycle did not agree (or was incomplete): what is shown is not confirmed now
    disagreeing: bool = False
    alarm: ConsistState | None = None  # the fault whose alarm is active

    @property
    def confirmed(self) -> bool:
        """The reports stand behind the shown state right now."""
        return (
            self.state is not ConsistState.UNKNOWN
            and not self.disagreeing
            and self.pending is not None
            and _OBS_STATE[self.pending] is self.state
        )

    @property
    def fault(self) -> bool:
        return self.state in FAULT_STATES

    def ordered_units(self) -> list[UnitView]:
        return sorted(self.units.values(), key=lambda u: (u.index, u.unit))

    @property
    def master(self) -> UnitView | None:
        masters = [u for u in self.ordered_units() if u.cab is CabRole.MASTER]
        return masters[0] if len(masters) == 1 else None


@dataclass(frozen=True, slots=True)
class CouplingAlarm:
    """A consist fault alarm raised (``active``) or cleared."""

    consist: int
    kind: ConsistState  # DUAL_MASTER or NO_MASTER
    active: bool
    text: str
    time_ms: int

    @property
    def code(self) -> str:
        return f"consist_{self.kind.value}:{self.consist}"


@dataclass(slots=True)
class CouplingChanges:
    consists: set[int] = field(default_factory=set)
    removed: set[int] = field(default_factory=set)
    alarms: list[CouplingAlarm] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.consists or self.removed or self.alarms)

    def merge(self, other: CouplingChanges) -> None:
        self.consists |= other.consists
        self.removed |= other.removed
        self.consists -= self.removed
        self.alarms.extend(other.alarms)


@dataclass(slots=True)
class _Group:
    view: ConsistView
    reports: dict[int, UnitReport] = field(default_factory=dict)
    cycle_seq: int | None = None
    cycle_units: set[int] = field(default_factory=set)
    cycle_done: bool = False


@dataclass(slots=True)
class CouplingStats:
    reports: int = 0
    cycles: int = 0
    disagreements: int = 0  # cycles whose units reported different coupling states
    incomplete: int = 0  # cycles that ended without every unit's report
    late: int = 0  # reports of an older cycle than the consist's current one
    bad: int = 0  # reports refused (index or count out of range)
    lost: int = 0  # consists that went unknown for lost reports
    skips: int = 0  # transitions that skipped a step (Step.SKIP)
    transitions: int = 0


def _newer(a: int, b: int) -> bool:
    """``a`` is after ``b`` modulo 2**32."""
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


class CouplingTracker:
    """Every consist's confirmed state, from unit reports. One per server followed."""

    def __init__(
        self, confirm: int = DEFAULT_CONFIRM, lost_after_ms: int = DEFAULT_LOST_AFTER_MS
    ) -> None:
        if confirm < 1:
            raise ValueError(f"confirm must be >= 1 report, got {confirm}")
        if lost_after_ms < 1:
            raise ValueError(f"lost_after_ms must be >= 1, got {lost_after_ms}")
        self.confirm = confirm
        self.lost_after_ms = lost_after_ms
        self.groups: dict[int, _Group] = {}
        self._unit_group: dict[int, int] = {}
        self.stats = CouplingStats()
        self.last_error = ""

    # -- queries --------------------------------------------------------------------------

    def consists(self) -> list[ConsistView]:
        return [g.view for g in sorted(self.groups.values(), key=lambda g: g.view.id)]

    def get(self, consist: int) -> ConsistView | None:
        g = self.groups.get(consist)
        return g.view if g is not None else None

    def consist_of(self, unit: int) -> ConsistView | None:
        cid = self._unit_group.get(unit)
        return self.groups[cid].view if cid is not None else None

    def units(self) -> set[int]:
        """Every unit that has reported, in whichever consist."""
        return set(self._unit_group)

    def active_alarms(self) -> list[CouplingAlarm]:
        return [
            CouplingAlarm(g.view.id, g.view.alarm, True, _alarm_text(g.view, g.view.alarm), 0)
            for g in self.groups.values()
            if g.view.alarm is not None
        ]

    # -- input ----------------------------------------------------------------------------

    def report(self, rec: UnitReport, now_ms: int) -> CouplingChanges:
        """One unit's report. Bad fields are refused (counted, ``last_error``), never raised."""
        ch = CouplingChanges()
        st = self.stats
        if not (1 <= rec.count <= 255 and 0 <= rec.index < rec.count) or rec.consist <= 0:
            st.bad += 1
            self.last_error = (
                f"unit {rec.unit}: consist {rec.consist} index {rec.index} of {rec.count} refused"
            )
            return ch
        st.reports += 1
        old_cid = self._unit_group.get(rec.unit)
        if old_cid is not None and old_cid != rec.consist:
            self._leave(rec.unit, old_cid, ch, now_ms)
        g = self.groups.get(rec.consist)
        if g is None:
            g = self.groups[rec.consist] = _Group(ConsistView(rec.consist, since_ms=now_ms))
        self._unit_group[rec.unit] = rec.consist
        view = g.view
        old = view.units.get(rec.unit)
        if old is None or (old.coupling, old.cab, old.index, old.number) != (
            rec.coupling,
            rec.cab,
            rec.index,
            rec.number,
        ):
            since = (
                old.since_ms
                if old is not None and (old.coupling, old.cab) == (rec.coupling, rec.cab)
                else now_ms
            )
            view.units[rec.unit] = UnitView(
                rec.unit, rec.number, rec.index, rec.coupling, rec.cab, now_ms, since
            )
            ch.consists.add(view.id)
        else:
            old.last_ms = now_ms
        g.reports[rec.unit] = rec
        # the cycle this report belongs to
        if g.cycle_seq is None or _newer(rec.seq, g.cycle_seq):
            if g.cycle_seq is not None and not g.cycle_done:
                st.incomplete += 1
                self._disagree(g, ch)
            g.cycle_seq = rec.seq
            g.cycle_units = {rec.unit}
            g.cycle_done = False
        elif rec.seq == g.cycle_seq:
            g.cycle_units.add(rec.unit)
        else:
            st.late += 1
            return ch
        self._complete(g, now_ms, ch)
        return ch

    def _complete(self, g: _Group, now_ms: int, ch: CouplingChanges) -> None:
        """Evaluate the current cycle once every unit the consist claims has reported in it."""
        if g.cycle_done or not g.reports:
            return
        expected = max(r.count for r in g.reports.values())
        if len(g.cycle_units) >= expected and g.cycle_units >= g.reports.keys():
            g.cycle_done = True
            self._cycle(g, [g.reports[u] for u in g.cycle_units], now_ms, ch)

    def tick(self, now_ms: int) -> CouplingChanges:
        """Mark unknown every consist with a unit silent for ``lost_after_ms``."""
        ch = CouplingChanges()
        for g in self.groups.values():
            view = g.view
            if view.state is ConsistState.UNKNOWN and view.pending is None:
                continue
            if any(now_ms - u.last_ms >= self.lost_after_ms for u in view.units.values()):
                self.stats.lost += 1
                view.pending, view.pending_count = None, 0
                view.disagreeing = False
                self._move(g, Observation.LOST, now_ms, ch)
                ch.consists.add(view.id)
        return ch

    def forget_units(self, units: Iterable[int]) -> CouplingChanges:
        """Units out of service (the train left the line): out of their consists."""
        ch = CouplingChanges()
        for unit in units:
            cid = self._unit_group.get(unit)
            if cid is not None:
                self._leave(unit, cid, ch)
        return ch

    def clear(self) -> CouplingChanges:
        """Forget everything (the server followed changed): every consist unknown again."""
        ch = CouplingChanges(removed=set(self.groups))
        self.groups.clear()
        self._unit_group.clear()
        return ch

    # -- the machine ----------------------------------------------------------------------

    def _leave(self, unit: int, cid: int, ch: CouplingChanges, now_ms: int | None = None) -> None:
        del self._unit_group[unit]
        g = self.groups.get(cid)
        if g is None:
            return
        g.view.units.pop(unit, None)
        g.reports.pop(unit, None)
        g.cycle_units.discard(unit)
        if not g.view.units:
            del self.groups[cid]
            ch.removed.add(cid)
            ch.consists.discard(cid)
            if g.view.alarm is not None:
                ch.alarms.append(
                    CouplingAlarm(cid, g.view.alarm, False, _cleared_text(cid, "consist gone"), 0)
                )
        else:
            ch.consists.add(cid)
            if now_ms is not None:  # the unit that left may be the one the cycle waited for
                self._complete(g, now_ms, ch)

    def _disagree(self, g: _Group, ch: CouplingChanges) -> None:
        view = g.view
        if view.pending is not None or not view.disagreeing:
            ch.consists.add(view.id)
        view.pending, view.pending_count = None, 0
        view.disagreeing = True

    def _cycle(
        self, g: _Group, reports: list[UnitReport], now_ms: int, ch: CouplingChanges
    ) -> None:
        self.stats.cycles += 1
        obs = classify(reports)
        view = g.view
        if obs is None:
            self.stats.disagreements += 1
            self._disagree(g, ch)
            return
        if view.disagreeing:
            ch.consists.add(view.id)
        view.disagreeing = False
        if obs is view.pending:
            view.pending_count += 1
        else:
            view.pending, view.pending_count = obs, 1
            ch.consists.add(view.id)
        if view.pending_count >= self.confirm:
            self._move(g, obs, now_ms, ch)

    def _move(self, g: _Group, obs: Observation, now_ms: int, ch: CouplingChanges) -> None:
        view = g.view
        tr = TRANSITIONS[(view.state, obs)]
        if tr.step is Step.STAY:
            return
        self.stats.transitions += 1
        if tr.step is Step.SKIP:
            self.stats.skips += 1
        view.state = tr.target
        view.since_ms = now_ms
        ch.consists.add(view.id)
        if tr.step is Step.FAULT:
            if view.alarm is tr.target:
                return  # back from unknown into the fault whose alarm is still up
            if view.alarm is not None:
                ch.alarms.append(
                    CouplingAlarm(view.id, view.alarm, False, _cleared_text(view.id, ""), now_ms)
                )
            view.alarm = tr.target
            ch.alarms.append(
                CouplingAlarm(view.id, tr.target, True, _alarm_text(view, tr.target), now_ms)
            )
        elif view.alarm is not None and tr.target not in FAULT_STATES and obs is not O.LOST:
            ch.alarms.append(
                CouplingAlarm(
                    view.id, view.alarm, False, _cleared_text(view.id, tr.target.value), now_ms
                )
            )
            view.alarm = None


def classify(reports: list[UnitReport]) -> Observation | None:
    """One complete cycle's observation, or None when its units disagree."""
    first = reports[0].coupling
    masters = 0
    for r in reports:
        if r.coupling is not first:
            return None
        if r.cab is CabRole.MASTER:
            masters += 1
    if masters > 1:
        return Observation.DUAL_MASTER
    if masters == 0:
        return Observation.NO_MASTER
    return Observation(first.value)


def _names(view: ConsistView) -> str:
    return "+".join(u.number for u in view.ordered_units()) or str(view.id)


def _alarm_text(view: ConsistView, kind: ConsistState) -> str:
    if kind is ConsistState.DUAL_MASTER:
        return f"consist {_names(view)}: two master cabs (双主)"
    return f"consist {_names(view)}: no master cab (无主)"


def _cleared_text(consist: int, why: str) -> str:
    return f"consist {consist}: cab fault cleared" + (f" ({why})" if why else "")
