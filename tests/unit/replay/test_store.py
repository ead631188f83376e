"""The black box's files: whole records or none, torn tails cut, days kept and deleted,
two files merged by time, one writer per file; the decoder meets any bytes calmly."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.alarms.model import AlarmList
from app.alarms.records import AlarmEvent, EventType, Priority
from app.model.state import TrainState
from app.model.topology import Direction
from app.replay.format import (
    FILE_HEADER,
    MAX_BODY,
    PACKED,
    EndBody,
    InvalidBody,
    Kind,
    RecordError,
    TrainsBody,
    check_file_header,
    decode,
    file_header,
    frame,
    iter_records,
    scan,
)
from app.replay.store import (
    Recording,
    Writer,
    apply_retention,
    day_dir,
    days,
    desks,
    repair,
)

T0 = 1_796_600_000_000


def records(n: int) -> bytes:
    return b"".join(frame(T0 + i * 10, InvalidBody(f"S{i}")) for i in range(n))


def test_a_record_cut_anywhere_is_absent_and_the_ones_before_it_whole() -> None:
    data = file_header() + records(5)
    whole = scan(data, FILE_HEADER.size)
    assert len(whole.records) == 5 and not whole.damage
    last = whole.records.offsets[-1] - 17  # where the last record starts
    for cut in range(last, len(data)):
        found = scan(data[:cut], FILE_HEADER.size)
        assert len(found.records) == 4
        assert found.end == last
        assert found.damage == ("" if cut == last else found.damage) and (
            cut == last or "byte" in found.damage
        )


def test_a_flipped_bit_fails_its_record_and_the_rest_is_left_out() -> None:
    data = bytearray(file_header() + records(3))
    data[-3] ^= 0x01
    found = scan(bytes(data), FILE_HEADER.size)
    assert len(found.records) == 2 and "CRC" in found.damage


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_after_good_records_never_raise_and_never_lose_them(junk: bytes) -> None:
    good = file_header() + records(3)
    found = scan(good + junk, FILE_HEADER.size)
    assert len(found.records) >= 3
    for i in range(3):
        off, size = found.records.offsets[i], found.records.sizes[i]
        assert decode(Kind(found.records.kinds[i]), (good + junk)[off : off + size], "t")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_a_body_that_does_not_decode_says_where_and_what(body: bytes) -> None:
    try:
        decode(Kind.KEYFRAME, body, "file.dhbx @ 42")
    except RecordError as exc:
        assert exc.where == "file.dhbx @ 42" and "keyframe" in exc.detail


def test_not_a_black_box_file_is_refused_by_name() -> None:
    with pytest.raises(RecordError, match="not a black-box file"):
        check_file_header(b"PK\x03\x04zip", "x.zip")
    with pytest.raises(RecordError, match="version 9"):
        check_file_header(b"DHBX\x09\x00", "new.dhbx")


def test_repair_cuts_a_torn_tail_and_keeps_every_whole_record(tmp_path: Path) -> None:
    path = tmp_path / "a.dhbx"
    path.write_bytes(file_header() + records(4) + frame(T0 + 99, EndBody(5))[:-2])
    r = repair(path)
    assert r is not None and r.cut > 0
    assert len(list(iter_records(path.read_bytes(), str(path)))) == 4
    assert repair(path) is None  # whole now


def test_a_file_being_written_is_not_cut_and_has_one_writer(tmp_path: Path) -> None:
    path = tmp_path / "d" / "w.dhbx"
    w = Writer(path)
    w.append(T0, InvalidBody("A"))
    w.flush()
    with open(path, "ab") as f:
        f.write(b"\x01\x02")  # looks torn, but the writer holds it
    assert repair(path) is None
    w.close()


def test_two_files_of_a_day_merge_by_time(tmp_path: Path) -> None:
    a, b = tmp_path / "a.dhbx", tmp_path / "b.dhbx"
    a.write_bytes(file_header() + frame(T0, InvalidBody("A1")) + frame(T0 + 20, InvalidBody("A2")))
    b.write_bytes(
        file_header() + frame(T0 + 10, InvalidBody("B1")) + frame(T0 + 20, InvalidBody("B2"))
    )
    rec = Recording.open([a, b])
    assert [rec.body(i).server for i in range(len(rec))] == ["A1", "B1", "A2", "B2"]
    assert rec.first_at_or_after(T0 + 15) == 2
    assert rec.kind(0) is Kind.INVALID


def test_days_past_the_retention_are_deleted(tmp_path: Path) -> None:
    today = dt.date(2026, 12, 7)
    for back in range(5):
        day_dir(tmp_path, today - dt.timedelta(days=back)).mkdir(parents=True)
    (tmp_path / "not-a-day").mkdir()
    gone = apply_retention(tmp_path, today, keep_days=3)
    assert gone == [today - dt.timedelta(days=4), today - dt.timedelta(days=3)]
    assert days(tmp_path) == [today - dt.timedelta(days=2), today - dt.timedelta(days=1), today]
    assert (tmp_path / "not-a-day").is_dir()


def _event(aid: str, ev: EventType, ms: int, *, active: bool, acked: bool) -> AlarmEvent:
    return AlarmEvent(
        aid,
        ev,
        "W1",
        "ST1",
        "Z1",
        Priority.HIGH,
        "switch_lost",
        "ALM-1",
        "失表",
        "lost",
        ms,
        ms,
        active,
        acked,
    )


def test_an_alarm_list_restored_from_its_frame_is_the_same_list() -> None:
    now = [T0]
    live = AlarmList(lambda: now[0])
    live.apply_local(_event("local:a", EventType.RAISE, T0, active=True, acked=False))
    live.apply_local(_event("local:b", EventType.RAISE, T0 + 5, active=True, acked=False))
    live.apply_local(_event("local:a", EventType.ACK, T0 + 9, active=True, acked=True))
    copy = AlarmList(lambda: now[0])
    changes = copy.restore(live.frame())
    assert changes.reset
    assert copy.frame() == live.frame()
    assert copy.newest_highest_unacked() == live.newest_highest_unacked()
    assert copy.is_local("local:b")


def test_a_long_body_is_stored_deflated_and_reads_back_the_same() -> None:
    body = TrainsBody(
        tuple(TrainState(i, f"T{i:03d}", "S0101", 10.0 * i, 40.0, Direction.UP) for i in range(40))
    )
    data = file_header() + frame(T0, body)
    found = scan(data, FILE_HEADER.size)
    assert found.records.kinds[0] == Kind.TRAINS and found.records.packed[0] == 1
    assert found.records.sizes[0] < len(msgspec.msgpack.encode(body)) / 3
    ((_t, kind, back),) = list(iter_records(data, "t"))
    assert kind is Kind.TRAINS and back == body


def test_a_body_marked_deflated_that_is_not_says_so() -> None:
    data = b"not deflated"
    head = struct.pack("<qB", T0, Kind.TRAINS | PACKED)
    crc = zlib.crc32(data, zlib.crc32(head))
    rec = file_header() + struct.pack("<II", len(data), crc) + head + data
    with pytest.raises(RecordError, match="not deflated as marked"):
        list(iter_records(rec, "f.dhbx"))


def test_an_empty_file_of_a_day_is_left_out_and_repair_deletes_it(tmp_path: Path) -> None:
    day = dt.date(2026, 12, 7)
    folder = day_dir(tmp_path, day)
    folder.mkdir(parents=True)
    good = folder / "WS-1-080000-10.dhbx"
    good.write_bytes(file_header() + records(3))
    empty = folder / "WS-1-090000-11.dhbx"
    empty.write_bytes(b"")  # killed before its header
    rec = Recording.open_day(tmp_path, day)
    assert len(rec) == 3 and any("left out" in d for d in rec.damage)
    r = repair(empty)
    assert r is not None and not empty.exists()


def test_one_folder_several_desks_each_day_is_one_desks(tmp_path: Path) -> None:
    day = dt.date(2026, 12, 7)
    folder = day_dir(tmp_path, day)
    folder.mkdir(parents=True)
    (folder / "WS-01-080000-10.dhbx").write_bytes(file_header() + records(2))
    (folder / "WS-02-080001-11-1.dhbx").write_bytes(file_header() + records(5))
    assert desks(tmp_path, day) == ["WS-01", "WS-02"]
    with pytest.raises(ValueError, match=r"several desks recorded .*WS-01, WS-02"):
        Recording.open_day(tmp_path, day)
    assert len(Recording.open_day(tmp_path, day, "WS-02")) == 5


def test_a_clock_set_far_ahead_never_deletes_the_newest_days(tmp_path: Path) -> None:
    recorded = [dt.date(2026, 12, d) for d in range(1, 6)]
    for day in recorded:
        day_dir(tmp_path, day).mkdir(parents=True)
    apply_retention(tmp_path, dt.date(2036, 1, 1), keep_days=3)
    assert days(tmp_path) == recorded[-3:]


def test_a_body_that_inflates_past_the_bound_is_refused() -> None:
    bomb = zlib.compress(b"\x00" * (MAX_BODY + 10), 9)
    with pytest.raises(RecordError, match="inflates past"):
        decode(Kind.TRAINS, bomb, "crafted.dhclip", packed=True)
