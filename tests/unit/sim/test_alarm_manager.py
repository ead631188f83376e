"""The simulator's alarm manager: numbering, acknowledgement, the cap, replication."""

from __future__ import annotations

import pytest

from app.alarms.records import AlarmEvent, EventType
from app.model.topology import Line
from app.sim.alarms import AlarmManager, AlarmRefused, AlarmSources


def manager(line: Line, **kw: int) -> tuple[AlarmManager, list[tuple[int, AlarmEvent]]]:
    out: list[tuple[int, AlarmEvent]] = []
    clock = iter(range(1_000, 10_000_000, 10))
    m = AlarmManager(
        line, server="A", emit=lambda s, e: out.append((s, e)), clock_ms=lambda: next(clock), **kw
    )
    return m, out


def test_raise_clear_ack_are_numbered_once_each(demo_line: Line) -> None:
    m, out = manager(demo_line)
    ev = m.raise_alarm("switch_lost", "W0101")
    assert ev is not None and (ev.zone, ev.station) == ("Z1", ev.station) and ev.station
    assert m.raise_alarm("switch_lost", "W0101") is None  # the same condition is active
    m.clear(ev.alarm_id)
    assert m.ack(ev.alarm_id, "d1") == ""
    assert [(s, e.event, e.active, e.acked) for s, e in out] == [
        (1, EventType.RAISE, True, False),
        (2, EventType.CLEAR, False, False),
        (3, EventType.ACK, False, True),
    ]
    assert out[-1][1].by == "d1"
    assert m.rows == {}  # back to normal: gone from the server's set
    with pytest.raises(AlarmRefused) as refused:
        m.ack(ev.alarm_id, "d1")
    assert refused.value.code == "unknown_alarm"


def test_ack_of_an_acknowledged_alarm_is_a_noted_no_op(demo_line: Line) -> None:
    m, out = manager(demo_line)
    ev = m.raise_alarm("signal_lamp", "XPD01")
    assert ev is not None
    assert m.ack(ev.alarm_id, "d1") == ""
    assert m.ack(ev.alarm_id, "d2") == "alarm already acknowledged"
    assert len(out) == 2


def test_the_store_is_capped_and_evicts_returned_alarms_first(demo_line: Line) -> None:
    m, _ = manager(demo_line, max_active=3)
    a = m.raise_alarm("switch_lost", "W0101")
    b = m.raise_alarm("switch_lost", "W0102")
    c = m.raise_alarm("switch_lost", "W0601")
    assert a and b and c
    assert m.raise_alarm("switch_lost", "W0602") is None  # full of active alarms
    assert m.overflow == 1
    m.clear(b.alarm_id)
    d = m.raise_alarm("switch_lost", "W0602")
    assert d is not None and b.alarm_id not in m.rows and len(m.rows) == 3


def test_export_restore_carries_seq_and_rows(demo_line: Line) -> None:
    m, _ = manager(demo_line)
    for dev in ("W0101", "W0102", "W0601"):
        m.raise_alarm("switch_lost", dev)
    standby, out = manager(demo_line)
    standby.restore(m.export())
    assert standby.seq == m.seq and standby.rows == m.rows
    assert standby.raise_alarm("switch_lost", "W0101") is None  # knows it is active
    standby.raise_alarm("switch_lost", "W0602")
    assert out[-1][0] == m.seq + 1  # numbering continues


def test_sources_are_reproducible_and_flood(demo_line: Line) -> None:
    runs = []
    for _ in range(2):
        m, out = manager(demo_line)
        src = AlarmSources(m, rate=200, seed=3)
        assert src.flood(25) == 25
        for _ in range(100):
            src.tick(0.1)
        runs.append([(e.event, e.kind, e.device) for _, e in out])
    assert runs[0] == runs[1]
    assert len(runs[0]) > 25


def test_shelve_until_the_time_is_up_and_snapshots_show_it(demo_line: Line) -> None:
    now = [1_000_000]
    out: list[tuple[int, AlarmEvent]] = []
    m = AlarmManager(
        demo_line, server="A", emit=lambda s, e: out.append((s, e)), clock_ms=lambda: now[0]
    )
    ev = m.raise_alarm("signal_lamp", "XPD01")
    assert ev is not None
    with pytest.raises(AlarmRefused) as refused:
        m.shelve(ev.alarm_id, "d1", 0)
    assert refused.value.code == "bad_argument"
    m.shelve(ev.alarm_id, "d1", 10)
    assert out[-1][1].event is EventType.SHELVE and out[-1][1].shelved_until_ms == 1_600_000
    m.clear(ev.alarm_id)  # clears while shelved: still shelved in the snapshot
    [entry] = m.snapshot()
    assert (entry.event, entry.active, entry.shelved_until_ms) == (
        EventType.SHELVE,
        False,
        1_600_000,
    )
    now[0] = 1_599_999
    assert m.unshelve_due() == 0
    now[0] = 1_600_000
    assert m.unshelve_due() == 1
    assert out[-1][1].event is EventType.UNSHELVE
    assert m.snapshot()[0].event is EventType.UNSHELVE
    standby, _ = manager(demo_line)
    m.shelve(ev.alarm_id, "d1", 5)
    standby.restore(m.export())
    assert standby.shelved == m.shelved
