"""The timetable's core: service-day times across midnight, the flat stop index, the
columnar actuals store and each train's delay now."""

from __future__ import annotations

import io

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.model.topology import Direction
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.delays import Punctuality, classify, train_delay
from app.timetable.model import DayType, Stop, Timetable, Trip, Working
from app.timetable.times import (
    DAY_S,
    TimeFormatError,
    clock_seconds,
    delay_text,
    format_service_time,
    parse_service_time,
    service_seconds,
)


@given(st.integers(0, 2 * DAY_S - 1))
def test_service_times_read_back_what_they_write(seconds: int) -> None:
    assert parse_service_time(format_service_time(seconds)) == seconds


@pytest.mark.parametrize("text", ["5:30", "05:60", "48:00", "05:30:61", "aa:bb", "05-30", ""])
def test_a_bad_time_says_so(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_service_time(text)


@given(
    planned=st.integers(3 * 3600, 27 * 3600 - 1),
    late=st.integers(-1800, 3 * 3600),
    changeover=st.integers(1 * 3600, 4 * 3600),
)
def test_a_delay_across_midnight_is_what_the_clock_says(
    planned: int, late: int, changeover: int
) -> None:
    """A train planned at 23:58 that leaves at 00:03 by the clock is 5 minutes late, not
    23 h 55 early: clock times map to the service day by the changeover."""
    assume(changeover <= planned + late < changeover + DAY_S)
    actual_clock = clock_seconds(planned + late)
    assert service_seconds(actual_clock, changeover) - planned == late


def test_delay_text_is_whole_minutes_and_hours_past_99() -> None:
    assert [delay_text(d) for d in (0, 59, 61, -61, -200, 99 * 60 + 59, 102 * 60)] == [
        "+0",
        "+0",
        "+1",
        "-1",
        "-3",
        "+99",
        "+1:42",
    ]
    assert [classify(d) for d in (None, 0, 60, 61, -61)] == [
        Punctuality.UNKNOWN,
        Punctuality.ON_TIME,
        Punctuality.ON_TIME,
        Punctuality.LATE,
        Punctuality.EARLY,
    ]


def plan() -> Timetable:
    down = Trip(
        "01001",
        "01",
        Direction.DOWN,
        (
            Stop("S01", "P01D", 100, 130),
            Stop("S02", "P02D", 230, 260),
            Stop("S03", "P03D", 360, 400),
        ),
    )
    up = Trip(
        "01002", "01", Direction.UP, (Stop("S03", "P03U", 500, 530), Stop("S01", "P01U", 730, 760))
    )
    return Timetable(
        "t", "L2", DayType.WEEKDAY, (down, up), (Working("01", 7, ("01001", "01002")),)
    )


def test_every_planned_stop_has_one_index() -> None:
    t = plan()
    assert [(p.trip, p.order) for p in t.stops] == [
        ("01001", 0),
        ("01001", 1),
        ("01001", 2),
        ("01002", 0),
        ("01002", 1),
    ]
    assert t.stop_index("01002", 1) == 4
    assert t.stop_index("01002", 2) is None and t.stop_index("nope", 0) is None
    assert t.next_trip("01001") == "01002" and t.next_trip("01002") is None
    assert t.span_s() == (130, 730)
    assert t.digest() == plan().digest() != Timetable("u", "L2", DayType.WEEKDAY, (), ()).digest()


def test_the_store_keeps_actuals_in_place_and_counts_what_the_plan_lacks() -> None:
    store = ActualsStore(plan(), "2026-12-06")
    assert (
        store.record(Actual("01001", 0, "S01", "P01D", ActualKind.DEPART, 190_000, 130_000, 7)) == 0
    )
    assert (
        store.record(Actual("01001", 1, "S02", "P02D", ActualKind.ARRIVE, 300_000, 230_000, 7)) == 1
    )
    assert store.record(Actual("09999", 0, "S01", "P01D", ActualKind.ARRIVE, 1, 1, 3)) is None
    assert (store.recorded, store.unplanned) == (2, 1)
    assert store.take_changed_trips() == {"01001"} and store.take_changed_trips() == set()
    times = store.times(1)
    assert (times.arrive_ms, times.depart_ms) == (300_000, None)
    assert list(store.actuals())[1].delay_ms == 70_000
    # standing at S02 past its planned departure: later every second it stays
    d = train_delay(store, 7, 300_000)
    assert d is not None and d.standing and d.delay_s == 70
    d = train_delay(store, 7, 330_000)
    assert d is not None and d.delay_s == 70
    d = train_delay(store, 7, 340_000)
    assert d is not None and d.delay_s == 80
    assert train_delay(store, 8, 0) is None
    # at its origin a unit stands ready early (its turnback was late by 6 min, its
    # layover long): on time until its departure time, then late by the wait
    store.record(Actual("01002", 0, "S03", "P03U", ActualKind.ARRIVE, 480_000, 500_000, 9))
    d = train_delay(store, 9, 520_000)
    assert d is not None and (d.order, d.delay_s, d.standing) == (0, 0, True)
    d = train_delay(store, 9, 560_000)
    assert d is not None and d.delay_s == 30
    out = io.StringIO()
    assert store.write_csv(out) == 5
    assert out.getvalue().splitlines()[2] == (
        "2026-12-06,01001,1,S02,P02D,00:03:50,00:05:00,70,00:04:20,,"
    )
    store.clear("2026-12-07")
    assert (store.recorded, list(store.actuals())) == (0, [])
