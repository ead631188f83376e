"""The two clocks the workstation reads, in milliseconds, and the type a part is given.

- :func:`wall_ms`: the wall clock (ms since the epoch): what a record, a log line or
  a screen says happened when;
- :func:`mono_ms`: the monotonic clock: how long something took, or has been quiet;
- :func:`zone`: a line's time zone, or the machine's own where its zone database
  lacks it (Windows ships none; the program then shows local time).

Every part that needs time takes a :data:`ClockMs` (tests pass their own); these two
are the defaults. Standard library only: every layer may use it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["ClockMs", "mono_ms", "wall_ms", "zone"]

#: A clock: a function giving milliseconds.
ClockMs = Callable[[], int]


def wall_ms() -> int:
    """Milliseconds since the epoch (UTC)."""
    return time.time_ns() // 1_000_000


def mono_ms() -> int:
    """Milliseconds on the monotonic clock (any origin: compare, never show)."""
    return time.monotonic_ns() // 1_000_000


def zone(name: str) -> dt.tzinfo | None:
    """The time zone ``name`` (``Asia/Shanghai``); None, the machine's own, when this
    machine's zone database does not have it (or the name is not one)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
