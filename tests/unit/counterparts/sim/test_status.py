"""Train status from the simulator (StatusSender): one sequence number per tick, the
records through the shared conversion, a key per protected session."""

from __future__ import annotations

from dataclasses import dataclass

from app.counterparts.sim.status import StatusSender
from app.counterparts.sim.world import ServiceSettings, World
from app.model.topology import Line
from app.protocol.security import MacKey
from app.protocol.train_status import SEQ_MODULUS, train_from_status
from app.protocol.udp import decode_train_status


@dataclass
class Target:
    udp_target: tuple[str, int] | None
    udp_key: MacKey | None = None


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def sender(line: Line, trains: int = 4) -> tuple[World, StatusSender, Sink]:
    world = World(line, ServiceSettings(trains=trains))
    status = StatusSender(world, None, lambda: True)
    sink = Sink()
    status.udp = sink
    return world, status, sink


def test_one_record_per_unit_with_the_ticks_number(demo_line: Line) -> None:
    world, status, sink = sender(demo_line)
    world.step(0.1)
    status.send([Target(("127.0.0.1", 9))])
    status.send([Target(("127.0.0.1", 9))])
    recs = [decode_train_status(data) for data, _ in sink.sent]
    assert [r.seq for r in recs] == [1] * 4 + [2] * 4
    assert {r.train_id for r in recs} == set(world.trains)
    for rec in recs[4:]:
        # what an HMI reads back is the world's train (since-when and hold aside)
        train = world.train_state(world.trains[rec.train_id])
        assert train_from_status(rec, demo_line, train) == train


def test_the_sequence_number_wraps_at_2_to_the_32(demo_line: Line) -> None:
    _, status, sink = sender(demo_line, trains=1)
    status.seq = SEQ_MODULUS - 1
    status.send([Target(("127.0.0.1", 9))])
    assert decode_train_status(sink.sent[-1][0]).seq == 0


def test_each_protected_session_gets_its_own_tag_and_portless_ones_nothing(
    demo_line: Line,
) -> None:
    _, status, sink = sender(demo_line, trains=1)
    k1, k2 = MacKey(bytes(32)), MacKey(bytes([1]) * 32)
    status.send(
        [
            Target(("127.0.0.1", 1)),
            Target(("127.0.0.1", 2), k1),
            Target(("127.0.0.1", 3), k2),
            Target(None),  # named no UDP port
        ]
    )
    by_port = {addr[1]: data for data, addr in sink.sent}
    assert sorted(by_port) == [1, 2, 3]
    assert len(by_port[1]) == 48 and len(by_port[2]) == len(by_port[3]) == 64
    assert decode_train_status(by_port[2], key=k1) == decode_train_status(by_port[3], key=k2)


def test_without_a_socket_the_consists_are_still_watched(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=2))
    status = StatusSender(world, None, lambda: True)
    status.send([Target(("127.0.0.1", 9))])
    assert status.seq == 1
    assert status.consists.units() == set(world.trains)
