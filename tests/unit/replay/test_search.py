"""Search the day: a recording written record by record, then searched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.alarms.records import AlarmEvent, EventType, Priority, Record, RecordType, encode_record
from app.comms.linkstate import LinkInfo, LinkState
from app.config.line import load_line
from app.control.pipeline import CommandRecord, Intent
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.state import StateSnapshot
from app.model.topology import Line
from app.paths import default_line_file
from app.replay.format import (
    AlarmBody,
    CommandBody,
    InvalidBody,
    LinksBody,
    LocalAlarmBody,
    LocalEventBody,
    MasterBody,
    Meta,
    SnapshotBody,
)
from app.replay.search import Hit, Query, search, station_of_device
from app.replay.store import Recording, Writer
from app.session.election import MasterView
from app.session.health import LocalAlarm

T0 = 1_800_000_000_000


def event(ev: EventType, device: str, text_en: str, text_zh: str, by: str = "") -> AlarmEvent:
    return AlarmEvent(
        alarm_id=f"a-{device}",
        event=ev,
        device=device,
        station="S02",
        zone="Z1",
        priority=Priority.HIGH,
        kind="switch_lost",
        code="ALM-SW-001",
        text_zh=text_zh,
        text_en=text_en,
        raised_ms=T0,
        event_ms=T0,
        active=ev is EventType.RAISE,
        acked=False,
        by=by,
    )


def alarm_body(offset: int, e: AlarmEvent) -> AlarmBody:
    rec = Record(RecordType.CHANGE, "A", offset, T0, -1, e)
    return AlarmBody("alarms.20270115", offset, encode_record(rec))


def command(device: str, op: CommandOp, outcome: Outcome, reason: str = "") -> CommandBody:
    intent = Intent(device, op, "Z1", f"k-{device}", T0)
    result = CommandResult("c1", device, op, outcome, reason=reason)
    return CommandBody(CommandRecord(intent, result, 7, T0, T0 + 5), "wang", "ws1")


def link(name: str, server: str, state: LinkState) -> LinkInfo:
    return LinkInfo(name, server, "127.0.0.1", 5000, state)


def record(path: Path) -> Recording:
    w = Writer(path / "2027-01-15" / "ws1-080000-1.dhbx")
    w.append(T0, Meta("demo", "d", "ws1", "wang", "dispatcher", T0, "Asia/Shanghai"))
    w.append(T0 + 10, LinksBody((link("A1", "A", LinkState.UP), link("B1", "B", LinkState.UP))))
    w.append(T0 + 20, SnapshotBody("A", StateSnapshot(seq=1)))
    w.append(T0 + 1000, alarm_body(1, event(EventType.RAISE, "SW101", "Switch lost", "道岔失表")))
    w.append(T0 + 2000, command("SW101", CommandOp.THROW_NORMAL, Outcome.EXECUTED))
    w.append(T0 + 3000, command("SIG7", CommandOp.CLOSE_SIGNAL, Outcome.REFUSED, "zone held"))
    w.append(T0 + 4000, LinksBody((link("A1", "A", LinkState.UP), link("B1", "B", LinkState.UP))))
    w.append(T0 + 5000, LinksBody((link("A1", "A", LinkState.DOWN), link("B1", "B", LinkState.UP))))
    w.append(T0 + 5001, InvalidBody("A"))
    w.append(T0 + 6000, MasterBody("A", MasterView("B", 2, (("B", 2),)), failover=True))
    w.append(T0 + 7000, MasterBody("", MasterView("B", 2, (("B", 2),)), failover=False))
    w.append(
        T0 + 8000,
        LocalAlarmBody(
            LocalAlarm("LINK_LOST", "link A1 lost", True, T0 + 8000, (("device", "A1"),))
        ),
    )
    w.append(
        T0 + 9000, LocalEventBody(event(EventType.ACK, "A1", "Link lost", "链路中断", by="li"))
    )
    w.close()
    return Recording.open_day(path, dt.date(2027, 1, 15))


@pytest.fixture
def rec(tmp_path: Path) -> Recording:
    return record(tmp_path)


def kinds(hits: list[Hit]) -> list[str]:
    return [h.kind for h in hits]


def test_every_kind_found_in_time_order(rec: Recording) -> None:
    hits = search(rec, Query())
    assert kinds(hits) == [
        "link",  # A1 first seen
        "link",  # B1 first seen
        "alarm",
        "command",
        "command",
        "link",  # A1 up -> down; the unchanged LINKS record before it gives none
        "failover",
        "master",
        "local_alarm",
        "alarm",
    ]
    times = [h.time_ms for h in hits]
    assert times == sorted(times)
    assert all(rec.time(h.index) == h.time_ms for h in hits)
    down = hits[5]
    assert down.device == "A" and "up -> down" in down.text
    fo = hits[6]
    assert fo.device == "B" and "A lost" in fo.text
    raised = hits[2]
    assert (raised.device, raised.station) == ("SW101", "S02")
    cmd = hits[4]
    assert (cmd.device, cmd.dispatcher) == ("SIG7", "wang")
    assert "close_signal" in cmd.text and "refused" in cmd.text and "zone held" in cmd.text
    assert hits[9].dispatcher == "li"
    assert hits[8].device == "A1" and "raised" in hits[8].text


def test_filters(rec: Recording) -> None:
    assert kinds(search(rec, Query(kinds=frozenset({"command"})))) == ["command", "command"]
    assert [h.device for h in search(rec, Query(device="sw101"))] == ["SW101", "SW101"]
    assert kinds(search(rec, Query(station="S02"))) == ["alarm", "alarm"]
    assert kinds(search(rec, Query(dispatcher="LI"))) == ["alarm"]
    # Either language of an alarm's text, case-insensitively.
    assert kinds(search(rec, Query(text="失表"))) == ["alarm"]
    assert kinds(search(rec, Query(text="SWITCH LOST"))) == ["alarm"]
    assert kinds(search(rec, Query(text="zone held"))) == ["command"]
    assert kinds(search(rec, Query(kinds=frozenset({"failover", "master"})))) == [
        "failover",
        "master",
    ]
    with pytest.raises(ValueError, match="unknown kind bogus"):
        search(rec, Query(kinds=frozenset({"bogus"})))


def test_time_range_both_ends_included(rec: Recording) -> None:
    hits = search(rec, Query(start_ms=T0 + 2000, end_ms=T0 + 6000))
    assert kinds(hits) == ["command", "command", "link", "failover"]
    # A range starting after the first LINKS record compares with it, not with nothing.
    hits = search(rec, Query(start_ms=T0 + 3500, kinds=frozenset({"link"})))
    assert [h.time_ms for h in hits] == [T0 + 5000]
    assert search(rec, Query(start_ms=T0 + 10_000)) == []


def test_a_narrow_range_decodes_only_its_records(
    rec: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    body = Recording.body

    def counting(self: Recording, i: int) -> object:
        decoded.append(i)
        return body(self, i)

    monkeypatch.setattr(Recording, "body", counting)
    search(rec, Query(start_ms=T0 + 2000, end_ms=T0 + 3000))
    # The range's own records, and the newest LINKS record before it (to compare with).
    assert decoded == [1, 4, 5]


def test_a_command_gets_its_station_from_the_line(rec: Recording, demo_line: Line) -> None:
    sw = next(s for s in demo_line.switches if station_of_device(demo_line, s.id))
    station = station_of_device(demo_line, sw.id)
    assert station_of_device(demo_line, "nothing") == ""
    w_hits = search(rec, Query(kinds=frozenset({"command"})), line=demo_line)
    # SW101 / SIG7 are not the demo line's: no station, and no error.
    assert [h.station for h in w_hits] == [station_of_device(demo_line, "SW101"), ""]
    assert station


@pytest.fixture
def demo_line() -> Line:
    return load_line(default_line_file())
