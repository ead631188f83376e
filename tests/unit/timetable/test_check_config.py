"""``--check-config`` on timetable files: the kind by its top key, the line it is
checked against, and no Qt (a real child process)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import check_files

ROOT = Path(__file__).resolve().parents[3]
DEMO_LINE = ROOT / "resources" / "lines" / "demo-line.yaml"
WORKSTATION = ROOT / "resources" / "config" / "workstation.yaml"
SMALL = ROOT / "tests" / "data" / "timetable-small.yaml"


def checked(paths: list[Path], **kwargs: str | Path) -> tuple[int, list[str]]:
    out = io.StringIO()
    rc = check_files([str(p) for p in paths], out, **kwargs)
    return rc, out.getvalue().splitlines()


@pytest.fixture
def no_machine_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The shipped workstation file is the default one, whatever the machine has."""
    monkeypatch.setenv("DISPATCHER_CONFIG_DIR", str(tmp_path / "no-machine-config"))
    monkeypatch.delenv("DISPATCHER_RESOURCES", raising=False)


@pytest.mark.usefixtures("no_machine_config")
def test_a_timetable_alone_is_checked_against_the_workstation_files_line() -> None:
    rc, lines = checked([SMALL])
    assert rc == 0, lines
    assert lines == [
        f"OK {SMALL}: timetable small-weekday (L2, weekday): 4 trips, 2 workings, 13 stops, "
        "05:30:00-24:08:00, changeover 03:00, digest 67e49eca20cfa190; "
        f"checked against line L2 ({DEMO_LINE})"
    ]


def test_the_line_given_before_it_is_used(tmp_path: Path) -> None:
    other = tmp_path / "other-line.yaml"
    other.write_text(
        DEMO_LINE.read_text(encoding="utf-8").replace("id: L2", "id: L7", 1), encoding="utf-8"
    )
    rc, lines = checked([DEMO_LINE, SMALL])
    assert rc == 0, lines
    assert lines[1].endswith(f"checked against line L2 ({DEMO_LINE})")
    rc, lines = checked([other, SMALL])
    assert rc == 1
    assert lines[-1] == (
        f"{SMALL}:5:9: timetable.line: the timetable is for line 'L2' but the line file is 'L7'"
    )


def test_the_workstation_given_names_the_line(tmp_path: Path) -> None:
    other = tmp_path / "line.yaml"
    other.write_text(
        DEMO_LINE.read_text(encoding="utf-8").replace("id: L2", "id: L7", 1), encoding="utf-8"
    )
    ws = tmp_path / "workstation.yaml"
    ws.write_text(
        WORKSTATION.read_text(encoding="utf-8")
        .replace("../lines/demo-line.yaml", str(other))
        .replace("file: ../timetables/demo-weekday.yaml", "file: ''"),  # no plan of its own
        encoding="utf-8",
    )
    rc, lines = checked([SMALL], workstation=ws)
    assert rc == 1
    assert "is for line 'L2' but the line file is 'L7'" in lines[-1]
    rc, lines = checked([ws, SMALL])  # a workstation file checked before it: its line
    assert rc == 1
    assert "is for line 'L2' but the line file is 'L7'" in lines[-1]


@pytest.mark.usefixtures("no_machine_config")
def test_a_bad_timetable_fails_the_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SMALL.read_text(encoding="utf-8").replace("[S03, P03D,", "[S03, P03U,", 1),
        encoding="utf-8",
    )
    rc, lines = checked([DEMO_LINE, bad, SMALL])
    assert rc == 1
    assert lines[-1] == (
        f"{bad}:15:17: timetable.trips[0].stops[2][1]: platform 'P03U' serves up trains; "
        "trip 01001 runs down"
    )
    assert len(lines) == 2  # the files after it are not checked


def test_an_unknown_kind_names_the_timetable(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("timetables: {}\n", encoding="utf-8")
    rc, lines = checked([other])
    assert rc == 1
    assert "'timetable' (a timetable file)" in lines[-1]


def run_main(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from ui.main import main\n"
        "rc = main(sys.argv[1:])\n"
        "assert not any(m.split('.')[0] == 'PySide6' for m in sys.modules), 'Qt imported'\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_the_program_checks_a_timetable_without_qt(tmp_path: Path) -> None:
    good = run_main("--config", str(WORKSTATION), "--check-config", str(DEMO_LINE), str(SMALL))
    assert good.returncode == 0, good.stderr
    assert good.stdout.count("OK ") == 2
    assert "timetable small-weekday" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SMALL.read_text(encoding="utf-8").replace('"05:32:05"', '"05:31:00"'), encoding="utf-8"
    )
    refused = run_main("--config", str(WORKSTATION), "--check-config", str(bad))
    assert refused.returncode == 1, refused.stderr
    assert refused.stdout.strip() == (
        f"{bad}:14:35: timetable.trips[0].stops[1][3]: departs at 05:31:00 before it "
        "arrives at 05:31:35"
    )


def test_a_workstation_files_timetable_is_checked_with_it(tmp_path: Path) -> None:
    ws = tmp_path / "workstation.yaml"
    text = WORKSTATION.read_text(encoding="utf-8").replace(
        "../lines/demo-line.yaml", str(DEMO_LINE)
    )
    assert "file: ../timetables/demo-weekday.yaml" in text  # the default names the demo's
    text = text.replace("file: ../timetables/demo-weekday.yaml", "file: {plan}")
    ws.write_text(text.format(plan=SMALL), encoding="utf-8")
    rc, lines = checked([ws])
    assert rc == 0, lines
    assert lines[0].endswith(
        "timetable small-weekday (L2, weekday): 4 trips, 2 workings, "
        "13 stops, 05:30:00-24:08:00, changeover 03:00, digest "
        "67e49eca20cfa190"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.read_text(encoding="utf-8").replace("unit: 0", "unit: 1"), "utf-8")
    ws.write_text(text.format(plan=bad), encoding="utf-8")
    rc, lines = checked([ws])
    assert rc == 1
    assert lines[-1].startswith(f"{bad}:41:29: timetable.workings[1].unit: unit 1 already")
