"""``dispatcher-cli history``, run in-process on a recording written record by record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.comms.linkstate import LinkInfo, LinkState
from app.control.pipeline import CommandRecord, Intent
from app.model.commands import CommandOp, CommandResult, Outcome
from app.paths import default_line_file
from app.replay.clip import open_clip
from app.replay.format import CommandBody, Kind, LinksBody, MasterBody, Meta
from app.replay.store import Writer
from app.session.election import MasterView

#: 2027-01-15 16:00:00 in Shanghai (08:00 UTC)
T0 = 1_800_000_000_000


def command(device: str, outcome: Outcome, who: str) -> CommandBody:
    intent = Intent(device, CommandOp.THROW_REVERSE, "Z1", f"k-{device}", T0)
    result = CommandResult("c1", device, CommandOp.THROW_REVERSE, outcome)
    return CommandBody(CommandRecord(intent, result, 7, T0, T0 + 5), who, "ws1")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "bb"
    w = Writer(root / "2027-01-15" / "ws1-160000-1.dhbx")
    w.append(T0, Meta("demo", "d", "ws1", "wang", "dispatcher", T0, "Asia/Shanghai"))
    w.append(T0 + 5, LinksBody((LinkInfo("A1", "A", "127.0.0.1", 1, LinkState.UP),)))
    w.append(T0 + 60_000, command("W1", Outcome.EXECUTED, "wang"))
    w.append(T0 + 120_000, MasterBody("A", MasterView("B", 2, (("B", 2),)), failover=True))
    w.append(T0 + 180_000, command("W2", Outcome.REFUSED, "li"))
    w.close()
    # an older day, so the default (the newest) is seen to be chosen
    w = Writer(root / "2027-01-14" / "ws1-160000-1.dhbx")
    w.append(T0 - 86_400_000, Meta("demo", "d", "ws1", "wang", "dispatcher", T0, "Asia/Shanghai"))
    w.close()
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(["history", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_the_newest_day_searched_as_json_lines(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, hits, _ = run(capsys, "--root", str(root), "--line", str(default_line_file()))
    assert code == 0
    assert [h["kind"] for h in hits] == ["link", "command", "failover", "command"]
    cmd = hits[1]
    assert cmd["time"] == "2027-01-15T16:01:00.000+08:00"
    assert cmd["time_ms"] == T0 + 60_000
    assert (cmd["device"], cmd["dispatcher"]) == ("W1", "wang")
    assert set(cmd) == {"time", "time_ms", "kind", "device", "station", "dispatcher", "text"}


def test_filters_and_window(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ("--root", str(root), "--date", "2027-01-15", "--line", str(default_line_file()))
    code, hits, _ = run(capsys, *base, "--from", "16:01", "--to", "16:02")
    assert code == 0 and [h["kind"] for h in hits] == ["command", "failover"]
    _, hits, _ = run(capsys, *base, "--kind", "command", "--dispatcher", "LI")
    assert [h["device"] for h in hits] == ["W2"]
    _, hits, _ = run(capsys, *base, "--text", "REFUSED")
    assert [h["device"] for h in hits] == ["W2"]
    _, hits, _ = run(capsys, *base, "--kind", "failover", "--kind", "link")
    assert [h["kind"] for h in hits] == ["link", "failover"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--date", "2027-13-01"), "--date '2027-13-01': expected YYYY-MM-DD"),
        (("--from", "7h"), "--from '7h': expected HH:MM or HH:MM:SS"),
        (("--to", "25:00"), "--to '25:00': not a time of day"),
        (("--from", "17:00", "--to", "16:00"), "--to 16:00 is before --from 17:00"),
        (("--kind", "alarms"), "--kind: unknown kind alarms"),
        (("--clip", "x.dhclip", "--from", "16:00"), "--clip needs --from and --to"),
    ],
)
def test_bad_arguments_say_what_and_where(
    root: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], says: str
) -> None:
    code, hits, err = run(capsys, "--root", str(root), *argv)
    assert code == 2 and hits == []
    assert says in err


def test_no_recording_is_not_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--root", str(tmp_path / "none"))
    assert code == 1 and "no recording in" in err
    code, _, err = run(capsys, "--root", str(tmp_path), "--date", "2027-01-01")
    assert code == 1 and "no recording of 2027-01-01" in err


def test_a_clip_of_a_window(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "incident.dhclip"
    argv = ("--root", str(root), "--line", str(default_line_file()), "--clip", str(out))
    code, printed, err = run(capsys, *argv, "--from", "16:00:30", "--to", "16:02:30")
    assert code == 0, err
    assert printed[0]["clip"] == str(out)
    clip = open_clip(out)
    kinds = [clip.kind(i) for i in range(len(clip))]
    assert Kind.COMMAND in kinds and Kind.MASTER in kinds
    assert clip.time(len(clip) - 1) == T0 + 150_999


def test_a_folder_two_desks_recorded_into_is_read_one_desk_at_a_time(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = Writer(root / "2027-01-15" / "ws2-160100-2.dhbx")
    w.append(T0 + 70_000, Meta("demo", "d", "ws2", "li", "dispatcher", T0, "Asia/Shanghai"))
    w.append(T0 + 90_000, command("W9", Outcome.EXECUTED, "li"))
    w.close()
    base = ("--root", str(root), "--date", "2027-01-15", "--config", str(root / "none.yaml"))
    code, hits, err = run(capsys, *base)
    assert code == 2 and not hits
    assert "several desks" in err and "ws1, ws2" in err
    code, hits, _ = run(capsys, *base, "--desk", "ws2", "--kind", "command")
    assert code == 0 and [h["device"] for h in hits] == ["W9"]
    code, _, err = run(capsys, *base, "--desk", "ws9")
    assert code == 2 and "--desk ws9" in err
