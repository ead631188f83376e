"""The train graph view (ui/traingraph.py): what it paints, zoom and scroll, clicks,
highlight, export, live updates. A small hand-made plan on the demo line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.config import load_line
from app.model.topology import Direction, Line
from app.paths import resource_dir
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.model import DayType, Stop, Timetable, Trip
from ui import style
from ui.traingraph import TrainGraph, TrainGraphCanvas
from ui.traingraph_export import ExportError
from ui.traingraph_window import MIN_SPAN_S, TimeWindow, clock_text, day_bounds

pytestmark = pytest.mark.ui

H = 3600


@pytest.fixture(scope="module")
def line() -> Line:
    return load_line(resource_dir() / "lines" / "demo-line.yaml")


def make_trip(line: Line, number: str, direction: Direction, start_s: int, n: int = 6) -> Trip:
    stations = sorted(line.stations, key=lambda s: s.km)
    run = stations[:n] if direction is Direction.DOWN else stations[-n:][::-1]
    stops, t = [], start_s
    for s in run:
        stops.append(Stop(s.id, s.platforms[0], t, t + 30))
        t += 30 + 120
    return Trip(number, "01", direction, tuple(stops))


@pytest.fixture
def timetable(line: Line) -> Timetable:
    trips = (
        make_trip(line, "D1", Direction.DOWN, 6 * H),
        make_trip(line, "U1", Direction.UP, 6 * H + 300, n=23),
        make_trip(line, "D2", Direction.DOWN, 6 * H + 600),
        make_trip(line, "D3", Direction.DOWN, 9 * H),
    )
    return Timetable("test-day", "L2", DayType.WEEKDAY, trips, ())


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def record_trip(store: ActualsStore, trip: Trip, delay_s: int, stops: int | None = None) -> None:
    for order, stop in enumerate(trip.stops[:stops]):
        for kind, planned in (
            (ActualKind.ARRIVE, stop.arrive_s),
            (ActualKind.DEPART, stop.depart_s),
        ):
            store.record(
                Actual(
                    trip.number,
                    order,
                    stop.station,
                    stop.platform,
                    kind,
                    (planned + delay_s) * 1000,
                    planned * 1000,
                    unit=1,
                )
            )


def make_canvas(
    qtbot: QtBot, line: Line, timetable: Timetable, store: ActualsStore, clock: Clock
) -> TrainGraphCanvas:
    canvas = TrainGraphCanvas(line, timetable, store, clock, lambda s: s, english=True)
    qtbot.addWidget(canvas)
    canvas.resize(1000, 600)
    canvas.show()
    qtbot.waitExposed(canvas)
    # from 05:50 to 06:50: the first three trips fill the window
    canvas.show_time(5 * H + 50 * 60, H)
    return canvas


def segment_middle(canvas: TrainGraphCanvas, trip: Trip, order: int, delay_s: int = 0) -> QPoint:
    """The pixel halfway along ``trip``'s run from stop ``order`` to the next."""
    m = canvas.mapping()
    a, b = trip.stops[order], trip.stops[order + 1]
    km = canvas.axis.km_of
    t = (a.depart_s + b.arrive_s) / 2 + delay_s
    return QPoint(round(m.x(t)), round(m.y((km[a.station] + km[b.station]) / 2)))


def near(image: QImage, at: QPoint, colour: QColor, tolerance: int = 40, reach: int = 2) -> bool:
    """Some pixel within ``reach`` of ``at`` has ``colour`` (each channel within
    ``tolerance``)."""
    for dx in range(-reach, reach + 1):
        for dy in range(-reach, reach + 1):
            c = image.pixelColor(at.x() + dx, at.y() + dy)
            if all(
                abs(x - y) <= tolerance
                for x, y in (
                    (c.red(), colour.red()),
                    (c.green(), colour.green()),
                    (c.blue(), colour.blue()),
                )
            ):
                return True
    return False


def test_paints_planned_and_actual_in_their_colours(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    store = ActualsStore(timetable, "2026-12-06")
    d1, u1, d2 = (timetable.trip_by_number[n] for n in ("D1", "U1", "D2"))
    record_trip(store, d1, 0)  # on time
    record_trip(store, d2, 180)  # three minutes late
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000 + 40 * 60_000))
    image = canvas.grab().toImage()
    assert near(image, segment_middle(canvas, u1, 3), style.GRAPH_PLANNED_UP)
    assert near(image, segment_middle(canvas, d1, 2), style.GRAPH_ON_TIME)
    assert near(image, segment_middle(canvas, d2, 2, 180), style.GRAPH_LATE)
    # D2's plan, three minutes before its actual line, is drawn thin in the down hue
    assert near(image, segment_middle(canvas, d2, 2), style.GRAPH_PLANNED_DOWN)
    # and nothing of either where no line runs
    empty = segment_middle(canvas, d1, 2, 25 * 60)
    assert not near(image, empty, style.GRAPH_ON_TIME)
    assert not near(image, empty, style.GRAPH_LATE)
    # the now line at 06:40
    x_now = round(canvas.mapping().x(6 * H + 40 * 60))
    assert near(image, QPoint(x_now, 300), style.GRAPH_NOW, reach=1)
    # only the trips of the window were painted (D3 at 09:00 was culled)
    assert canvas.painted_trips == 3


