"""Each train's delay now, and the convention a view shows it by.

The delay of a unit is worked out from the day's actuals (``actuals.py``) and the
service-day time now: its deviation at its last recorded event, grown while it
stands or runs past the plan's next time (a train standing at a platform 4 minutes
past its planned departure is at least 4 minutes late, before it leaves).

The describer's convention (docs/timetable.md): nothing within ``on_time_s`` either
side; early and late in two distinct colours; whole minutes (``h:mm`` past 99).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.timetable.actuals import NONE, ActualsStore


class Punctuality(StrEnum):
    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"
    UNKNOWN = "unknown"  # no actual yet, or not running to the plan


@dataclass(frozen=True, slots=True)
class TrainDelay:
    """Where a unit is in the plan and how far off it is."""

    unit: int
    trip: str
    order: int  # the stop of its last event
    delay_s: float
    standing: bool  # arrived at that stop and not yet left


def classify(delay_s: float | None, on_time_s: float = 60.0) -> Punctuality:
    if delay_s is None:
        return Punctuality.UNKNOWN
    if delay_s > on_time_s:
        return Punctuality.LATE
    if delay_s < -on_time_s:
        return Punctuality.EARLY
    return Punctuality.ON_TIME


def train_delay(store: ActualsStore, unit: int, now_ms: int) -> TrainDelay | None:
    """``unit``'s delay at service-day time ``now_ms`` (None: no actual for it yet)."""
    i = store.last_index.get(unit)
    if i is None:
        return None
    planned = store.timetable.stops[i]
    if store.depart[i] == NONE:  # standing at the stop
        waiting = now_ms - store.planned_depart[i]
        if planned.order == 0:
            # at its origin it stands ready early by design (a turnback's layover): late
            # only once its departure time has passed, never early
            return TrainDelay(unit, planned.trip, 0, max(0, waiting) / 1000, True)
        arrived = store.arrive[i] - store.planned_arrive[i]
        return TrainDelay(unit, planned.trip, planned.order, max(arrived, waiting) / 1000, True)
    left = store.depart[i] - store.planned_depart[i]
    nxt = i + 1
    late = left
    if nxt < store.size and store.timetable.stops[nxt].trip == planned.trip:
        late = max(left, now_ms - store.planned_arrive[nxt])
    return TrainDelay(unit, planned.trip, planned.order, late / 1000, False)
