"""The timetable file: the good small file, and bad ones refused at the right place."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.config import ConfigError, load_line
from app.config.loader import compose
from app.config.timetable import TimetableFile, compose_fast, load_timetable, parse_timetable
from app.model.topology import Direction, Line
from app.timetable.model import DayType, TripKind
from app.timetable.times import DAY_S, MAX_SERVICE_S, format_service_time
from tests.unit.timetable.generated import day_text

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


#: (what to change in the small file, into what, the whole error it must give)
BAD = [
    pytest.param(
        '[S03, P03D, "05:33:30"',
        '[S99, P03D, "05:33:30"',
        "tt.yaml:15:12: timetable.trips[0].stops[2][0]: unknown station 'S99': not in line L2",
        id="unknown-station",
    ),
    pytest.param(
        '[S03, P03D, "05:33:30"',
        '[S03, P03X, "05:33:30"',
        "tt.yaml:15:17: timetable.trips[0].stops[2][1]: unknown platform 'P03X': not in line L2",
        id="unknown-platform",
    ),
    pytest.param(
        '[S03, P03D, "05:33:30"',
        '[S03, P04D, "05:33:30"',
        "tt.yaml:15:17: timetable.trips[0].stops[2][1]: "
        "platform 'P04D' is at station 'S04', not 'S03'",
        id="platform-of-another-station",
    ),
    pytest.param(
        "[S02, P02D,",
        "[S02, P02U,",
        "tt.yaml:14:17: timetable.trips[0].stops[1][1]: "
        "platform 'P02U' serves up trains; trip 01001 runs down",
        id="platform-of-the-other-direction",
    ),
    pytest.param(
        '"05:31:35"',
        '"05:61:35"',
        "tt.yaml:14:23: timetable.trips[0].stops[1][2]: minutes and seconds run to 59: '05:61:35'",
        id="bad-time",
    ),
    pytest.param(
        '"05:28:00"',
        "15:28:00",
        "tt.yaml:13:23: timetable.trips[0].stops[0][2]: expected string, got integer "
        "'15:28:00'; quote times (\"15:28:00\"): unquoted, YAML reads them as base-60 numbers",
        id="unquoted-time",
    ),
    pytest.param(
        '"05:32:05"',
        '"05:31:00"',
        "tt.yaml:14:35: timetable.trips[0].stops[1][3]: departs at 05:31:00 before it "
        "arrives at 05:31:35",
        id="departs-before-it-arrives",
    ),
    pytest.param(
        '"05:31:35"',
        '"05:29:00"',
        "tt.yaml:14:23: timetable.trips[0].stops[1][2]: arrives at 05:29:00, before it "
        "departs from S01 at 05:30:00",
        id="arrives-before-the-last-departure",
    ),
    pytest.param(
        '[S03, P03U, "24:04:40"',
        '[S05, P05U, "24:04:40"',
        "tt.yaml:37:12: timetable.trips[3].stops[1][0]: station S05 (km 4.27) does not "
        "follow S04 (km 3.32) on up trip 02002: its stations run by decreasing km",
        id="against-the-direction",
    ),
    pytest.param(
        '"23:50:00"',
        '"02:50:00"',
        "tt.yaml:30:23: timetable.trips[2].stops[0][2]: 02:50:00 is before the service day "
        "begins (changeover 03:00); past midnight, write 26:50:00",
        id="before-the-changeover",
    ),
    pytest.param(
        '"24:09:00"]',
        '"27:09:00"]',
        "tt.yaml:38:35: timetable.trips[3].stops[2][3]: 27:09:00 is past the next service "
        "day's changeover (27:00)",
        id="past-the-next-changeover",
    ),
    pytest.param(
        'number: "02002"',
        'number: "02001"',
        "tt.yaml:32:15: timetable.trips[3].number: duplicate value '02001' "
        "(first at line 25, timetable.trips[2])",
        id="duplicate-trip-number",
    ),
    pytest.param(
        'trips: ["01001", "01002"]',
        'trips: ["01001"]',
        "tt.yaml:17:15: timetable.trips[1].number: trip 01002 is in no working: "
        "working '01' does not list it",
        id="trip-in-no-working",
    ),
    pytest.param(
        'service: "02"\n      direction: up',
        'service: "03"\n      direction: up',
        "tt.yaml:33:16: timetable.trips[3].service: trip 02002 names working '03', "
        "which is not in timetable.workings",
        id="trip-of-a-missing-working",
    ),
    pytest.param(
        '["02001", "02002"]',
        '["02001", "02002", "09999"]',
        "tt.yaml:41:75: timetable.workings[1].trips[2]: unknown trip '09999': "
        "not in timetable.trips",
        id="working-lists-an-unknown-trip",
    ),
    pytest.param(
        '["02001", "02002"]',
        '["02001", "02002", "01002"]',
        "tt.yaml:41:75: timetable.workings[1].trips[2]: trip 01002 belongs to working '01', "
        "not '02'",
        id="working-lists-another-working's-trip",
    ),
    pytest.param(
        '["01001", "01002"]',
        '["01002", "01001"]',
        "tt.yaml:40:83: timetable.workings[0].trips[1]: trip 01001 (starts 05:30:00) is "
        "listed after trip 01002 (starts 05:40:00): a working's trips run in time order",
        id="working-out-of-time-order",
    ),
    pytest.param(
        '[S04, P04D, "23:58:00", "23:59:00"]',
        '[S03, P03D, "23:58:00", "23:59:00"]',
        "tt.yaml:41:66: timetable.workings[1].trips[1]: trip 02002 starts at S04 but the "
        "unit ends trip 02001 at S03",
        id="turnback-at-another-station",
    ),
    pytest.param(
        '[S04, P04D, "23:58:00", "23:59:00"]',
        '[S04, P04D, "24:05:00", "24:06:00"]',
        "tt.yaml:41:66: timetable.workings[1].trips[1]: trip 02002 departs at 24:03:00, "
        "before the unit arrives from trip 02001 at 24:05:00",
        id="turnback-before-arrival",
    ),
    pytest.param(
        "unit: 0",
        "unit: 1",
        "tt.yaml:41:29: timetable.workings[1].unit: unit 1 already works '01' "
        "(line 40, timetable.workings[0].unit); 0 leaves a working unrostered",
        id="unit-twice",
    ),
    pytest.param(
        "unit: 1,",
        "unit: -1,",
        "tt.yaml:40:29: timetable.workings[0].unit: must be >= 0, got -1",
        id="negative-unit",
    ),
    pytest.param(
        "kind: empty",
        "kinds: empty",
        "tt.yaml:28:7: timetable.trips[2].kinds: unknown key 'kinds'; "
        "allowed keys: number, service, direction, kind, stops",
        id="unknown-key",
    ),
    pytest.param(
        "direction: up\n      stops",
        "direction: sideways\n      stops",
        "tt.yaml:19:18: timetable.trips[1].direction: invalid value 'sideways'; "
        "allowed values: down, up",
        id="bad-direction",
    ),
    pytest.param(
        '[S02, P02D, "05:31:35", "05:32:05"]',
        '[S02, P02D, "05:31:35"]',
        "tt.yaml:14:11: timetable.trips[0].stops[1]: must have at least 4 item(s), got 3; "
        "a stop is [station, platform, arrive, depart]",
        id="short-stop",
    ),
    pytest.param(
        'changeover: "03:00"',
        'changeover: "27:00"',
        "tt.yaml:7:15: timetable.changeover: the changeover is a clock time of day "
        "(00:00 to 23:59:59), got '27:00'",
        id="changeover-past-the-day",
    ),
    pytest.param(
        "day_type: weekday",
        "day_type: holiday",
        "tt.yaml:6:13: timetable.day_type: invalid value 'holiday'; "
        "allowed values: weekday, weekend",
        id="bad-day-type",
    ),
    pytest.param(
        '- [S02, P02D, "05:31:35", "05:32:05"]',
        '- [S02, P02D, "05:31:35", "05:32:05"',
        "tt.yaml:15:9: <root>: YAML syntax error: while parsing a flow sequence: "
        "expected ',' or ']', but got '-'",
        id="yaml-syntax",
    ),
    pytest.param(
        '"05:31:35", "05:32:05"',
        '"\\ud800", "05:32:05"',
        "tt.yaml:14:23: timetable.trips[0].stops[1][2]: text holds a lone surrogate U+D800 "
        "at character 0",
        id="lone-surrogate",
    ),
]


@pytest.mark.parametrize(("old", "new", "error"), BAD)
def test_a_bad_file_is_refused_where_it_is_wrong(
    line: Line, old: str, new: str, error: str
) -> None:
    text = SMALL.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ConfigError) as err:
        parse_timetable(text.replace(old, new, 1), line, "tt.yaml")
    assert str(err.value) == error


def test_the_error_names_the_file_it_read(line: Line, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.read_text(encoding="utf-8").replace("line: L2", "line: X"), "utf-8")
    with pytest.raises(ConfigError) as err:
        load_timetable(bad, line)
    assert (err.value.file, err.value.line, err.value.column) == (str(bad), 5, 9)
    with pytest.raises(ConfigError, match="cannot read file"):
        load_timetable(tmp_path / "missing.yaml", line)


def test_libyaml_and_the_pure_parser_place_every_value_alike() -> None:
    text = SMALL.read_text(encoding="utf-8")
    fast, pure = compose_fast(text, "tt.yaml"), compose(text, "tt.yaml")
    assert fast.read(TimetableFile) == pure.read(TimetableFile)
    assert set(fast.nodes) == set(pure.nodes)
    for path, node in pure.nodes.items():
        other = fast.nodes[path]
        assert (other.start_mark.line, other.start_mark.column) == (
            node.start_mark.line,
            node.start_mark.column,
        ), path


def two_stop_file(times: tuple[str, str, str, str], changeover: str = "03:00") -> str:
    a, b, c, d = times
    return (
        "timetable:\n  id: t\n  line: L2\n"
        f'  changeover: "{changeover}"\n'
        "  trips:\n"
        '    - {number: "1", service: "1", direction: down, stops: [\n'
        f'        [S01, P01D, "{a}", "{b}"], [S02, P02D, "{c}", "{d}"]]}}\n'
        '  workings: [{service: "1", trips: ["1"]}]\n'
    )


@settings(max_examples=200, deadline=None)
@given(
    changeover=st.integers(0, DAY_S - 60).map(lambda s: s - s % 60),
    offset=st.integers(0, DAY_S - 1),
    steps=st.lists(st.integers(0, 3600), min_size=3, max_size=3),
    with_seconds=st.booleans(),
)
def test_times_come_back_as_written(
    line: Line, changeover: int, offset: int, steps: list[int], with_seconds: bool
) -> None:
    """Any time of the service day, written HH:MM:SS (or HH:MM), is read as the
    seconds it says, past midnight too."""
    times = [changeover + offset]
    for step in steps:
        times.append(times[-1] + step)
    if not with_seconds:
        times = [t - t % 60 for t in times]
    last = changeover + DAY_S - 1
    assume(times[-1] <= min(last, MAX_SERVICE_S))
    text = [format_service_time(t, with_seconds=with_seconds) for t in times]
    changeover_text = format_service_time(changeover, with_seconds=False)
    tt = parse_timetable(two_stop_file((text[0], text[1], text[2], text[3]), changeover_text), line)
    stops = tt.trips[0].stops
    assert [stops[0].arrive_s, stops[0].depart_s, stops[1].arrive_s, stops[1].depart_s] == times
    assert tt.changeover_s == changeover


def test_a_generated_day_loads(line: Line) -> None:
    tt = parse_timetable(day_text(), line, "day.yaml")
    assert (len(tt.trips), len(tt.workings), len(tt.stops)) == (700, 35, 700 * 23)
    assert tt.next_trip("001001") == "001002"
    assert tt.trip_by_number["001002"].origin == "S23"
