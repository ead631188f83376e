"""Train device ids, and the control zone a command to a switch, signal, route or train is for."""

from __future__ import annotations

import pytest

from app.model.commands import OP_DEVICE_KIND, CommandOp, parse_train_device, train_device
from app.model.state import LineState, StateDelta, StateSnapshot, TrainState
from app.model.topology import Direction, Line


def test_train_device_ids_round_trip() -> None:
    for tid in (0, 1, 7, 20, 65535):
        assert parse_train_device(train_device(tid)) == tid
    assert train_device(7) == "train:7"


@pytest.mark.parametrize(
    "device", ["7", "T7", "train:", "train:x", "train:07", "train:-1", "train:65536", "train:٣"]
)
def test_anything_else_is_not_a_train(device: str) -> None:
    assert parse_train_device(device) is None


def test_every_op_names_its_device_kind() -> None:
    assert set(OP_DEVICE_KIND) == set(CommandOp)
    assert OP_DEVICE_KIND[CommandOp.HOLD_TRAIN] == "train"
    assert OP_DEVICE_KIND[CommandOp.LOCK_SWITCH] == "switch"
    assert OP_DEVICE_KIND[CommandOp.CLOSE_SIGNAL] == "signal"


def test_every_demo_section_has_a_zone(demo_line: Line) -> None:
    assert all(demo_line.zone_of_section(s.id) for s in demo_line.sections)
    assert demo_line.zone_of_section("PD05") == "Z2"  # by its station
    assert demo_line.zone_of_section("D0304a") == "Z2"  # by the signal at its end
    assert demo_line.zone_of_section("D0102b") == "Z1"  # by the route through it
    assert demo_line.zone_of_section("NOPE") is None


def test_zone_of_device_knows_no_trains(demo_line: Line) -> None:
    assert demo_line.zone_of_device("W0601") == "Z2"
    assert demo_line.zone_of_device("train:1") is None
    assert demo_line.zone_of_device("NOPE") is None


def test_a_trains_zone_follows_the_section_it_occupies(demo_line: Line) -> None:
    state = LineState(demo_line)
    assert state.zone_of("train:3") is None  # not heard of yet
    state.apply_snapshot(
        StateSnapshot(seq=1, trains=(TrainState(3, "0301", "PD02", 50.0, 0.0, Direction.DOWN),))
    )
    assert state.zone_of("train:3") == "Z1"
    state.apply_delta(
        StateDelta(seq=2, trains=(TrainState(3, "0301", "PD05", 50.0, 0.0, Direction.DOWN),))
    )
    assert state.zone_of("train:3") == "Z2"
    assert state.zone_of("W0901") == "Z3"  # devices of the line: as the line says
    assert state.zone_of("R_XPD05_XD0506a") == "Z2"
    assert state.zone_of("train:4") is None
