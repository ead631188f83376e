"""The timetable file: the good small file, and bad ones refused at the right place."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_line
from app.config.timetable import load_timetable, parse_timetable
from app.model.topology import Direction, Line
from app.timetable.model import DayType, TripKind

ROOT = Path(__file__).resolve().parents[3]
DEMO_LINE = ROOT / "resources" / "lines" / "demo-line.yaml"
SMALL = ROOT / "tests" / "data" / "timetable-small.yaml"


@pytest.fixture(scope="module")
def line() -> Line:
    return load_line(DEMO_LINE)


def test_the_small_file_loads(line: Line) -> None:
    tt = load_timetable(SMALL, line)
    assert (tt.id, tt.line_id, tt.day_type, tt.changeover_s) == (
        "small-weekday",
        "L2",
        DayType.WEEKDAY,
        3 * 3600,
    )
    assert [t.number for t in tt.trips] == ["01001", "01002", "02001", "02002"]
    first = tt.trip_by_number["01001"]
    assert (first.service, first.direction, first.kind) == ("01", Direction.DOWN, TripKind.SERVICE)
    assert (first.origin, first.destination) == ("S01", "S04")
    assert first.stops[1].platform == "P02D"
    assert (first.stops[1].arrive_s, first.stops[1].depart_s) == (5 * 3600 + 31 * 60 + 35, 19925)
    assert tt.trip_by_number["02001"].kind is TripKind.EMPTY
    assert tt.trip_by_number["02002"].end_s == 24 * 3600 + 8 * 60  # past midnight
    w1, w2 = tt.workings
    assert (w1.service, w1.unit, w1.trips, w1.from_depot, w1.to_depot) == (
        "01",
        1,
        ("01001", "01002"),
        True,
        True,
    )
    assert (w2.unit, w2.from_depot, w2.to_depot) == (0, True, False)
    assert len(tt.stops) == 13
    assert tt.next_trip("01001") == "01002"


def test_a_wrong_line_id_is_refused(line: Line) -> None:
    text = SMALL.read_text(encoding="utf-8").replace("line: L2", "line: L9")
    with pytest.raises(ConfigError) as err:
        parse_timetable(text, line, "tt.yaml")
    assert str(err.value) == (
        "tt.yaml:5:9: timetable.line: the timetable is for line 'L9' but the line file is 'L2'"
    )
