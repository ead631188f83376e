"""The timetable at the desk (issue 19): the describer on the schematic, the delay list
with its countdowns, and one selection between the schematic, the list and the graph."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.model.state import StateDelta, TrainState
from app.model.topology import Direction
from app.protocol.messages import Actuals
from app.session.service import ServiceFeed
from app.timetable.actuals import Actual, ActualKind
from app.timetable.delays import Punctuality
from app.timetable.model import DayType, Stop, Timetable, Trip, Working
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui

H = 3600


class Clock:
    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms


def plan() -> Timetable:
    def trip(number: str, service: str, start: int) -> Trip:
        return Trip(
            number,
            service,
            Direction.DOWN,
            (
                Stop("A", "PA_D", start, start + 30),
                Stop("B", "PB_D", start + 120, start + 150),
                Stop("C", "PC_D", start + 240, start + 270),
            ),
        )

    trips = (trip("01001", "01", 7 * H), trip("02001", "02", 7 * H + 180))
    return Timetable(
        "desk",
        "T1",
        DayType.WEEKDAY,
        trips,
        (Working("01", 1, ("01001",)), Working("02", 2, ("02001",))),
    )


@pytest.fixture
def desk(qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any) -> Any:
    clock = Clock()
    feed = ServiceFeed(plan(), on_time_s=60, clock_ms=clock)
    fake_session.service = feed
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1400, 800)
    win.show()
    fake_session.synchronise()
    trains = (
        TrainState(1, "01001", "DAB", 300.0, 60.0, Direction.DOWN),  # running, late
        TrainState(2, "02001", "PDA", 130.0, 0.0, Direction.DOWN),  # at A, on time
    )
    fake_session.state_changed.emit(
        fake_session.state.apply_delta(StateDelta(seq=2, trains=trains))
    )
    qtbot.waitUntil(lambda: len(win.scene.train_items) == 2)
    feed.told_clock("2026-12-06", (7 * H + 200) * 1000)
    records = (
        Actual(
            "01001",
            0,
            "A",
            "PA_D",
            ActualKind.DEPART,
            (7 * H + 30 + 150) * 1000,
            (7 * H + 30) * 1000,
            1,
        ),
        Actual(
            "02001",
            0,
            "A",
            "PA_D",
            ActualKind.ARRIVE,
            (7 * H + 180) * 1000,
            (7 * H + 180) * 1000,
            2,
        ),
    )
    feed.told_actuals(Actuals("2026-12-06", feed.name, records))
    assert win.timetable_desk is not None
    win.timetable_desk.refresh()
    return win, feed, clock


def test_the_describer_shows_destination_and_minutes_late(desk: Any) -> None:
    win, _feed, _clock = desk
    late = win.scene.train_items[1].describer
    on_time = win.scene.train_items[2].describer
    assert late is not None and on_time is not None
    # left A 150 s late: "+2", in the late colour; the other on time shows no deviation
    assert (late.destination, late.deviation, late.punctuality) == ("C", "+2", Punctuality.LATE)
    assert (on_time.destination, on_time.deviation, on_time.punctuality) == (
        "C",
        "",
        Punctuality.ON_TIME,
    )
    assert not late.stopped
    assert "min late" in win.scene.train_items[1].toolTip()


def test_the_delay_list_sorts_by_delay_and_counts_down_at_the_platform(
    qtbot: QtBot, desk: Any
) -> None:
    win, _feed, clock = desk
    rows = win.timetable_desk.delays.rows()
    assert [r[0] for r in rows] == ["01001", "02001"]  # latest first
    assert rows[0][3] == "+2" and rows[1][3] == "+0"
    # 02001 stands at A until 07:03:30; the clock says 07:03:20
    assert rows[1][5] == "0:10"
    clock.ms += 25_000  # 15 s past its departure: overdue, and later every second
    win.timetable_desk.refresh()
    assert win.timetable_desk.delays.rows()[1][5] == "-0:15"


def test_one_selection_between_schematic_list_and_graph(qtbot: QtBot, desk: Any) -> None:
    win, _feed, _clock = desk
    tt = win.timetable_desk
    win.view.select("train:2")
    assert tt.graph.canvas.highlighted == "02001"
    assert tt.delays._selected_unit() == 2
    tt.graph.tripClicked.emit("01001")
    assert win.view.selected == "train:1"
    assert tt.graph.canvas.highlighted == "01001"
    tt.delays.trainActivated.emit(2)
    assert win.view.selected == "train:2"
    tt.select_trip("09999")  # not running: told, nothing selected anew
    assert "not running" in win.statusBar().currentMessage()


def test_no_timetable_no_desk(
    qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any
) -> None:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    assert win.timetable_desk is None


def test_the_graph_exports_from_the_command_line_option(desk: Any, tmp_path: Any) -> None:
    """``dispatcher-hmi --export-graph PATH``: PDF by the suffix, else PNG; a path that
    cannot be written is an error status, not a crash."""
    from ui.runtime import export_graph

    win, _feed, _clock = desk
    assert export_graph(win, str(tmp_path / "day.pdf")) == 0
    assert (tmp_path / "day.pdf").read_bytes().startswith(b"%PDF")
    assert export_graph(win, str(tmp_path / "day.png")) == 0
    assert (tmp_path / "day.png").read_bytes().startswith(b"\x89PNG")
    assert export_graph(win, str(tmp_path / "no" / "such" / "dir.png")) == 1
    assert win.timetable_desk.report_dock.widget() is win.timetable_desk.report
