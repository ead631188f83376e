"""The recorder when the disk refuses: nothing is lost while it keeps what it could not
write (a bounded while), the dispatcher is told by a local alarm, a short write goes on
where it stopped, and past the bound it starts a new file from a keyframe."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path
from typing import Any

import pytest

from app.model.topology import Line
from app.replay import recorder as recorder_module
from app.replay.format import Kind
from app.replay.recorder import BLACKBOX_FAILED, Recorder, RecorderSettings
from app.replay.store import Recording, day_files, days
from app.session import DispatcherSession


class Disk:
    """The writer's file, with a switch: full (every write refused) or short writes."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.full = False
        self.short = False

    def write(self, data: memoryview) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        if self.short and len(data) > 3:
            return int(self.real.write(data[:3]))  # the OS took only part of it
        return int(self.real.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def session(line: Line) -> DispatcherSession:
    return DispatcherSession(line, [], node="WS-T", dispatcher="t", role="observer")


def test_a_full_disk_raises_an_alarm_keeps_the_records_and_loses_none(
    demo_line: Line, tmp_path: Path
) -> None:
    s = session(demo_line)
    rec = Recorder(RecorderSettings(tmp_path), s)

    async def scenario() -> None:
        rec.start()
        assert rec.writer is not None
        disk = Disk(rec.writer._file)
        rec.writer._file = disk  # type: ignore[assignment]
        disk.full = True
        for n in range(5):
            s.local.set(f"probe:{n}", f"probe {n}", True)
        rec.flush()
        assert BLACKBOX_FAILED in s.local.active
        assert rec.writer.pending > 0
        disk.full = False
        disk.short = True
        rec.flush()  # short writes: it goes on where each stopped
        assert BLACKBOX_FAILED not in s.local.active
        rec.flush()  # and the alarm's clear, recorded after
        assert rec.writer.pending == 0
        await rec.aclose()

    asyncio.run(scenario())
    (day,) = days(tmp_path)
    recording = Recording.open_day(tmp_path, day)
    assert not recording.damage
    probes = [
        recording.body(i).alarm.code
        for i in recording.of_kinds((Kind.LOCAL_ALARM,))
        if recording.body(i).alarm.code.startswith("probe")
    ]
    assert probes == [f"probe:{n}" for n in range(5)]  # none lost, in order
    assert recording.kind(len(recording) - 1) is Kind.END


def test_past_the_bound_it_drops_says_so_and_starts_a_new_file_from_a_keyframe(
    demo_line: Line, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "MAX_PENDING", 1)
    s = session(demo_line)
    rec = Recorder(RecorderSettings(tmp_path), s)

    async def scenario() -> None:
        rec.start()
        assert rec.writer is not None
        first = rec.writer.path
        disk = Disk(rec.writer._file)
        rec.writer._file = disk  # type: ignore[assignment]
        disk.full = True
        s.local.set("probe:lost", "probe", True)
        rec.flush()
        writer: Any = rec.writer  # the flush closed it
        assert writer is None and rec.dropped > 0
        assert BLACKBOX_FAILED in s.local.active
        rec._cycle()  # the disk takes writes again (a new file): a new file, a keyframe
        assert rec.writer is not None and rec.writer.path != first
        rec.flush()
        assert BLACKBOX_FAILED not in s.local.active
        await rec.aclose()

    asyncio.run(scenario())
    (day,) = days(tmp_path)
    files = day_files(tmp_path, day)
    assert len(files) == 2
    newest = Recording.open([max(files, key=lambda p: p.stat().st_mtime_ns)])
    assert [newest.kind(i) for i in range(2)] == [Kind.META, Kind.KEYFRAME]
    assert rec.errors >= 1


def test_midnight_starts_the_new_days_file_at_the_first_record_after_it(
    demo_line: Line, tmp_path: Path
) -> None:
    """Not a second late: every record of a day is in that day's folder, the END too."""
    from app.replay.store import next_midnight_ms

    midnight = next_midnight_ms(1_796_600_000_000, demo_line.timezone)
    now = [midnight - 1_500]
    s = session(demo_line)
    rec = Recorder(RecorderSettings(tmp_path), s, clock_ms=lambda: now[0])

    async def scenario() -> None:
        rec.start()
        s.local.set("before", "before midnight", True)
        now[0] = midnight + 5  # the cycle has not run yet
        s.local.set("after", "after midnight", True)
        now[0] = midnight - 60_000  # the wall clock steps back (NTP): times do not
        s.local.set("stepped", "a clock stepped back", True)
        await rec.aclose()

    asyncio.run(scenario())
    before, after = days(tmp_path)
    old = Recording.open_day(tmp_path, before)
    new = Recording.open_day(tmp_path, after)
    assert all(old.time(i) < midnight for i in range(len(old)))
    assert old.kind(len(old) - 1) is Kind.END
    assert all(new.time(i) >= midnight for i in range(len(new)))
    codes = [new.body(i).alarm.code for i in new.of_kinds((Kind.LOCAL_ALARM,))]
    assert codes == ["after", "stepped"]
    times = [new.time(i) for i in range(len(new))]
    assert times == sorted(times)
    assert [new.kind(i) for i in range(2)] == [Kind.META, Kind.KEYFRAME]
