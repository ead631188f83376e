"""The day's actuals on disk and back (``dispatcher-cli actuals --date D``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.model.topology import Direction
from app.timetable.actuals import Actual, ActualKind, ActualsStore
from app.timetable.archive import ArchiveError, day_path, read_day, save_day
from app.timetable.model import DayType, Stop, Timetable, Trip, Working


def store() -> ActualsStore:
    trip = Trip(
        "01001",
        "01",
        Direction.DOWN,
        (Stop("S01", "P01D", 86_000, 86_030), Stop("S02", "P02D", 86_500, 86_530)),
    )
    plan = Timetable("t", "L2", DayType.WEEKDAY, (trip,), (Working("01", 7, ("01001",)),))
    s = ActualsStore(plan, "2026-12-06")
    s.record(Actual("01001", 0, "S01", "P01D", ActualKind.DEPART, 86_100_000, 86_030_000, 7))
    s.record(Actual("01001", 1, "S02", "P02D", ActualKind.ARRIVE, 86_560_000, 86_500_000, 7))
    return s


def test_a_day_kept_reads_back_event_by_event_past_midnight(tmp_path: Path) -> None:
    path = save_day(store(), tmp_path)
    assert path == day_path(tmp_path, "2026-12-06") and path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left
    got = list(read_day(path))
    assert [(r["trip"], r["kind"], r["at"], r["delay_s"]) for r in got] == [
        ("01001", "depart", "23:55:00", 70),
        ("01001", "arrive", "24:02:40", 60),  # past midnight: the same service day
    ]
    assert save_day(ActualsStore(store().timetable), tmp_path) is None  # no day yet


def test_a_file_that_is_not_a_day_says_where(tmp_path: Path) -> None:
    bad = tmp_path / "actuals-2026-12-06.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ArchiveError, match=r"actuals-2026-12-06.csv:1: not an actuals file"):
        list(read_day(bad))
    path = save_day(store(), tmp_path)
    assert path is not None
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("23:55:00", "23:61:00")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ArchiveError, match=r":2: minutes and seconds run to 59"):
        list(read_day(path))
    with pytest.raises(ArchiveError, match="not a date"):
        day_path(tmp_path, "06/12/2026")


def test_the_cli_prints_a_kept_day_as_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_day(store(), tmp_path)
    assert cli_main(["actuals", "--date", "2026-12-06", "--archive", str(tmp_path)]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["station"] for r in out] == ["S01", "S02"]
    assert cli_main(["actuals", "--date", "2026-12-07", "--archive", str(tmp_path)]) == 1
    assert "no actuals kept for 2026-12-07" in capsys.readouterr().err
