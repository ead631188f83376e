"""ISA-18.2 alarm states and the transition table that moves an alarm between them.

Pure: no Kafka, no Qt, no clock. :mod:`app.alarms.model` keeps the list and
applies :func:`step` to each alarm.

**States.** Four *base* states follow the process and the operator (NORMAL,
UNACK_ACTIVE, ACKED_ACTIVE, UNACK_RTN); three *hiding* states take an alarm
off the operator's list (SHELVED by a dispatcher, SUPPRESSED by design,
OUT_OF_SERVICE). Entering a hiding state remembers the base state; while
hidden, raise and clear move the remembered state through the base rows
(``TRACK``) and an acknowledgement is refused (nobody can see the alarm).

**Leaving** (unshelve, the shelve timer, unsuppress, return to service) follows
ISA-18.2's state diagram: back to UNACK_ACTIVE when the condition is present
(nobody has looked at it since it was hidden: it is annunciated again), to
NORMAL when it has cleared (:data:`UNHIDDEN`). What was acknowledged before
hiding does not carry over.

**Table.** :data:`TRANSITIONS` maps every ``(state, event)`` pair to a
:class:`Transition`; pairs with no meaning are in it too, as ``IGNORE`` with a
reason (:class:`Ignored`). ``docs/alarms.md`` shows the same table (a unit
test compares them).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.alarms.records import AlarmEvent, EventType


class AlarmState(enum.StrEnum):
    NORMAL = "normal"
    UNACK_ACTIVE = "unack_active"  # active, not acknowledged
    ACKED_ACTIVE = "acked_active"  # active, acknowledged
    UNACK_RTN = "unack_rtn"  # returned to normal, not acknowledged
    SHELVED = "shelved"  # hidden by a dispatcher until a time
    SUPPRESSED = "suppressed"  # suppressed by design (e.g. device in maintenance)
    OUT_OF_SERVICE = "out_of_service"


BASE_STATES = frozenset(
    {AlarmState.NORMAL, AlarmState.UNACK_ACTIVE, AlarmState.ACKED_ACTIVE, AlarmState.UNACK_RTN}
)
HIDDEN_STATES = frozenset({AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE})
UNACKED_STATES = frozenset({AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN})
#: Shown on the operator's list (and counted in ``PriorityCounts.total``).
SHOWN_STATES = frozenset({AlarmState.UNACK_ACTIVE, AlarmState.ACKED_ACTIVE, AlarmState.UNACK_RTN})


class Action(enum.StrEnum):
    MOVE = "move"  # go to ``target`` (from hiding state to hiding state: remembered state kept)
    HIDE = "hide"  # remember the current (base) state, go to ``target`` (a hiding state)
    UNHIDE = "unhide"  # leave hiding: UNHIDDEN[remembered state] (ISA-18.2)
    TRACK = "track"  # stay hidden; the remembered state moves by its base row
    SYNC = "sync"  # take the state the event's active/acked flags give (the server's word)
    IGNORE = "ignore"  # no effect; counted with ``reason``


class Ignored(enum.StrEnum):
    """Why an event changed nothing (the list counts each under its reason)."""

    NOT_ACTIVE = "not active"
    NOTHING_TO_ACK = "nothing to acknowledge"
    ALREADY_ACTIVE = "already active"
    ALREADY_ACKED = "already acknowledged"
    ALREADY_CLEARED = "already cleared"
    NOT_SHELVED = "not shelved"
    NOT_SUPPRESSED = "not suppressed"
    IN_SERVICE = "in service"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    ALREADY_SUPPRESSED = "already suppressed"
    OUT_OF_SERVICE = "out of service"
    ALREADY_OUT_OF_SERVICE = "already out of service"


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    target: AlarmState | None = None  # MOVE and HIDE only
    reason: Ignored | None = None  # IGNORE only


def _move(target: AlarmState) -> Transition:
    return Transition(Action.MOVE, target)


def _hide(target: AlarmState) -> Transition:
    return Transition(Action.HIDE, target)


def _ignore(reason: Ignored) -> Transition:
    return Transition(Action.IGNORE, reason=reason)


_UNHIDE = Transition(Action.UNHIDE)
_TRACK = Transition(Action.TRACK)
# The list's own shelve timer may end a shelve before the server's UNSHELVE arrives
# (clocks differ by a little); the server's flags then settle where the alarm stands.
_SYNC = Transition(Action.SYNC)

S = AlarmState
E = EventType
I = Ignored  # noqa: E741

_ROWS: dict[AlarmState, dict[EventType, Transition]] = {
    S.NORMAL: {
        E.RAISE: _move(S.UNACK_ACTIVE),
        E.CLEAR: _ignore(I.NOT_ACTIVE),
        E.ACK: _ignore(I.NOTHING_TO_ACK),
        E.SHELVE: _hide(S.SHELVED),
        E.UNSHELVE: _SYNC,
        E.SUPPRESS: _hide(S.SUPPRESSED),
        E.UNSUPPRESS: _ignore(I.NOT_SUPPRESSED),
        E.OUT_OF_SERVICE: _hide(S.OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _ignore(I.IN_SERVICE),
    },
    S.UNACK_ACTIVE: {
        E.RAISE: _ignore(I.ALREADY_ACTIVE),
        E.CLEAR: _move(S.UNACK_RTN),
        E.ACK: _move(S.ACKED_ACTIVE),
        E.SHELVE: _hide(S.SHELVED),
        E.UNSHELVE: _SYNC,
        E.SUPPRESS: _hide(S.SUPPRESSED),
        E.UNSUPPRESS: _ignore(I.NOT_SUPPRESSED),
        E.OUT_OF_SERVICE: _hide(S.OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _ignore(I.IN_SERVICE),
    },
    S.ACKED_ACTIVE: {
        E.RAISE: _ignore(I.ALREADY_ACTIVE),  # no re-alarm: the server decides raises
        E.CLEAR: _move(S.NORMAL),  # not latched
        E.ACK: _ignore(I.ALREADY_ACKED),
        E.SHELVE: _hide(S.SHELVED),
        E.UNSHELVE: _SYNC,
        E.SUPPRESS: _hide(S.SUPPRESSED),
        E.UNSUPPRESS: _ignore(I.NOT_SUPPRESSED),
        E.OUT_OF_SERVICE: _hide(S.OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _ignore(I.IN_SERVICE),
    },
    S.UNACK_RTN: {
        E.RAISE: _move(S.UNACK_ACTIVE),
        E.CLEAR: _ignore(I.ALREADY_CLEARED),
        E.ACK: _move(S.NORMAL),
        E.SHELVE: _hide(S.SHELVED),
        E.UNSHELVE: _SYNC,
        E.SUPPRESS: _hide(S.SUPPRESSED),
        E.UNSUPPRESS: _ignore(I.NOT_SUPPRESSED),
        E.OUT_OF_SERVICE: _hide(S.OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _ignore(I.IN_SERVICE),
    },
    S.SHELVED: {
        E.RAISE: _TRACK,  # timed shelving, not one-shot: a return stays shelved
        E.CLEAR: _TRACK,
        E.ACK: _ignore(I.SHELVED),  # acknowledged when it is back on the list
        E.SHELVE: _move(S.SHELVED),  # shelved again: the new time counts
        E.UNSHELVE: _UNHIDE,
        E.SUPPRESS: _move(S.SUPPRESSED),  # suppression replaces shelving
        E.UNSUPPRESS: _ignore(I.NOT_SUPPRESSED),
        E.OUT_OF_SERVICE: _move(S.OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _ignore(I.IN_SERVICE),
    },
    S.SUPPRESSED: {
        E.RAISE: _TRACK,
        E.CLEAR: _TRACK,
        E.ACK: _ignore(I.SUPPRESSED),
        E.SHELVE: _ignore(I.SUPPRESSED),
        E.UNSHELVE: _ignore(I.NOT_SHELVED),
        E.SUPPRESS: _ignore(I.ALREADY_SUPPRESSED),
        E.UNSUPPRESS: _UNHIDE,
        E.OUT_OF_SERVICE: _move(S.OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _ignore(I.IN_SERVICE),
    },
    S.OUT_OF_SERVICE: {
        E.RAISE: _TRACK,
        E.CLEAR: _TRACK,
        E.ACK: _ignore(I.OUT_OF_SERVICE),
        E.SHELVE: _ignore(I.OUT_OF_SERVICE),
        E.UNSHELVE: _ignore(I.NOT_SHELVED),
        E.SUPPRESS: _ignore(I.OUT_OF_SERVICE),
        E.UNSUPPRESS: _ignore(I.NOT_SUPPRESSED),
        E.OUT_OF_SERVICE: _ignore(I.ALREADY_OUT_OF_SERVICE),
        E.RETURN_TO_SERVICE: _UNHIDE,
    },
}

#: Every (state, event) pair: what it does. Written into ``docs/alarms.md`` by hand
#: (a unit test checks the two agree).
TRANSITIONS: Mapping[tuple[AlarmState, EventType], Transition] = MappingProxyType(
    {(state, event): t for state, row in _ROWS.items() for event, t in row.items()}
)

#: Leaving a hiding state, by the remembered base state (ISA-18.2): annunciated again
#: while the condition is present, normal once it has cleared; acknowledgement is not kept.
UNHIDDEN: Mapping[AlarmState, AlarmState] = MappingProxyType(
    {
        S.NORMAL: S.NORMAL,
        S.UNACK_ACTIVE: S.UNACK_ACTIVE,
        S.ACKED_ACTIVE: S.UNACK_ACTIVE,
        S.UNACK_RTN: S.NORMAL,
    }
)
del S, E, I

#: The event that puts an alarm into each hiding state (a snapshot entry says it so).
HIDING_EVENT: Mapping[AlarmState, EventType] = MappingProxyType(
    {
        AlarmState.SHELVED: EventType.SHELVE,
        AlarmState.SUPPRESSED: EventType.SUPPRESS,
        AlarmState.OUT_OF_SERVICE: EventType.OUT_OF_SERVICE,
    }
)
_HIDDEN_BY: Mapping[EventType, AlarmState] = MappingProxyType(
    {event: state for state, event in HIDING_EVENT.items()}
)
#: An event's (active, acked) flags: the base state they describe.
BASE_BY_FLAGS: Mapping[tuple[bool, bool], AlarmState] = MappingProxyType(
    {
        (True, False): AlarmState.UNACK_ACTIVE,
        (True, True): AlarmState.ACKED_ACTIVE,
        (False, False): AlarmState.UNACK_RTN,
        (False, True): AlarmState.NORMAL,
    }
)
FLAGS_BY_BASE: Mapping[AlarmState, tuple[bool, bool]] = MappingProxyType(
    {state: flags for flags, state in BASE_BY_FLAGS.items()}
)


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one event: the new state, the remembered base state, why it was ignored."""

    state: AlarmState
    base: AlarmState
    ignored: Ignored | None = None  # the reason, when the table says IGNORE


