"""What the interlocking will refuse, foreseen from the state this workstation shows.

The confirmation dialog says it before the command is sent ("locked by route
R_XPD06_XD0607a: the server will refuse"). The server decides; this is only what
the line state already tells, checked in the interlocking's order (the
simulator's ``interlocking.py`` and ``consists.py``), so that the reason given
is the one the server will give. A :class:`Foreseen` is a code and its
parameters; the views translate it by code (``ui/foresight.py``).

Pure data: no I/O, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.model.commands import CommandOp, parse_train_device
from app.model.state import CouplingState, LineState, SwitchPosition, TrainState
from app.model.topology import Line, Switch


class ForeseenCode(StrEnum):
    """The interlocking's reason codes this workstation can foresee."""

    SWITCH_LOCKED = "switch_locked"  # single-locked (单锁): {switch}, {position}
    ROUTE_LOCKED = "route_locked"  # {switch} locked in route {route}
    SECTION_OCCUPIED = "section_occupied"  # {section} occupied
    SWITCH_MOVING = "switch_moving"  # {switch} moving: cannot be locked
    SWITCH_LOST = "switch_lost"  # {switch} lost its position: no route over it
    ROUTE_SET = "route_set"  # {route} already set
    SIGNAL_CLOSED = "signal_closed"  # entry {signal} closed (封闭)
    SECTION_LOCKED = "section_locked"  # {section} locked in route {route}
    ROUTE_NOT_SET = "route_not_set"  # {route} not set
    ROUTE_IN_USE = "route_in_use"  # a train in {route}
    NO_TRAIN = "no_train"  # {device} not reported
    NOT_STOPPED = "not_stopped"  # train {number} moving


@dataclass(frozen=True, slots=True)
class Foreseen:
    code: ForeseenCode
    params: dict[str, str] = field(default_factory=dict)


def _sections_at(line: Line, sw: Switch) -> tuple[str, ...]:
    return (sw.root, sw.normal, sw.reverse)


def foresee(line: Line, state: LineState, op: CommandOp, device: str) -> Foreseen | None:
    """The refusal the interlocking will give ``op`` on ``device`` in ``state``, if the
    state shows one; None when nothing known stands in the way (or the data is stale)."""
    if not state.synchronised:
        return None
    occupied = {s for s, rec in state.sections.items() if rec.occupied}
    if op in (CommandOp.THROW_NORMAL, CommandOp.THROW_REVERSE, CommandOp.LOCK_SWITCH):
        sw = line.switch_by_id.get(device)
        rec = state.switches.get(device)
        if sw is None or rec is None:
            return None
        if op is CommandOp.LOCK_SWITCH:
            if rec.position is SwitchPosition.MOVING and not rec.locked:
                return Foreseen(ForeseenCode.SWITCH_MOVING, {"switch": device})
            return None
        if rec.locked:
            return Foreseen(
                ForeseenCode.SWITCH_LOCKED, {"switch": device, "position": rec.position.value}
            )
        if rec.route:
            return Foreseen(ForeseenCode.ROUTE_LOCKED, {"switch": device, "route": rec.route})
        busy = [s for s in _sections_at(line, sw) if s in occupied]
        if busy:
            return Foreseen(ForeseenCode.SECTION_OCCUPIED, {"section": busy[0]})
        return None
    if op is CommandOp.SET_ROUTE:
        return _foresee_route(line, state, device, occupied)
    if op is CommandOp.CANCEL_ROUTE:
        route = line.route_by_id.get(device)
        if route is None:
            return None
        if device not in state.routes:
            return Foreseen(ForeseenCode.ROUTE_NOT_SET, {"route": device})
        if any(s in occupied for s in route.sections):
            return Foreseen(ForeseenCode.ROUTE_IN_USE, {"route": device})
        return None
    if op in (
        CommandOp.HOLD_TRAIN,
        CommandOp.RELEASE_TRAIN,
        CommandOp.COUPLE_TRAIN,
        CommandOp.UNCOUPLE_TRAIN,
    ):
        train_id = parse_train_device(device)
        train = state.trains.get(train_id) if train_id is not None else None
        if train is None:
            return Foreseen(ForeseenCode.NO_TRAIN, {"device": device})
        if op in (CommandOp.COUPLE_TRAIN, CommandOp.UNCOUPLE_TRAIN) and train.speed_kmh >= 0.5:
            return Foreseen(ForeseenCode.NOT_STOPPED, {"number": train.number})
    return None


