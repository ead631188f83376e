"""The demo runs its simulator pair to the workstation's timetable, from the clock's time
of day within service hours (else the morning peak), perturbed, with one train stuck
mid-line ten minutes in (so that delays happen, propagate and raise an alarm)."""

from __future__ import annotations

import dataclasses

from app.config import load_line, load_workstation
from app.config.timetable import load_timetable
from app.counterparts.demo import mid_line_unit, timetable_args
from app.paths import default_workstation_file
from app.timetable.times import parse_service_time as hms


def test_the_demo_runs_the_plan_from_now_or_the_morning_peak_with_an_incident() -> None:
    ws = load_workstation(default_workstation_file())
    night = timetable_args(ws, clock_s=3 * 3600)
    assert night[night.index("--service-start") + 1] == "07:40:00"
    noon = timetable_args(ws, clock_s=12 * 3600 + 5)
    assert noon[noon.index("--service-start") + 1] == "12:00:05"
    kind, _, rest = noon[noon.index("--incident") + 1].partition(":")
    unit, _, when = rest.partition("@")
    assert kind == "stuck" and when == "12:10+4"
    plan = load_timetable(ws.timetable.file, load_line(ws.line))
    assert int(unit) == mid_line_unit(plan, hms("12:10:05"))
    assert "--dwell-spread" in noon and "--run-spread" in noon
    # no timetable, no timetable options
    assert (
        timetable_args(
            dataclasses.replace(ws, timetable=dataclasses.replace(ws.timetable, file="")), 0
        )
        == []
    )
