"""The demo weekday (resources/timetables/demo-weekday.yaml) is what its generator writes."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from app.config.timetable import load_timetable
from app.model.topology import Direction, Line
from app.timetable.times import parse_service_time as hms

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "resources" / "timetables" / "generate_demo_timetable.py"
COMMITTED = ROOT / "resources" / "timetables" / "demo-weekday.yaml"


def test_the_generator_rewrites_the_committed_file_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "demo-weekday.yaml"
    subprocess.run([sys.executable, str(SCRIPT), str(out)], check=True, cwd=tmp_path)
    assert out.read_bytes() == COMMITTED.read_bytes(), (
        "demo-weekday.yaml is not what its generator writes: "
        "run python resources/timetables/generate_demo_timetable.py"
    )
    assert COMMITTED.read_text(encoding="utf-8").startswith("# GENERATED FILE - do not edit")


def test_the_demo_weekday_is_a_weekday_of_the_demo_line(demo_line: Line) -> None:
    tt = load_timetable(COMMITTED, demo_line)
    assert (tt.id, tt.line_id) == ("demo-weekday", demo_line.id)
    assert len(tt.trips) >= 300
    first, last = tt.span_s()
    assert hms("05:25") <= first <= hms("05:35")
    assert hms("23:15") <= last <= hms("23:45")

    def headways(start: str, end: str) -> list[int]:
        times = sorted(
            t.start_s
            for t in tt.trips
            if t.direction is Direction.DOWN and hms(start) <= t.start_s < hms(end)
        )
        return [b - a for a, b in itertools.pairwise(times)]

    assert set(headways("07:00", "09:00")) <= {180, 240}  # the morning peak
    assert set(headways("17:00", "19:30")) <= {180, 240}
    assert set(headways("10:00", "16:00")) <= set(range(360, 481))  # off-peak
    # every trip belongs to one working, in the working's order of time
    in_workings = [n for w in tt.workings for n in w.trips]
    assert sorted(in_workings) == sorted(t.number for t in tt.trips)
    for w in tt.workings:
        trips = [tt.trip_by_number[n] for n in w.trips]
        for a, b in itertools.pairwise(trips):
            assert a.destination == b.origin and a.direction is not b.direction
            assert b.stops[0].arrive_s > a.end_s  # the turnback takes time
    assert len({w.unit for w in tt.workings}) == len(tt.workings)
