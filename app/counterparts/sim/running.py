"""Trains running on sight of signals (a part of :class:`~app.counterparts.sim.world.World`).

A train may only pass a signal that shows proceed, stops at every platform for its
dwell, and reverses at the end of a turnback track. Automatic route setting (ARS)
asks the interlocking for the straightest route from the signal ahead of each
train, except from a signal the dispatcher has closed. A train the dispatcher holds
(扣车) does not leave its platform once its dwell is over; a held train on the way
stops at its next platform as usual and stays there, until released. A unit keeps
its distance to a unit ahead of it on the same section.
"""

from __future__ import annotations

import math
from typing import Protocol

from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.units import ServiceSettings, SimTrain, UnitGeometry
from app.model.topology import Direction, TrackKind

STOP_MARGIN_M = 8.0
LOOKAHEAD_SECTIONS = 4
#: the gap a unit keeps to the tail of a unit ahead of it on the same section (m)
FOLLOW_GAP_M = 1.0


class ServiceHooks(Protocol):
    """What running to a timetable changes in how a unit runs (``timetabled.py``)."""

    blocked: set[str]

    def stopped(self, t: SimTrain) -> bool: ...

    def speed_factor(self, t: SimTrain) -> float: ...

    def arrived(self, t: SimTrain) -> float: ...

    def moving(self, t: SimTrain) -> None: ...


class Running(UnitGeometry):
    """Moving the trains and setting routes ahead of them, one step at a time.

    ``service``: the timetable runner, when the world runs to a timetable (it says how
    long a unit dwells, when it stands still, which sections may not be entered)."""

    service: ServiceHooks | None
    settings: ServiceSettings
    now: float
    vmax: float
    _platform_sections: set[str]
    _signal_at: dict[tuple[str, Direction], str]

    def _signal_ahead(self, t: SimTrain) -> str | None:
        return self._signal_at.get((t.section, t.direction))

    def _auto_route_setting(self) -> None:
        il = self.interlocking
        for t in self.trains.values():
            if t.carried_by:
                continue
            sig = self._signal_ahead(t)
            if sig is None or sig in il.closed or il.signal_clear(sig) is not None:
                continue
            routes = il.routes_from(sig)
            if any(r.id in il.routes for r in routes):
                continue
            for route in routes:
                try:
                    il.set_route(route, self.now)
                except Refused:  # not now; try the next one, or again next step
                    continue
                break

    def _authority_m(self, t: SimTrain) -> tuple[float, bool]:
        """Distance the train may run, and whether it ends at a turnback buffer."""
        il = self.interlocking
        positions = il.positions()
        sec = self.line.section_by_id[t.section]
        dist = sec.length_m - t.travelled_m
        section, entry = sec, t.entry_end
        first = True
        ahead = self._unit_ahead_m(t)
        if ahead is not None and ahead < dist - STOP_MARGIN_M:
            return max(0.0, ahead), False
        for _ in range(LOOKAHEAD_SECTIONS):
            if section.id in self._platform_sections and (
                not first
                or t.dwelled_in != section.id
                # held: one that stopped here does not start off (once past its stopping
                # point it has left, and the hold takes effect at the next platform)
                or (t.held and t.travelled_m <= section.length_m - STOP_MARGIN_M + 0.5)
            ):
                return max(0.0, dist - STOP_MARGIN_M), False
            signal = self._signal_at.get((section.id, t.direction))
            if signal is not None and il.signal_clear(signal) is None:
                buffer = section.kind is TrackKind.TURNBACK and not il.routes_from(signal)
                return max(0.0, dist - STOP_MARGIN_M), buffer
            join = self.graph.ahead(section.id, 1 - entry, positions)
            if join is None:
                return max(0.0, dist - STOP_MARGIN_M), section.kind is TrackKind.TURNBACK
            blocked = join.section in il.occupied or (
                self.service is not None and join.section in self.service.blocked
            )
            if blocked and join.section != t.section:
                return max(0.0, dist - STOP_MARGIN_M), False
            section, entry = self.line.section_by_id[join.section], join.end
            dist += section.length_m
            first = False
        return dist, False

    def _unit_ahead_m(self, t: SimTrain) -> float | None:
        """Room to the nearest end of another consist's unit ahead on ``t``'s own section.

        Trains never enter an occupied section, but units of a starting pair, or
        the two halves of a consist just uncoupled, share one.
        """
        own = set(self.units_of(t))
        length = self.line.section_by_id[t.section].length_m
        positions = self.interlocking.positions()
        best: float | None = None
        for other in self.trains.values():
            if other.id in own:
                continue
            head = self.unit_position(other, positions)
            tail = self._walk_back(*head, self.train_length, positions)
            for sec_id, entry_end, travelled in (head, tail):
                if sec_id != t.section:
                    continue
                pos = travelled if entry_end == t.entry_end else length - travelled
                if pos > t.travelled_m:
                    room = pos - t.travelled_m - FOLLOW_GAP_M
                    best = room if best is None else min(best, room)
        return best

    def _move(self, t: SimTrain, dt: float) -> None:
        s = self.settings
        if t.coupling in ("coupling", "uncoupling"):
            t.speed_ms = 0.0  # a consist being coupled or split stands still
            return
        service = self.service
        if service is not None and service.stopped(t):
            t.speed_ms = 0.0  # an incident: it stands where it is
            return
        if t.dwell_left_s > 0:
            t.dwell_left_s = max(0.0, t.dwell_left_s - dt)
            return
        authority, at_buffer = self._authority_m(t)
        if authority <= 0.05 and t.speed_ms <= 0.05:
            t.speed_ms = 0.0
            if t.section in self._platform_sections and t.dwelled_in != t.section:
                t.dwelled_in = t.section
                t.dwell_left_s = s.dwell_s if service is None else service.arrived(t)
            elif at_buffer:
                self._reverse(t)
            return
        vmax = self.vmax if service is None else self.vmax * service.speed_factor(t)
        if service is not None:
            service.moving(t)
        target = min(vmax, math.sqrt(2 * s.brake_ms2 * max(0.0, authority)))
        if t.speed_ms < target:
            t.speed_ms = min(target, t.speed_ms + s.accel_ms2 * dt)
        else:
            t.speed_ms = target
        run = min(t.speed_ms * dt, authority)
        self._advance(t, run)

    def _advance(self, t: SimTrain, run: float) -> None:
        positions = self.interlocking.positions()
        t.travelled_m += run
        sec = self.line.section_by_id[t.section]
        while t.travelled_m > sec.length_m:
            join = self.graph.ahead(sec.id, 1 - t.entry_end, positions)
            if join is None:
                t.travelled_m = sec.length_m
                t.speed_ms = 0.0
                return
            t.travelled_m -= sec.length_m
            t.trail.insert(0, sec.id)
            del t.trail[3:]
            t.section, t.entry_end = join.section, join.end
            sec = self.line.section_by_id[t.section]

    def _reverse(self, t: SimTrain) -> None:
        sec = self.line.section_by_id[t.section]
        t.direction = t.direction.opposite
        t.entry_end = 1 - t.entry_end
        t.travelled_m = max(0.0, sec.length_m - t.travelled_m)
        t.trail.clear()
        t.trip += 1
        t.dwell_left_s = self.settings.turnback_s
        t.dwelled_in = t.section
        if t.consist:
            # the other end leads now: its cab becomes the master
            t.consist.reverse()
            for i, uid in enumerate(t.consist):
                unit = self.trains[uid]
                unit.cab = "master" if i == 0 else "slave"
                unit.trip = t.trip
