"""The punctuality report (ui/punctuality.py) over app/timetable/punctuality.py's figures."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from app.config import load_line
from app.model.topology import Direction, Line
from app.paths import resource_dir
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.model import DayType, Stop, Timetable, Trip
from ui import style
from ui.punctuality import BY_HOUR, PunctualityReport

H = 3600


@pytest.fixture(scope="module")
def line() -> Line:
    return load_line(resource_dir() / "lines" / "demo-line.yaml")


@pytest.fixture
def store(line: Line) -> ActualsStore:
    stations = sorted(line.stations, key=lambda s: s.km)[:3]
    trips = []
    for k, start in enumerate((6 * H, 6 * H + 1800, 24 * H + 600)):
        stops = tuple(
            Stop(s.id, s.platforms[0], start + i * 150, start + i * 150 + 30)
            for i, s in enumerate(stations)
        )
        trips.append(Trip(f"T{k}", "01", Direction.DOWN, stops))
    return ActualsStore(Timetable("t", "L2", DayType.WEEKDAY, tuple(trips), ()))


def depart(store: ActualsStore, trip: str, order: int, delay_s: int) -> None:
    stop = store.timetable.trip_by_number[trip].stops[order]
    store.record(
        Actual(
            trip,
            order,
            stop.station,
            stop.platform,
            ActualKind.DEPART,
            (stop.depart_s + delay_s) * 1000,
            stop.depart_s * 1000,
        )
    )


def test_report_table_and_chart(qtbot: QtBot, line: Line, store: ActualsStore) -> None:
    depart(store, "T0", 0, 30)
    depart(store, "T1", 0, 200)
    report = PunctualityReport(line, store, str, english=True)
    qtbot.addWidget(report)
    report.resize(900, 500)
    report.show()
    qtbot.waitExposed(report)
    t = report.table
    assert t.item(0, 0).text() == line.stations[0].name_en
    assert [t.item(0, c).text() for c in range(1, 5)] == ["2", "50.0 %", "50.0 %", "100.0 %"]
    assert "2 departures" in report.summary.text()
    # the destination's departure is no passenger departure: not counted
    depart(store, "T0", 2, 0)
    report.refresh()
    assert t.item(2, 1).text() == "0" and t.item(2, 2).text() == "–"
    image = report.chart.grab().toImage()
    bar = report.chart.bar_rect(0, 0)  # half the width: ±1 min
    assert bar.width() > 50
    inside = bar.center().toPoint()
    assert image.pixelColor(inside) == style.GRAPH_ON_TIME
    assert image.pixelColor(QPoint(int(bar.right()) + 5, inside.y())) != style.GRAPH_ON_TIME
    # news in the store shows at the next refresh
    depart(store, "T2", 0, 0)
    report.refresh()
    report.tabs.setCurrentIndex(BY_HOUR)
    assert [t.item(r, 0).text() for r in range(t.rowCount())] == ["06:00–07:00", "00:00–01:00"]
    assert t.item(1, 2).text() == "100.0 %"
