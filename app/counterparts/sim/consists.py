"""Coupling (联挂) and uncoupling (解编) units, and the coupling reports they send
(a part of :class:`~app.counterparts.sim.world.World`; ``docs/coupling.md``).

Two units standing still end to end on the same track may be coupled into one
consist. Coupling and uncoupling take ``couple_s``; a consist stands still
meanwhile. The front unit's cab is the master; a turnback reverses the order and
moves the master to the new front. Coupling faults (flicker, disagreeing units, two
masters, no master, lost reports) are injected into the *reports*
(:meth:`Consists.unit_reports`), not into the consist itself: the world keeps the
truth, the reports lie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.units import ServiceSettings, SimTrain, UnitGeometry
from app.model.state import CabRole, CouplingState, TrainState

#: how close (m) two units must stand, end to end, to be coupled
COUPLE_RANGE_M = 30.0
#: faults that can be injected into a consist's coupling reports
COUPLING_FAULTS = ("flicker", "disagree", "dual_master", "no_master", "lost", "none")
_CYCLE = ("uncoupled", "coupling", "coupled", "uncoupling")


@dataclass(frozen=True, slots=True)
class UnitReport:
    """What one unit reports this cycle (after any injected fault)."""

    train: TrainState
    consist: int
    index: int
    count: int
    coupling: CouplingState
    cab: CabRole


@dataclass(slots=True)
class CouplingFault:
    kind: str
    until: float = 0.0  # simulated time it ends (0: until cleared)


class Consists(UnitGeometry):
    """Consists made and split on command, and each unit's report every cycle."""

    settings: ServiceSettings
    now: float
    coupling_faults: dict[int, CouplingFault]
    report_cycle: int

    def couple_train(self, device: str) -> str:
        """Couple unit ``train:<id>`` with the unit standing end to end with it.

        Both must be alone, stopped, running the same way, within
        :data:`COUPLE_RANGE_M` of each other on the same track. Returns the
        partner's id as text; raises :class:`Refused` otherwise.
        """
        unit = self._train(device)
        if unit.carried_by or unit.consist or unit.coupling != "uncoupled":
            raise Refused.of("already_coupled", train=unit.number, coupling=unit.coupling)
        if unit.speed_ms > 0.05:
            raise Refused.of("train_moving", train=unit.number)
        head = self.unit_position(unit)
        tail = self._walk_back(*head, self.train_length)
        found: tuple[float, SimTrain, bool] | None = None  # (gap, partner, partner is ahead)
        for other in self.trains.values():
            if (
                other.id == unit.id
                or other.carried_by
                or other.consist
                or other.coupling != "uncoupled"
                or other.direction is not unit.direction
                or other.speed_ms > 0.05
            ):
                continue
            o_head = self.unit_position(other)
            o_tail = self._walk_back(*o_head, self.train_length)
            for gap, ahead in (
                (self._gap_behind(o_tail, head, COUPLE_RANGE_M), True),
                (self._gap_behind(tail, o_head, COUPLE_RANGE_M), False),
            ):
                if gap is not None and (found is None or gap < found[0]):
                    found = (gap, other, ahead)
        if found is None:
            raise Refused.of("no_partner", train=unit.number, metres=f"{COUPLE_RANGE_M:g}")
        _, partner, partner_ahead = found
        front, rear = (partner, unit) if partner_ahead else (unit, partner)
        front.consist = [front.id, rear.id]
        rear.carried_by = front.id
        rear.speed_ms = front.speed_ms = 0.0
        rear.trail.clear()
        front.held = front.held or rear.held
        rear.held = False
        for u, cab in ((front, "master"), (rear, "slave")):
            u.coupling = "coupling"
            u.cab = cab
        front.phase_until = self.now + self.settings.couple_s
        return str(partner.id)

    def uncouple_train(self, device: str) -> str:
        """Split the consist of unit ``train:<id>`` (解编): it must be coupled and stopped."""
        unit = self._train(device)
        body = self.body(unit)
        if not body.consist:
            raise Refused.of("not_coupled", train=unit.number)
        if body.coupling != "coupled":
            raise Refused.of("coupling_in_progress", train=unit.number, coupling=body.coupling)
        if body.speed_ms > 0.05:
            raise Refused.of("consist_moving", train=unit.number)
        for uid in body.consist:
            self.trains[uid].coupling = "uncoupling"
        body.phase_until = self.now + self.settings.couple_s
        return ""

    def _coupling_phases(self) -> None:
        for uid, fault in list(self.coupling_faults.items()):
            if fault.until and self.now >= fault.until:
                del self.coupling_faults[uid]
        for body in list(self.trains.values()):
            if not body.consist or body.phase_until <= 0 or self.now < body.phase_until:
                continue
            body.phase_until = 0.0
            if body.coupling == "coupling":
                for uid in body.consist:
                    self.trains[uid].coupling = "coupled"
            elif body.coupling == "uncoupling":
                self._split(body)

    def _split(self, body: SimTrain) -> None:
        units = [self.trains[uid] for uid in body.consist]
        places = {u.id: self.unit_position(u) for u in units}
        held = body.held
        body.consist = []
        for i, u in enumerate(units):
            section, entry_end, travelled = places[u.id]
            u.section, u.entry_end, u.travelled_m = section, entry_end, travelled
            u.direction = body.direction
            u.carried_by = 0
            u.speed_ms = 0.0
            u.coupling, u.cab = "uncoupled", "master"
            u.held = held
            if i > 0:
                u.trail = []
                u.dwelled_in = section
                u.dwell_left_s = self.settings.dwell_s

    # -- fault injection into the coupling reports ------------------------------------

    def inject_fault(self, device: str, arg: str) -> str:
        """Make the reports of ``train:<id>``'s consist lie: ``KIND[:SECONDS]``.

        Kinds: flicker (the coupling state alternates every cycle), disagree (the
        last unit reports another state than the others), dual_master, no_master,
        lost (no reports at all), none (clears). SECONDS ends it by itself.
        """
        unit = self._train(device)
        kind, _, seconds = arg.partition(":")
        if kind not in COUPLING_FAULTS:
            raise Refused.of("bad_fault", fault=kind, faults=", ".join(COUPLING_FAULTS))
        try:
            duration = float(seconds) if seconds else 0.0
        except ValueError:
            duration = -1.0
        if not (duration >= 0 and math.isfinite(duration)):
            raise Refused.of("bad_fault_duration", value=seconds)
        if kind == "disagree" and len(self.units_of(unit)) < 2:
            raise Refused.of("disagree_needs_consist")
        if kind == "none":
            return "" if self.coupling_faults.pop(unit.id, None) else "no fault was injected"
        until = self.now + duration if duration else 0.0
        self.coupling_faults[unit.id] = CouplingFault(kind, until)
        return ""

    def _fault_of(self, units: list[int]) -> str:
        for uid in units:
            fault = self.coupling_faults.get(uid)
            if fault is None:
                continue
            if fault.until and self.now >= fault.until:
                del self.coupling_faults[uid]
                continue
            return fault.kind
        return ""

    def unit_reports(self) -> list[UnitReport]:
        """Every unit's report for this cycle, faults applied; lost ones left out."""
        self.report_cycle += 1
        out: list[UnitReport] = []
        for t in self.trains.values():
            if t.carried_by:
                continue
            units = self.units_of(t)
            fault = self._fault_of(units)
            if fault == "lost":
                continue
            count = len(units)
            for index, uid in enumerate(units):
                unit = self.trains[uid]
                coupling, cab = unit.coupling, unit.cab
                other = _CYCLE[(_CYCLE.index(coupling) + 1) % len(_CYCLE)]
                if (fault == "flicker" and self.report_cycle % 2) or (
                    fault == "disagree" and index == count - 1
                ):
                    coupling = other
                elif fault == "dual_master":
                    cab = "master"
                elif fault == "no_master":
                    cab = "slave"
                out.append(
                    UnitReport(
                        self.train_state(unit),
                        t.id,
                        index,
                        count,
                        CouplingState(coupling),
                        CabRole(cab),
                    )
                )
        return out