Flags = tuple[bool, bool] | None  # an event's (active, acked); only SYNC needs them
_StepFn = Callable[[AlarmState, AlarmState, EventType, Flags, Transition], Step]


def _step_move(state: AlarmState, base: AlarmState, ev: EventType, f: Flags, t: Transition) -> Step:
    assert t.target is not None
    # between hiding states the remembered state stays; a base state is its own
    return Step(t.target, base if t.target in HIDDEN_STATES else t.target)


def _step_hide(state: AlarmState, base: AlarmState, ev: EventType, f: Flags, t: Transition) -> Step:
    assert t.target is not None
    return Step(t.target, state)


def _step_unhide(
    state: AlarmState, base: AlarmState, ev: EventType, f: Flags, t: Transition
) -> Step:
    target = UNHIDDEN[base]
    return Step(target, target)


def _step_track(
    state: AlarmState, base: AlarmState, ev: EventType, f: Flags, t: Transition
) -> Step:
    inner = step(base, base, ev, f)  # a base row: MOVE or IGNORE
    return Step(state, inner.state, inner.ignored)


def _step_sync(state: AlarmState, base: AlarmState, ev: EventType, f: Flags, t: Transition) -> Step:
    if f is None:
        raise ValueError(f"{ev} in {state} takes the event's (active, acked) flags")
    target = BASE_BY_FLAGS[f]
    return Step(target, target)


