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


def test_a_zone_this_machine_lacks_is_the_machines_own() -> None:
    """Windows ships no zone database: the line's zone is then the machine's own, and
    the demo and the simulator's service clock still start (the installer's demo
    shortcut failed on 'No time zone found with key Asia/Shanghai')."""
    from app.clock import zone
    from app.counterparts.sim.timetable_options import service_clock

    assert zone("Asia/Shanghai") is not None
    assert zone("Nowhere/Atlantis") is None and zone("") is None
    line = load_line(load_workstation(default_workstation_file()).line)
    nowhere = dataclasses.replace(line, timezone="Nowhere/Atlantis")
    day, start_s = service_clock(nowhere, None, None, now_ms=1_796_000_000_000)
    assert len(day) == 10 and 3 * 3600 <= start_s < 27 * 3600
