"""Times on screen: every clock time the window shows is in the line's time zone.

The one place the views turn milliseconds into what a dispatcher reads; the
clocks themselves are the core's (:mod:`app.clock`). A view that is handed no zone
(a refusal's text, the ISCS reference window) uses the line's zone the process
shows (:func:`set_line_zone`, set by the window once it knows its line; until
then the machine's own).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.clock import ClockMs, mono_ms, wall_ms, zone

EPOCH_2000_MS = 946_684_800_000  # a "time" before this is not a clock time (simulated, unset)

_shown_zone: dt.tzinfo | None = None  # the line's zone this process shows (one line a window)


def set_line_zone(tz: dt.tzinfo | None) -> None:
    """The line's zone, for the times of views handed no zone (see the module's doc)."""
    global _shown_zone  # noqa: PLW0603 (one line shown per process)
    _shown_zone = tz


def shown_zone() -> dt.tzinfo | None:
    """The line's zone set by :func:`set_line_zone`; None (the machine's) before."""
    return _shown_zone


def line_zone(name: str) -> dt.tzinfo | None:
    """The line's time zone; None (the machine's own) if the name is unknown here."""
    return zone(name)


def time_text(ms: int, tz: dt.tzinfo | None) -> str:
    """``HH:MM:SS`` of the wall-clock time ``ms`` (ms since the epoch) in ``tz``."""
    return f"{dt.datetime.fromtimestamp(ms / 1000, tz):%H:%M:%S}"


def clock_text(ms: int, tz: dt.tzinfo | None) -> str:
    """``HH:MM:SS`` of a wall-clock time in ``tz``; "" when ``ms`` is not a clock time."""
    if ms < EPOCH_2000_MS:
        return ""
    return time_text(ms, tz)


def line_time_text(ms: int) -> str:
    """``HH:MM:SS`` of a wall-clock time in the line's zone (:func:`set_line_zone`)."""
    return time_text(ms, _shown_zone)


def now_text(tz: dt.tzinfo | None) -> str:
    """``HH:MM:SS`` now, in ``tz`` (event log and command log lines)."""
    return time_text(wall_ms(), tz)


def date_time_text(tz: dt.tzinfo | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` now, in ``tz`` (the status bar's clock)."""
    return f"{dt.datetime.now(tz):%Y-%m-%d %H:%M:%S}"


def since_when_text(mono: int, clock: ClockMs, tz: dt.tzinfo | None) -> str:
    """A moment on the monotonic ``clock`` as the wall-clock time it was, and how long ago:
    ``14:02:37 (12 s)``."""
    ago = max(0, clock() - mono)
    return f"{time_text(wall_ms() - ago, tz)} ({ago // 1000} s)"


def session_clock(session: Any) -> ClockMs:
    """The monotonic clock a session stamps its reports with (``clock_ms``), else
    :func:`app.clock.mono_ms` (the session's own default)."""
    clock = getattr(session, "clock_ms", None)
    return clock if callable(clock) else mono_ms