def _step_ignore(
    state: AlarmState, base: AlarmState, ev: EventType, f: Flags, t: Transition
) -> Step:
    return Step(state, base, t.reason)


_ACTIONS: Mapping[Action, _StepFn] = MappingProxyType(
    {
        Action.MOVE: _step_move,
        Action.HIDE: _step_hide,
        Action.UNHIDE: _step_unhide,
        Action.TRACK: _step_track,
        Action.SYNC: _step_sync,
        Action.IGNORE: _step_ignore,
    }
)


def step(state: AlarmState, base: AlarmState, event: EventType, flags: Flags = None) -> Step:
    """Apply one event to an alarm in ``state`` (``base``: its remembered base state).

    ``flags``: the event's (active, acked); ``SYNC`` needs them (ValueError without).
    """
    t = TRANSITIONS[(state, event)]
    return _ACTIONS[t.action](state, base, event, flags, t)


def state_of_snapshot_entry(entry: AlarmEvent) -> tuple[AlarmState, AlarmState]:
    """(state, remembered base state) of a snapshot entry.

    The base state comes from the ``active`` and ``acked`` flags; an entry whose
    event is ``shelve``, ``suppress`` or ``out_of_service`` is hidden that way.
    """
    base = BASE_BY_FLAGS[(entry.active, entry.acked)]
    return _HIDDEN_BY.get(entry.event, base), base
