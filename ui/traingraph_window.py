"""The train graph's axes: the time window shown (zoom, scroll, clamp) and the
stations down the side by distance. Plain arithmetic, no painting.

Time is service-day seconds (``app/timetable/times.py``: past midnight as 24:xx);
distance is the line's chainage in km (``Station.km``), the first station on top.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from app.model.topology import Station

#: The narrowest window: a quarter of an hour.
MIN_SPAN_S: Final = 15 * 60
#: The day shown when the timetable is empty.
DEFAULT_DAY: Final = (5 * 3600, 24 * 3600)
#: Room left before the first departure and after the last arrival.
DAY_MARGIN_S: Final = 15 * 60


def day_bounds(first_s: int, last_s: int) -> tuple[int, int]:
    """The day the graph scrolls over: the plan's span with a margin, on whole hours."""
    if last_s <= first_s:
        first_s, last_s = DEFAULT_DAY
    start = max(0, (first_s - DAY_MARGIN_S) // 3600 * 3600)
    end = -(-(last_s + DAY_MARGIN_S) // 3600) * 3600
    return start, max(end, start + MIN_SPAN_S)


@dataclass
class TimeWindow:
    """The visible time ``[start_s, start_s + span_s]`` inside the day
    ``[day_start_s, day_end_s]``: never narrower than a quarter hour, never wider
    than the day, never past either end."""

    day_start_s: float
    day_end_s: float
    start_s: float = 0.0
    span_s: float = 0.0

    def __post_init__(self) -> None:
        if self.day_end_s - self.day_start_s < MIN_SPAN_S:
            self.day_end_s = self.day_start_s + MIN_SPAN_S
        if self.span_s <= 0:
            self.show_all()
        self.clamp()

    @property
    def end_s(self) -> float:
        return self.start_s + self.span_s

    @property
    def day_span_s(self) -> float:
        return self.day_end_s - self.day_start_s

    def clamp(self) -> None:
        self.span_s = min(max(self.span_s, MIN_SPAN_S), self.day_span_s)
        self.start_s = min(max(self.start_s, self.day_start_s), self.day_end_s - self.span_s)

    def show_all(self) -> None:
        self.start_s, self.span_s = self.day_start_s, self.day_span_s

    def zoom(self, factor: float, anchor_s: float | None = None) -> None:
        """Narrow (``factor`` < 1) or widen the window, keeping ``anchor_s`` (default:
        the middle) where it is on the screen."""
        if anchor_s is None:
            anchor_s = self.start_s + self.span_s / 2
        where = (anchor_s - self.start_s) / self.span_s if self.span_s else 0.5
        span = min(max(self.span_s * factor, MIN_SPAN_S), self.day_span_s)
        self.start_s = anchor_s - where * span
        self.span_s = span
        self.clamp()

    def scroll(self, delta_s: float) -> None:
        self.start_s += delta_s
        self.clamp()

    def scroll_to(self, start_s: float) -> None:
        self.start_s = start_s
        self.clamp()

    def keep_in_view(self, t_s: float, at: float = 0.75) -> bool:
        """Scroll so that ``t_s`` is in view (at ``at`` of the width when it was not,
        or when it is close to the right edge); True when the window moved."""
        if self.start_s + 0.05 * self.span_s <= t_s <= self.start_s + 0.92 * self.span_s:
            return False
        before = self.start_s
        self.scroll_to(t_s - at * self.span_s)
        return self.start_s != before


class StationAxis:
    """The stations down the side, by distance (the line's first km on top)."""

    def __init__(self, stations: Iterable[Station]) -> None:
        self.stations: tuple[Station, ...] = tuple(sorted(stations, key=lambda s: s.km))
        self.km_of: dict[str, float] = {s.id: s.km for s in self.stations}
        if self.stations:
            self.km0, self.km1 = self.stations[0].km, self.stations[-1].km
        else:
            self.km0, self.km1 = 0.0, 1.0
        if self.km1 <= self.km0:
            self.km1 = self.km0 + 1.0

    @property
    def length_km(self) -> float:
        return self.km1 - self.km0


@dataclass(frozen=True, slots=True)
class Ticks:
    """The time grid for a scale: minor and major lines and which ones are labelled
    (every value in seconds)."""

    minor_s: int
    major_s: int
    label_s: int


def ticks_for(px_per_s: float) -> Ticks:
    """Grid steps fit for ``px_per_s``: lines at least ~6 px apart, labels ~60 px."""
    minor = next((s for s in (60, 120, 300, 600, 1800) if s * px_per_s >= 6), 3600)
    label = next((s for s in (300, 600, 1800, 3600, 7200) if s * px_per_s >= 60), 10800)
    major = 3600 if label >= 3600 else label
    return Ticks(minor, major, label)


def clock_text(service_s: float) -> str:
    """``HH:MM`` of a service-day time as a clock shows it (25:10 -> 01:10)."""
    total = int(service_s) // 60
    h, m = divmod(total, 60)
    return f"{h % 24:02d}:{m:02d}"