def test_zoom_and_scroll_move_the_window_and_clamp(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    store = ActualsStore(timetable)
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000))
    w = canvas.time_window
    canvas.fit_to_line()
    day = (w.start_s, w.span_s)
    assert day == (w.day_start_s, w.day_span_s)
    canvas.zoom_out()  # the whole day is the widest
    assert (w.start_s, w.span_s) == day
    canvas.zoom_in()
    assert w.span_s == pytest.approx(day[1] * 0.8)
    for _ in range(40):
        canvas.zoom_in()
    assert w.span_s == MIN_SPAN_S  # a quarter hour is the narrowest
    canvas.scroll_by(-100 * H)
    assert w.start_s == w.day_start_s
    canvas.scroll_by(+100 * H)
    assert w.end_s == w.day_end_s
    # keys: + zooms in, Left scrolls back, Home shows the whole day
    canvas.fit_to_line()
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert w.span_s < day[1]
    start = w.start_s
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert w.start_s > start
    qtbot.keyClick(canvas, Qt.Key.Key_Home)
    assert (w.start_s, w.span_s) == day
    # Ctrl+wheel zooms about the pointer: the time under it stays put
    x = 600.0
    before = canvas.mapping().t_at(x)
    wheel(canvas, x, 120, Qt.KeyboardModifier.ControlModifier)
    assert w.span_s == pytest.approx(day[1] * 0.8)
    assert canvas.mapping().t_at(x) == pytest.approx(before, abs=1)
    # the wheel alone scrolls (back in time for a turn away)
    start = w.start_s
    wheel(canvas, x, -120, Qt.KeyboardModifier.NoModifier)
    assert w.start_s > start


def wheel(canvas: TrainGraphCanvas, x: float, dy: int, mods: Qt.KeyboardModifier) -> None:
    pos = QPointF(x, 300)
    event = QWheelEvent(
        pos,
        canvas.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, dy),
        Qt.MouseButton.NoButton,
        mods,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)


def test_the_scroll_bar_and_the_buttons_drive_the_window(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    graph = TrainGraph(line, timetable, ActualsStore(timetable), Clock(7 * H * 1000), str)
    qtbot.addWidget(graph)
    graph.resize(900, 500)
    graph.show()
    w = graph.canvas.time_window
    qtbot.mouseClick(graph.findChild(type(graph.follow), "graphZoomIn"), Qt.MouseButton.LeftButton)
    assert w.span_s < w.day_span_s
    assert graph.scrollbar.maximum() == int(w.day_span_s - w.span_s)
    graph.scrollbar.setValue(graph.scrollbar.maximum())
    assert w.end_s == pytest.approx(w.day_end_s, abs=1)
    graph.follow.click()  # follow now: 07:00 comes into view
    assert graph.canvas.follow_now
    assert w.start_s <= 7 * H <= w.end_s
    graph.canvas.scroll_by(-H)  # a scroll by hand lets go of now
    assert not graph.follow.isChecked()


def test_a_click_on_a_line_emits_its_trip(qtbot: QtBot, line: Line, timetable: Timetable) -> None:
    store = ActualsStore(timetable)
    record_trip(store, timetable.trip_by_number["D2"], 180)
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000))
    u1, d2 = timetable.trip_by_number["U1"], timetable.trip_by_number["D2"]
    with qtbot.waitSignal(canvas.tripClicked, timeout=1000) as sig:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=segment_middle(canvas, u1, 5))
    assert sig.args == ["U1"]
    # its actual line, three minutes after its plan
    at = segment_middle(canvas, d2, 3, 180) + QPoint(3, 0)
    with qtbot.waitSignal(canvas.tripClicked, timeout=1000) as sig:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at)
    assert sig.args == ["D2"]
    # far from every line: nothing
    with qtbot.assertNotEmitted(canvas.tripClicked):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(990, 590))
    assert canvas.trip_at(5, 5) is None  # the station names are not the plot


def test_a_drag_scrolls_and_does_not_click(qtbot: QtBot, line: Line, timetable: Timetable) -> None:
    canvas = make_canvas(qtbot, line, timetable, ActualsStore(timetable), Clock(6 * H * 1000))
    start = canvas.time_window.start_s
    u1 = timetable.trip_by_number["U1"]
    p = segment_middle(canvas, u1, 5)
    with qtbot.assertNotEmitted(canvas.tripClicked):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=p)
        qtbot.mouseMove(canvas, p + QPoint(-200, 0))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=p + QPoint(-200, 0))
    assert canvas.time_window.start_s == pytest.approx(start + 200 / canvas.mapping().sx, abs=2)