def _foresee_route(
    line: Line, state: LineState, route_id: str, occupied: set[str]
) -> Foreseen | None:
    route = line.route_by_id.get(route_id)
    if route is None:
        return None
    if route_id in state.routes:
        return Foreseen(ForeseenCode.ROUTE_SET, {"route": route_id})
    entry = state.signals.get(route.entry)
    if entry is not None and entry.closed:
        return Foreseen(ForeseenCode.SIGNAL_CLOSED, {"signal": route.entry, "route": route_id})
    for sid in route.sections:
        if sid in occupied:
            return Foreseen(ForeseenCode.SECTION_OCCUPIED, {"section": sid})
        holder = state.sections[sid].route if sid in state.sections else ""
        if holder:
            return Foreseen(ForeseenCode.SECTION_LOCKED, {"section": sid, "route": holder})
    for setting in route.switches:
        rec = state.switches.get(setting.switch)
        sw = line.switch_by_id.get(setting.switch)
        if rec is None or sw is None:
            continue
        if rec.position is SwitchPosition.LOST:
            return Foreseen(ForeseenCode.SWITCH_LOST, {"switch": setting.switch})
        if rec.route:
            return Foreseen(
                ForeseenCode.ROUTE_LOCKED, {"switch": setting.switch, "route": rec.route}
            )
        lies = rec.position.value == setting.position.value
        if rec.locked and not lies:
            return Foreseen(
                ForeseenCode.SWITCH_LOCKED,
                {"switch": setting.switch, "position": rec.position.value},
            )
        if not lies:
            busy = [s for s in _sections_at(line, sw) if s in occupied]
            if busy:
                return Foreseen(ForeseenCode.SECTION_OCCUPIED, {"section": busy[0]})
    return None


#: how far apart two units' heads may stand to be coupled: a train's length plus the
#: interlocking's coupling range (``COUPLE_RANGE_M``, 30 m) and some slack for the
#: position reports' age
COUPLE_REACH_EXTRA_M = 60.0


def _along(line: Line, train: TrainState) -> tuple[float, float, float] | None:
    """(x, y, metres per x unit) of a train's head on the line's drawing."""
    sec = line.section_by_id.get(train.section)
    if sec is None or sec.length_m <= 0:
        return None
    f = min(1.0, max(0.0, train.offset_m / sec.length_m))
    dx = sec.x1 - sec.x0
    per_x = sec.length_m / abs(dx) if dx else 0.0
    return sec.x0 + dx * f, sec.y0 + (sec.y1 - sec.y0) * f, per_x


def couple_partner(
    line: Line, state: LineState, train_id: int, lone: set[int] | None = None
) -> TrainState | None:
    """The unit the interlocking would couple ``train_id`` with, as far as the state
    shows: the nearest other stopped unit running the same way on the same track,
    alone (``lone``: the units known alone; None: judged by their coupling state),
    standing end to end with it (within a train's length and the coupling range)."""
    train = state.trains.get(train_id)
    here = _along(line, train) if train is not None else None
    if train is None or here is None:
        return None
    reach = line.train.length_m + COUPLE_REACH_EXTRA_M
    best: tuple[float, TrainState] | None = None
    for other in state.trains.values():
        if (
            other.id == train_id
            or other.direction is not train.direction
            or other.speed_kmh >= 0.5
            or (lone is not None and other.id not in lone)
            or (lone is None and other.coupling is not CouplingState.UNCOUPLED)
        ):
            continue
        there = _along(line, other)
        if there is None or abs(there[1] - here[1]) > 1.0:
            continue
        metres = abs(there[0] - here[0]) * max(here[2], there[2])
        if metres <= reach and (best is None or metres < best[0]):
            best = (metres, other)
    return best[1] if best is not None else None
