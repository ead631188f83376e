"""Train status both ways (app/protocol/train_status.py): a unit's state to its UDP
record and back, through the bytes, as the simulator and the workstation use it."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import load_line
from app.model.state import CabRole, CouplingState, TrainState
from app.model.topology import Direction
from app.paths import default_line_file
from app.protocol.train_status import (
    SEQ_MODULUS,
    NewerOnly,
    UnknownSection,
    seq_newer,
    status_from_train,
    train_from_status,
    unit_report_from_status,
)
from app.protocol.udp import TrainStatus, decode_train_status, encode_train_status

LINE = load_line(default_line_file())

trains = st.builds(
    TrainState,
    st.integers(1, 65535),
    st.text("0123456789", min_size=1, max_size=8),
    st.sampled_from([s.id for s in LINE.sections]),
    st.integers(0, 2**32 - 1).map(lambda cm: cm / 100),  # whole centimetres
    st.integers(0, 65535).map(lambda d: d / 10),  # whole 0.1 km/h
    st.sampled_from(Direction),
    st.sampled_from(CouplingState),
    st.sampled_from(CabRole),
    st.integers(0, 2**63),
    st.booleans(),
)


@given(trains, st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))
def test_a_train_survives_the_datagram(train: TrainState, seq: int, ts: int) -> None:
    rec = status_from_train(train, LINE, seq=seq, timestamp_ms=ts)
    back = decode_train_status(encode_train_status(rec))
    assert back == rec
    # Knowing the train already: everything comes back, hold and since-when included.
    assert train_from_status(back, LINE, train) == train
    # A train not known yet: since the record's time, not held (the record has no room).
    assert train_from_status(back, LINE) == dataclasses.replace(train, since_ms=ts, held=False)


@given(
    trains,
    st.sampled_from(CouplingState),
    st.sampled_from(CabRole),
    st.integers(1, 65535),
    st.integers(1, 255).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))),
)
def test_a_units_report_survives_the_datagram(
    train: TrainState,
    coupling: CouplingState,
    cab: CabRole,
    consist: int,
    place: tuple[int, int],
) -> None:
    index, count = place
    rec = status_from_train(
        train,
        LINE,
        seq=9,
        timestamp_ms=1,
        coupling=coupling,
        cab=cab,
        consist=consist,
        unit_index=index,
        unit_count=count,
    )
    report = unit_report_from_status(decode_train_status(encode_train_status(rec)))
    assert (report.unit, report.number, report.seq) == (train.id, train.number, 9)
    assert (report.consist, report.index, report.count) == (consist, index, count)
    assert (report.coupling, report.cab) == (coupling, cab)  # what the unit reports


def test_a_unit_alone_is_its_own_consist() -> None:
    train = TrainState(7, "0701", LINE.sections[0].id, 1.0, 0.0, Direction.UP)
    report = unit_report_from_status(status_from_train(train, LINE, seq=1, timestamp_ms=0))
    assert (report.consist, report.index, report.count) == (7, 0, 1)


def test_offsets_and_speeds_go_to_the_nearest_unit() -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point: rounded, not cut.
    train = TrainState(1, "1", LINE.sections[0].id, 0.29, 4.35, Direction.DOWN)
    rec = status_from_train(train, LINE, seq=1, timestamp_ms=0)
    assert (rec.offset_cm, rec.speed_dkmh) == (29, 44)


def test_sections_the_line_lacks_are_refused_both_ways() -> None:
    train = TrainState(1, "1", "NOWHERE", 0.0, 0.0, Direction.DOWN)
    with pytest.raises(UnknownSection, match="NOWHERE"):
        status_from_train(train, LINE, seq=1, timestamp_ms=0)
    rec = TrainStatus(1, 0, 1, "1", len(LINE.sections), 0, 0, 0, 0, 1)
    with pytest.raises(UnknownSection, match="section index"):
        train_from_status(rec, LINE)


@given(st.integers(0, SEQ_MODULUS - 1), st.integers(0, SEQ_MODULUS - 1))
def test_newer_is_less_than_half_the_circle_ahead(last: int, step: int) -> None:
    seq = (last + step) % SEQ_MODULUS
    assert seq_newer(seq, last) is (0 < step < SEQ_MODULUS // 2)


def test_newer_only_across_the_wrap() -> None:
    newer = NewerOnly()
    assert newer.accept(1, SEQ_MODULUS - 2)  # the first for a train: taken
    assert newer.accept(1, SEQ_MODULUS - 1)
    assert newer.accept(1, 0)  # wrapped: still newer
    assert not newer.accept(1, 0)  # the copy from the other network
    assert not newer.accept(1, SEQ_MODULUS - 1)  # an old one, reordered
    assert newer.accept(2, 5)  # another train: its own numbers
    assert newer.last == {1: 0, 2: 5}
    newer.clear()
    assert newer.last == {} and newer.accept(1, 100)
