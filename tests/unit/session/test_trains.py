"""Train status datagrams to train records: newer only per train, bad records advance
nothing, the hold and since-when kept from the state (no sockets)."""

from __future__ import annotations

from app.model.coupling import UnitReport
from app.model.state import CabRole, CouplingState, TrainState
from app.model.topology import Direction, Line
from app.protocol.udp import TrainStatus
from app.session.trains import TrainFeed

TS = 1_800_000_000_000


def rec(seq: int, section_index: int = 4, train_id: int = 7, **kw: int) -> TrainStatus:
    return TrainStatus(
        seq,
        kw.get("ts", TS),
        train_id,
        "0701",
        section_index,
        kw.get("offset_cm", 12_345),
        kw.get("speed_dkmh", 415),
        kw.get("direction", 0),
        kw.get("coupling", 0),
        kw.get("cab", 1),
    )


def test_a_record_becomes_the_train_and_the_units_report(demo_line: Line) -> None:
    feed = TrainFeed(demo_line)
    taken = feed.take(rec(1), None)
    assert taken is not None
    train, report = taken
    assert train == TrainState(
        7,
        "0701",
        demo_line.sections[4].id,
        123.45,
        41.5,
        Direction.DOWN,
        CouplingState.UNCOUPLED,
        CabRole.MASTER,
        TS,  # a train not known yet: since the record's time
        False,
    )
    assert report == UnitReport(
        7, "0701", 1, 7, 0, 1, CouplingState.UNCOUPLED, CabRole.MASTER
    )  # a unit alone: its own consist, 0 of 1


def test_the_copy_from_the_other_network_and_older_ones_are_dropped(demo_line: Line) -> None:
    feed = TrainFeed(demo_line)
    assert feed.take(rec(10), None) is not None
    assert feed.take(rec(10), None) is None  # the same record on network 2
    assert feed.take(rec(9), None) is None  # reordered by UDP
    assert feed.take(rec(11), None) is not None
    assert feed.take(rec(5, train_id=8), None) is not None  # each train its own numbers
    assert feed.newer.last == {7: 11, 8: 5}
    assert feed.bad_records == 0  # dropped copies are not bad


def test_sequence_numbers_wrap_around_at_2_to_the_32(demo_line: Line) -> None:
    feed = TrainFeed(demo_line)
    assert feed.take(rec(2**32 - 1), None) is not None
    assert feed.take(rec(0), None) is not None  # the next one after wrapping
    assert feed.take(rec(2**32 - 1), None) is None  # now the older one
    assert feed.take(rec(2**31 - 1), None) is not None  # 2**31 - 1 ahead: newer
    assert feed.take(rec(2**32 - 1), None) is None  # 2**31 ahead: taken as older


def test_a_section_index_the_line_lacks_is_counted_and_advances_nothing(
    demo_line: Line,
) -> None:
    feed = TrainFeed(demo_line)
    assert feed.take(rec(1), None) is not None
    assert feed.take(rec(2, section_index=len(demo_line.sections)), None) is None
    assert feed.bad_records == 1
    assert feed.newer.last == {7: 1}  # seq 2 was not taken...
    assert feed.take(rec(2), None) is not None  # ...so the good seq 2 still is


def test_hold_and_since_come_from_the_state(demo_line: Line) -> None:
    feed = TrainFeed(demo_line)
    here = demo_line.sections[4].id
    old = TrainState(7, "0701", here, 10.0, 0.0, Direction.DOWN, since_ms=5, held=True)
    taken = feed.take(rec(1, ts=TS), old)
    assert taken is not None
    train, _ = taken
    assert (train.since_ms, train.held) == (5, True)  # same section and direction
    moved = feed.take(rec(2, section_index=5, ts=TS + 100), train)
    assert moved is not None
    assert (moved[0].since_ms, moved[0].held) == (TS + 100, True)  # a new section
    turned = feed.take(rec(3, section_index=5, direction=1, ts=TS + 200), moved[0])
    assert turned is not None and turned[0].since_ms == TS + 200  # turned back


def test_clear_forgets_every_train(demo_line: Line) -> None:
    feed = TrainFeed(demo_line)
    feed.take(rec(100), None)
    feed.clear()
    # another server's numbers, lower than the old one's: taken after an invalidation
    assert feed.take(rec(3), None) is not None