def test_highlight_trip_changes_what_is_drawn(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    canvas = make_canvas(qtbot, line, timetable, ActualsStore(timetable), Clock(0))
    plain = canvas.grab().toImage()
    u1 = timetable.trip_by_number["U1"]
    beside = segment_middle(canvas, u1, 5) + QPoint(0, 3)  # the halo's reach, off the line
    canvas.highlight_trip("U1")
    lit = canvas.grab().toImage()
    assert lit != plain
    assert lit.pixelColor(beside).lightness() > plain.pixelColor(beside).lightness() + 15
    canvas.highlight_trip("nope")  # an unknown trip: nothing highlighted
    assert canvas.highlighted is None
    assert canvas.grab().toImage() == plain


def test_export_png_and_pdf(qtbot: QtBot, line: Line, timetable: Timetable, tmp_path: Path) -> None:
    store = ActualsStore(timetable, "2026-12-06")
    record_trip(store, timetable.trip_by_number["D1"], 400)
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000 + 30 * 60_000))
    png, pdf = tmp_path / "day.png", tmp_path / "day.pdf"
    canvas.export_png(png)
    image = QImage(str(png))
    assert not image.isNull() and image.width() >= 2000
    canvas.export_png(tmp_path / "window.png", whole_day=False)
    assert QImage(str(tmp_path / "window.png")).size() == canvas.size() * 2
    canvas.export_pdf(pdf)
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF") and len(raw) > 2000
    pdf_module = pytest.importorskip("PySide6.QtPdf")
    doc = pdf_module.QPdfDocument()
    assert doc.load(str(pdf)) == pdf_module.QPdfDocument.Error.None_
    size = doc.pagePointSize(0)
    assert doc.pageCount() == 1 and size.width() > size.height()  # landscape
    assert size.width() == pytest.approx(1191, abs=2)  # A3: 420 mm
    with pytest.raises(ExportError, match="no-such-dir"):
        canvas.export_pdf(tmp_path / "no-such-dir" / "x.pdf")
    with pytest.raises(ExportError, match="no-such-dir"):
        canvas.export_png(tmp_path / "no-such-dir" / "x.png")


def test_live_records_remake_only_the_changed_trips(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    store = ActualsStore(timetable)
    d1, d2 = timetable.trip_by_number["D1"], timetable.trip_by_number["D2"]
    record_trip(store, d1, 0)
    clock = Clock(6 * H * 1000 + 40 * 60_000)
    canvas = make_canvas(qtbot, line, timetable, store, clock)
    canvas.timer.stop()  # ticks by hand
    data = canvas.data
    kept = data.by_number["D1"].actual
    canvas.tick()
    assert data.rebuilt == set()
    at = segment_middle(canvas, d2, 1, 400)
    assert not near(canvas.grab().toImage(), at, style.GRAPH_SEVERE)
    record_trip(store, d2, 400, stops=3)  # D2 runs 400 s late over its first stops
    with qtbot.waitSignal(canvas.windowChanged, timeout=200, raising=False):
        canvas.tick()
    assert data.rebuilt == {"D2"}
    assert data.by_number["D1"].actual is kept  # untouched
    assert near(canvas.grab().toImage(), at, style.GRAPH_SEVERE)
    canvas.tick()
    assert data.rebuilt == set()


def test_opened_mid_day_it_shows_the_actuals_so_far(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    store = ActualsStore(timetable)
    record_trip(store, timetable.trip_by_number["D1"], -120)
    store.take_changed_trips()  # someone else took the news already
    canvas = make_canvas(qtbot, line, timetable, store, Clock(7 * H * 1000))
    assert canvas.data.by_number["D1"].actual
    at = segment_middle(canvas, timetable.trip_by_number["D1"], 2, -120)
    assert near(canvas.grab().toImage(), at, style.GRAPH_EARLY)


def test_time_window_and_day_bounds() -> None:
    assert day_bounds(5 * H + 30 * 60, 23 * H + 40 * 60) == (5 * H, 24 * H)
    assert day_bounds(0, 0) == (4 * H, 25 * H)  # an empty plan: a usual day
    w = TimeWindow(5 * H, 24 * H)
    assert (w.start_s, w.span_s) == (5 * H, 19 * H)
    w.zoom(0.01, 10 * H)
    assert w.span_s == MIN_SPAN_S and w.start_s <= 10 * H <= w.end_s
    assert w.keep_in_view(20 * H)
    assert w.start_s < 20 * H < w.end_s
    assert not w.keep_in_view(w.start_s + w.span_s / 2)
    assert clock_text(24 * H + 5 * 60) == "00:05"  # past midnight: the next day's clock
    assert clock_text(6 * H + 59 * 60 + 59) == "06:59"


def test_a_gesture_stretches_the_base_until_it_settles(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    store = ActualsStore(timetable)
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000))
    canvas.grab()
    builds = canvas.base_builds
    wheel(canvas, 500.0, 120, Qt.KeyboardModifier.ControlModifier)  # zoom in a step
    stretched = canvas.grab().toImage()
    assert canvas.base_builds == builds  # the kept base, stretched
    u1 = timetable.trip_by_number["U1"]
    at = segment_middle(canvas, u1, 5)
    assert near(stretched, at, style.GRAPH_PLANNED_UP, reach=3)  # where the new scale puts it
    qtbot.waitUntil(lambda: not canvas._gesture, timeout=2000)  # settles by itself
    exact = canvas.grab().toImage()
    assert canvas.base_builds == builds + 1
    assert near(exact, at, style.GRAPH_PLANNED_UP)


def test_a_trip_that_finishes_goes_into_the_kept_base(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    store = ActualsStore(timetable)
    d1 = timetable.trip_by_number["D1"]
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000 + 40 * 60_000))
    canvas.timer.stop()
    canvas.grab()
    builds = canvas.base_builds
    record_trip(store, d1, 0, stops=2)  # under way: drawn live
    canvas.tick()
    assert canvas.data.running == {"D1"}
    image = canvas.grab().toImage()
    assert near(image, segment_middle(canvas, d1, 0), style.GRAPH_ON_TIME)
    record_trip(store, d1, 0)  # to its destination: finished
    canvas.tick()
    assert canvas.data.running == set()
    image = canvas.grab().toImage()
    assert canvas.base_builds == builds  # drawn into the base, not painted whole
    assert near(image, segment_middle(canvas, d1, 4), style.GRAPH_ON_TIME)


