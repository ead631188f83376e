"""The desk's idle lock: its states and the table of what moves it.

``active``: commands are offered. ``locked``: the line stays visible, every input
but the password is refused, and only the dispatcher who is logged in unlocks it
with the password (checked against the directory again). Idle means no key press
and no mouse button for ``login.idle_lock_ms``; 0 never locks by time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = ["TRANSITIONS", "DeskEvent", "DeskState", "IdleLock"]


class DeskState(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"


class DeskEvent(StrEnum):
    INPUT = "input"  # a key or a button: the dispatcher is there
    IDLE = "idle"  # no input for the configured time
    LOCK = "lock"  # the dispatcher locks it (menu, shortcut)
    UNLOCK = "unlock"  # the right password


#: (state, event) -> the next state; a pair not in the table changes nothing
TRANSITIONS: Mapping[tuple[DeskState, DeskEvent], DeskState] = MappingProxyType(
    {
        (DeskState.ACTIVE, DeskEvent.INPUT): DeskState.ACTIVE,
        (DeskState.ACTIVE, DeskEvent.IDLE): DeskState.LOCKED,
        (DeskState.ACTIVE, DeskEvent.LOCK): DeskState.LOCKED,
        (DeskState.LOCKED, DeskEvent.UNLOCK): DeskState.ACTIVE,
    }
)


class IdleLock:
    """The desk's state; :meth:`tick` turns idle time into ``IDLE``."""

    def __init__(self, idle_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        if idle_ms < 0:
            raise ValueError(f"idle_ms must be >= 0, got {idle_ms}")
        self.idle_ms = idle_ms
        self._clock = clock
        self.state = DeskState.ACTIVE
        self._last_input = clock()

    def handle(self, event: DeskEvent) -> DeskState:
        """Apply ``event``; the state after it."""
        self.state = TRANSITIONS.get((self.state, event), self.state)
        if event in (DeskEvent.INPUT, DeskEvent.UNLOCK):
            self._last_input = self._clock()
        return self.state

    def idle_for_s(self) -> float:
        return self._clock() - self._last_input

    def tick(self) -> DeskState:
        """Lock when idle long enough (never with ``idle_ms`` 0); the state."""
        idle = self.idle_ms and self.idle_for_s() * 1000 >= self.idle_ms
        if idle and self.state is DeskState.ACTIVE:
            return self.handle(DeskEvent.IDLE)
        return self.state
