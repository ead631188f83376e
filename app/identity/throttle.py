"""Wrong passwords slow the next try: a table from failures in a row to a wait.

Counted per dispatcher name and for the whole desk (any name), in this process,
so that guessing one password and cycling through names both slow down. A right
password clears its name's count (not the desk's: that one decays with time).
The directory itself (Redis) does not limit ``AUTH``; a guesser with its own
Redis client is limited by the network and the ACL log, not by this
(docs/security.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["DESK_POLICY", "NAME_POLICY", "LoginThrottle", "wait_for"]

#: (wrong passwords in a row at least, seconds to wait before the next try), ascending
Policy = Sequence[tuple[int, float]]

#: per dispatcher name: two free mistakes, then 15 s, 60 s, 5 min
NAME_POLICY: Policy = ((0, 0.0), (3, 15.0), (5, 60.0), (8, 300.0))
#: per desk, any name: more room (several people share it), then the same slope
DESK_POLICY: Policy = ((0, 0.0), (10, 60.0), (20, 300.0))
#: a desk's count forgets a failure this long after it
DESK_MEMORY_S = 900.0


def wait_for(policy: Policy, failures: int) -> float:
    """The wait the table gives after ``failures`` wrong passwords in a row."""
    wait = 0.0
    for at_least, seconds in policy:
        if failures >= at_least:
            wait = seconds
    return wait


@dataclass
class _Count:
    failures: int = 0
    last_s: float = 0.0


@dataclass
class LoginThrottle:
    """Say how long to wait before a try; count failures and successes."""

    clock: Callable[[], float] = time.monotonic
    name_policy: Policy = NAME_POLICY
    desk_policy: Policy = DESK_POLICY
    _names: dict[str, _Count] = field(default_factory=dict)
    _desk: list[float] = field(default_factory=list)

    def wait_s(self, name: str) -> float:
        """Seconds before ``name`` may try again (0: now)."""
        now = self.clock()
        self._desk = [t for t in self._desk if now - t < DESK_MEMORY_S]
        waits = [0.0]
        count = self._names.get(name)
        if count is not None:
            waits.append(count.last_s + wait_for(self.name_policy, count.failures) - now)
        if self._desk:
            waits.append(self._desk[-1] + wait_for(self.desk_policy, len(self._desk)) - now)
        return max(waits)

    def failed(self, name: str) -> float:
        """Count a wrong password for ``name``; the wait it now has."""
        now = self.clock()
        count = self._names.setdefault(name, _Count())
        count.failures += 1
        count.last_s = now
        self._desk.append(now)
        return self.wait_s(name)

    def succeeded(self, name: str) -> None:
        self._names.pop(name, None)
