"""Times on screen: every clock time the window shows is in the line's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH_2000_MS = 946_684_800_000  # a "time" before this is not a clock time (simulated, unset)


def line_zone(name: str) -> dt.tzinfo | None:
    """The line's time zone; None (the machine's own) if the name is unknown here."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clock_text(ms: int, tz: dt.tzinfo | None) -> str:
    """``HH:MM:SS`` of a wall-clock time in ``tz``; "" when ``ms`` is not a clock time."""
    if ms < EPOCH_2000_MS:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%H:%M:%S")
