"""The player applies each record at its own time: the service clock a snapshot told
runs on from when it was told, and what the player tells, it tells at the record's
time (the logs stamp it)."""

from __future__ import annotations

from pathlib import Path

from app.model.state import StateSnapshot
from app.model.topology import Line
from app.replay.format import LocalAlarmBody, Meta, SnapshotBody, file_header, frame
from app.replay.player import Player
from app.replay.store import Recording
from app.session.health import LocalAlarm

T0 = 1_796_600_000_000
SERVICE_MS = 10 * 3_600_000  # 10:00:00 of the service day


def recording(tmp_path: Path, line: Line) -> Recording:
    path = tmp_path / "WS-1-080000-1.dhbx"
    meta = Meta(line.id, line.digest(), "WS-1", "d1", "dispatcher", T0, line.timezone)
    snap = StateSnapshot(seq=1, time_ms=T0, service_date="2026-12-07", service_ms=SERVICE_MS)
    alarm = LocalAlarm("probe", "a probe", True, T0 + 20_000)
    path.write_bytes(
        file_header()
        + frame(T0, meta)
        + frame(T0 + 1_000, SnapshotBody("A", snap))
        + frame(T0 + 20_000, LocalAlarmBody(alarm))
    )
    return Recording.open([path])


def test_the_service_clock_runs_on_from_when_it_was_told(demo_line: Line, tmp_path: Path) -> None:
    player = Player(demo_line, recording(tmp_path, demo_line))
    player.seek(T0 + 61_000)  # a minute after the snapshot told 10:00:00
    assert player.service.now_ms() == SERVICE_MS + 60_000
    player.seek(T0)
    player.advance(T0 + 31_000)  # played on: the same
    assert player.service.now_ms() == SERVICE_MS + 30_000


def test_what_the_player_tells_it_tells_at_the_records_time(
    demo_line: Line, tmp_path: Path
) -> None:
    player = Player(demo_line, recording(tmp_path, demo_line))
    heard: list[int] = []
    player.alarm.connect(lambda _a: heard.append(player.now_ms()))
    player.seek(T0)
    player.advance(T0 + 45_000)
    assert heard == [T0 + 20_000]
    assert player.now_ms() == T0 + 45_000
