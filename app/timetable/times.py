"""Service-day times: seconds from the midnight that starts the service day.

A metro's day runs past midnight: a trip leaving at 00:20 belongs to the day that
began the morning before. Times in a timetable are therefore written 24:20:00 (as
GTFS does) and held as seconds from the service day's midnight, which may exceed
86 400. A clock time of day (0..86 399 s) maps to the service day by the day's
changeover: before it, the time belongs to the day before (:func:`service_seconds`).
"""

from __future__ import annotations

from typing import Final

DAY_S: Final = 86_400
#: The latest service-day time a file may name (47:59:59): a day never runs past the next.
MAX_SERVICE_S: Final = 2 * DAY_S - 1
#: When one service day hands over to the next, by default (03:00: after the last
#: trip of the night, before the first of the morning).
CHANGEOVER_S: Final = 3 * 3600


class TimeFormatError(ValueError):
    """A service-day time that is not ``HH:MM`` or ``HH:MM:SS`` (HH up to 47)."""


def parse_service_time(text: str) -> int:
    """``"05:31"``, ``"05:31:30"`` or ``"24:10:00"`` as service-day seconds."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise TimeFormatError(f"not a time HH:MM or HH:MM:SS: {text!r}")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    if m > 59 or s > 59:
        raise TimeFormatError(f"minutes and seconds run to 59: {text!r}")
    value = h * 3600 + m * 60 + s
    if value > MAX_SERVICE_S:
        raise TimeFormatError(f"past the next day (47:59:59 at most): {text!r}")
    return value


def format_service_time(seconds: int, *, with_seconds: bool = True) -> str:
    """Service-day seconds as ``HH:MM:SS`` (``24:10:00`` past midnight)."""
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}" if with_seconds else f"{sign}{h:02d}:{m:02d}"


def service_seconds(clock_s: float, changeover_s: int = CHANGEOVER_S) -> float:
    """A clock time of day (0 <= clock_s < 86 400) as seconds of its service day:
    before the changeover it is the night of the day before (02:00 -> 26:00)."""
    clock_s = clock_s % DAY_S
    return clock_s + DAY_S if clock_s < changeover_s else clock_s


def clock_seconds(service_s: float) -> float:
    """Service-day seconds as a clock time of day (26:00 -> 02:00)."""
    return service_s % DAY_S


def delay_s(actual_s: float, planned_s: float) -> float:
    """How late (positive) or early (negative) ``actual_s`` is against ``planned_s``,
    both service-day seconds of the same day."""
    return actual_s - planned_s


def delay_text(delay: float) -> str:
    """A deviation as a train describer shows it: whole minutes, rounded towards zero
    (``+3``, ``-1``), ``h:mm`` past 99 minutes (``+1:42``)."""
    minutes = int(abs(delay) // 60)
    sign = "+" if delay >= 0 else "-"
    if minutes > 99:
        return f"{sign}{minutes // 60}:{minutes % 60:02d}"
    return f"{sign}{minutes}"
