"""Punctuality figures from hand-made stores: windows at their edges, stations, hours
past midnight, what does not count, and the JSON form."""

from __future__ import annotations

import json

import pytest

from app.model.topology import Direction
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.model import DayType, Stop, Timetable, Trip, TripKind, Working
from app.timetable.punctuality import (
    WINDOWS_S,
    Figures,
    punctuality,
    report_dict,
)

H = 3600


def trip(number: str, start_s: int, stations: list[str], kind: TripKind = TripKind.SERVICE) -> Trip:
    """A down trip calling every 2 minutes, 30 s at each stop."""
    stops = tuple(
        Stop(s, f"P{s[1:]}D", start_s - 30 + 120 * k, start_s + 120 * k)
        for k, s in enumerate(stations)
    )
    return Trip(number, "1", Direction.DOWN, stops, kind)


@pytest.fixture
def store() -> ActualsStore:
    trips = (
        trip("A", 6 * H, ["S01", "S02", "S03"]),  # departures 06:00, 06:02 (+ S03: destination)
        trip("B", 24 * H + 50 * 60, ["S01", "S02", "S03"]),  # 24:50, 24:52
        trip("C", 25 * H + 10 * 60, ["S01", "S02"]),  # 25:10
        trip("E", 5 * H, ["S01", "S02"], TripKind.EMPTY),  # never counted
    )
    working = Working("1", 1, ("E", "A", "B", "C"))
    tt = Timetable("t", "L2", DayType.WEEKDAY, trips, (working,))
    return ActualsStore(tt, "2026-12-07")


def depart(store: ActualsStore, number: str, order: int, delay_ms: int) -> None:
    i = store.timetable.stop_index(number, order)
    assert i is not None
    planned = store.planned_depart[i]
    stop = store.timetable.stops[i].stop
    store.record(
        Actual(
            number,
            order,
            stop.station,
            stop.platform,
            ActualKind.DEPART,
            planned + delay_ms,
            planned,
            1,
        )
    )


def test_no_actuals_gives_counts_and_no_shares(store: ActualsStore) -> None:
    report = punctuality(store)
    assert report.windows_s == WINDOWS_S
    assert report.overall == Figures(planned=5, departures=0, within=(0, 0, 0), mean_delay_s=None)
    assert report.overall.shares() == (None, None, None)
    assert [(s.station, s.figures.planned) for s in report.stations] == [("S01", 3), ("S02", 2)]
    assert [(h.hour, h.figures.planned) for h in report.hours] == [(6, 2), (24, 2), (25, 1)]
    data = report_dict(report)
    assert data["overall"]["share"] == {"60": None, "120": None, "300": None}
    json.dumps(data)  # JSON-ready as it is


def test_windows_are_inclusive_and_either_side(store: ActualsStore) -> None:
    depart(store, "A", 0, 60_000)  # exactly +1 min: within all three
    depart(store, "A", 1, -60_001)  # just past -1 min: within 2 and 5
    depart(store, "B", 0, 300_000)  # exactly +5 min: within 5 only
    depart(store, "B", 1, 300_001)  # just past 5 min: within none
    report = punctuality(store)
    assert report.overall == Figures(
        planned=5, departures=4, within=(1, 2, 3), mean_delay_s=(60_000 - 60_001 + 600_001) / 4000
    )
    assert report.overall.shares() == (0.25, 0.5, 0.75)


def test_per_station_and_per_hour_past_midnight(store: ActualsStore) -> None:
    depart(store, "A", 0, 0)
    depart(store, "B", 0, 150_000)  # 24:50 planned, 2.5 min late
    depart(store, "B", 1, 20_000)
    depart(store, "C", 0, 400_000)  # 25:10 planned, 6:40 late: in hour 25 still
    report = punctuality(store)
    hours = {h.hour: h.figures for h in report.hours}
    assert hours[6] == Figures(2, 1, (1, 1, 1), 0.0)
    assert hours[24] == Figures(2, 2, (1, 1, 2), 85.0)
    assert hours[25] == Figures(1, 1, (0, 0, 0), 400.0)
    stations = {s.station: s.figures for s in report.stations}
    assert stations["S01"] == Figures(3, 3, (1, 1, 2), (150 + 400) / 3)
    assert stations["S02"] == Figures(2, 1, (1, 1, 1), 20.0)
    data = report_dict(report)
    assert [(h["hour"], h["from"]) for h in data["hours"]] == [
        (6, "06:00"),
        (24, "24:00"),
        (25, "25:00"),
    ]
    assert data["hours"][1]["share"] == {"60": 0.5, "120": 0.5, "300": 1.0}
    assert data["stations"][0] == {
        "station": "S01",
        "planned": 3,
        "departures": 3,
        "within": {"60": 1, "120": 1, "300": 2},
        "share": {"60": 0.3333, "120": 0.3333, "300": 0.6667},
        "mean_delay_s": 183.3,
    }


def test_destinations_empty_trips_and_unplanned_events_do_not_count(store: ActualsStore) -> None:
    depart(store, "A", 2, 0)  # leaving the destination for the turnback
    depart(store, "E", 0, 0)  # an empty trip
    store.record(Actual("Z", 0, "S01", "P01D", ActualKind.DEPART, 1, 0, 1))  # not in the plan
    i = store.timetable.stop_index("A", 1)
    assert i is not None
    store.record(  # an arrival is no departure
        Actual("A", 1, "S02", "P02D", ActualKind.ARRIVE, store.planned_arrive[i], 0, 1)
    )
    assert punctuality(store).overall.departures == 0


def test_stations_in_the_order_given_with_those_without_departures(store: ActualsStore) -> None:
    report = punctuality(store, stations=["S03", "S02", "S01"])
    assert [(s.station, s.figures.planned) for s in report.stations] == [
        ("S03", 0),
        ("S02", 2),
        ("S01", 3),
    ]


def test_other_windows(store: ActualsStore) -> None:
    depart(store, "A", 0, 30_000)
    report = punctuality(store, windows_s=(30, 180))
    assert report.overall.within == (1, 1)
    assert report_dict(report)["overall"]["within"] == {"30": 1, "180": 1}


def test_a_new_day_starts_with_no_departures(store: ActualsStore) -> None:
    depart(store, "A", 0, 0)
    store.clear("2026-12-08")
    report = punctuality(store)
    assert (report.service_date, report.overall.departures) == ("2026-12-08", 0)