def test_a_trip_under_way_when_the_server_started_finishes_all_the_same(
    qtbot: QtBot, line: Line, timetable: Timetable
) -> None:
    """A unit placed mid-trip at the server's start never records its first stops: its
    trip is done once its last stop is reached, not painted live for ever."""
    store = ActualsStore(timetable)
    d1 = timetable.trip_by_number["D1"]
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000 + 40 * 60_000))
    canvas.timer.stop()
    for order in (len(d1.stops) - 2, len(d1.stops) - 1):
        stop = d1.stops[order]
        for kind, planned in (
            (ActualKind.ARRIVE, stop.arrive_s),
            (ActualKind.DEPART, stop.depart_s),
        ):
            store.record(
                Actual(
                    d1.number,
                    order,
                    stop.station,
                    stop.platform,
                    kind,
                    planned * 1000,
                    planned * 1000,
                    1,
                )
            )
    canvas.tick()
    assert canvas.data.running == set()


def test_levels_of_detail_keep_what_shows() -> None:
    from ui.traingraph_lod import LAST_LEVEL, Points, level_for, simplify

    assert level_for(2.0) is None  # zoomed in: every point
    assert level_for(1 / 40) == 5  # a day on 1 800 px: 32 s a pixel
    assert level_for(1e-6) == LAST_LEVEL
    # a straight run with a 6-minute stand in its middle, at 40 px a km
    points = Points()
    for i in range(100):
        points.add(i * 36.0 + (360.0 if i >= 50 else 0.0), i * 0.5)
    kept = simplify(points, 0, 99, 5, 40.0)
    assert kept[0] == 0 and kept[-1] == 99
    assert len(kept) <= 6  # the straight parts went
    assert 49 in kept and 50 in kept  # the stand stays
    zigzag = Points()
    for i in range(10):
        zigzag.add(i * 36.0, 0.5 * (i % 2))  # 20 px up and down: every point counts
    assert simplify(zigzag, 0, 9, 5, 40.0) == list(range(10))


def test_a_new_day_clears_the_actual_lines(qtbot: QtBot, line: Line, timetable: Timetable) -> None:
    store = ActualsStore(timetable, "2026-12-06")
    d1 = timetable.trip_by_number["D1"]
    record_trip(store, d1, 0)  # finished: in the kept base
    canvas = make_canvas(qtbot, line, timetable, store, Clock(6 * H * 1000 + 40 * 60_000))
    canvas.timer.stop()
    at = segment_middle(canvas, d1, 2)
    assert near(canvas.grab().toImage(), at, style.GRAPH_ON_TIME)
    store.clear("2026-12-07")
    canvas.tick()
    image = canvas.grab().toImage()
    assert not near(image, at, style.GRAPH_ON_TIME)
    assert near(image, at, style.GRAPH_PLANNED_DOWN)  # the plan is still there
