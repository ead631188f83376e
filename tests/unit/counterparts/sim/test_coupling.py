"""Coupling and uncoupling in the simulator: units, consists, reports and injected faults."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from app.counterparts.sim.guard import LEGACY
from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.server import ServerSettings, SimServer
from app.counterparts.sim.world import ServiceSettings, UnitReport, World
from app.model.commands import Command, CommandOp, Outcome, train_device
from app.model.coupling import ConsistState
from app.model.state import CabRole, CouplingState
from app.model.topology import Line
from app.protocol.udp import decode_train_status


def run(world: World, seconds: float, dt: float = 0.1) -> None:
    for _ in range(round(seconds / dt)):
        world.step(dt)
        world.publish()


def paired(line: Line, trains: int = 2, pairs: int = 1) -> tuple[World, int, int]:
    """A world whose train 1 has a held unit standing just behind it; (world, front, rear)."""
    world = World(line, ServiceSettings(trains=trains, pairs=pairs, couple_s=2.0))
    return world, 1, trains + 1


def by_unit(reports: list[UnitReport]) -> dict[int, UnitReport]:
    return {r.train.id: r for r in reports}


def test_a_pair_stands_end_to_end_and_the_rear_unit_does_not_run_into_the_front(
    demo_line: Line,
) -> None:
    world, front, rear = paired(demo_line)
    run(world, 20)
    f, r = world.trains[front], world.trains[rear]
    assert f.held and r.held and f.section == r.section
    gap = world._gap_behind(
        world._walk_back(*world.unit_position(f), world.train_length),
        world.unit_position(r),
        100,
    )
    assert gap is not None and 0.5 <= gap <= 6


def test_couple_then_uncouple(demo_line: Line) -> None:
    world, front, rear = paired(demo_line)
    run(world, 2)
    assert world.couple_train(train_device(rear)) == str(front)
    f, r = world.trains[front], world.trains[rear]
    assert f.consist == [front, rear] and r.carried_by == front
    reps = by_unit(world.unit_reports())
    assert (reps[front].coupling, reps[front].cab) == (CouplingState.COUPLING, CabRole.MASTER)
    assert (reps[rear].coupling, reps[rear].cab) == (CouplingState.COUPLING, CabRole.SLAVE)
    assert (reps[rear].consist, reps[rear].index, reps[rear].count) == (front, 1, 2)
    assert (reps[front].consist, reps[front].index, reps[front].count) == (front, 0, 2)
    with pytest.raises(Refused) as info:
        world.uncouple_train(train_device(front))
    assert info.value.code == "coupling_in_progress"
    run(world, 2.5)
    assert {world.trains[u].coupling for u in (front, rear)} == {"coupled"}
    # the rear unit reports one unit length behind the head
    head, back = world.train_state(f), world.train_state(r)
    assert back.section != head.section or back.offset_m != head.offset_m
    with pytest.raises(Refused) as info:
        world.couple_train(train_device(front))
    assert info.value.code == "already_coupled"

    world.uncouple_train(train_device(rear))
    assert {world.trains[u].coupling for u in (front, rear)} == {"uncoupling"}
    run(world, 2.5)
    assert not f.consist and not r.carried_by
    reps = by_unit(world.unit_reports())
    assert (reps[rear].consist, reps[rear].count, reps[rear].cab) == (rear, 1, CabRole.MASTER)
    assert reps[front].coupling is CouplingState.UNCOUPLED
    with pytest.raises(Refused) as info:
        world.uncouple_train(train_device(front))
    assert info.value.code == "not_coupled"


def test_a_coupled_consist_runs_as_one_and_a_turnback_moves_the_master(demo_line: Line) -> None:
    world, front, rear = paired(demo_line, trains=1)
    world.couple_train(train_device(front))
    run(world, 3)
    world.release_train(train_device(rear))  # a unit of a consist releases the consist
    assert not world.trains[front].held
    start = world.train_state(world.trains[front]).section
    run(world, 60, dt=0.5)
    f, r = world.trains[front], world.trains[rear]
    assert world.train_state(f).section != start and f.speed_ms > 1
    # the rear unit rides one unit length behind the head, at the head's speed
    gap = world._gap_behind(world.unit_position(f), world.unit_position(r), 500)
    assert gap == pytest.approx(world.train_length, abs=0.01)
    assert world.train_state(r).speed_kmh == world.train_state(f).speed_kmh
    world._reverse(f)  # what a turnback does
    reps = by_unit(world.unit_reports())
    assert reps[rear].index == 0 and reps[front].index == 1
    assert (reps[rear].cab, reps[front].cab) == (CabRole.MASTER, CabRole.SLAVE)


def test_couple_refusals(demo_line: Line) -> None:
    world, _, _ = paired(demo_line, trains=3)
    with pytest.raises(Refused) as info:
        world.couple_train(train_device(2))  # nobody stands behind or ahead of train 2
    assert info.value.code == "no_partner"
    with pytest.raises(Refused) as info:
        world.couple_train("train:99")
    assert info.value.code == "unknown_device"
    world.release_train(train_device(2))
    run(world, 40)
    moving = [t for t in world.trains.values() if t.speed_ms > 1]
    assert moving
    with pytest.raises(Refused) as info:
        world.couple_train(train_device(moving[0].id))
    assert info.value.code == "not_stopped"


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("dual_master", lambda reps: all(r.cab is CabRole.MASTER for r in reps)),
        ("no_master", lambda reps: all(r.cab is CabRole.SLAVE for r in reps)),
        ("disagree", lambda reps: len({r.coupling for r in reps}) == 2),
        ("lost", lambda reps: not reps),
    ],
)
def test_injected_faults_change_the_reports(demo_line: Line, fault: str, check: object) -> None:
    world, front, rear = paired(demo_line)
    world.couple_train(train_device(front))
    run(world, 3)
    world.inject_fault(train_device(rear), fault)
    reps = [r for r in world.unit_reports() if r.train.id in (front, rear)]
    assert callable(check) and check(reps)
    assert world.trains[front].cab == "master" and world.trains[rear].cab == "slave"  # the truth
    assert world.inject_fault(train_device(rear), "none") == ""
    reps = [r for r in world.unit_reports() if r.train.id in (front, rear)]
    assert [(r.coupling, r.cab) for r in reps] == [
        (CouplingState.COUPLED, CabRole.MASTER),
        (CouplingState.COUPLED, CabRole.SLAVE),
    ]


def test_flicker_alternates_and_a_timed_fault_ends_by_itself(demo_line: Line) -> None:
    world, front, _ = paired(demo_line)
    world.couple_train(train_device(front))
    run(world, 3)
    world.inject_fault(train_device(front), "flicker:1.5")
    seen = [by_unit(world.unit_reports())[front].coupling for _ in range(4)]
    assert seen[0] != seen[1] and seen[0] == seen[2] and CouplingState.COUPLED in seen
    run(world, 2)
    assert not world.coupling_faults
    assert {by_unit(world.unit_reports())[front].coupling for _ in range(4)} == {
        CouplingState.COUPLED
    }


@pytest.mark.parametrize("arg", ["melt", "lost:x", "lost:-1", "lost:inf"])
def test_bad_fault_arguments_are_refused(demo_line: Line, arg: str) -> None:
    world, front, _ = paired(demo_line)
    with pytest.raises(Refused) as info:
        world.inject_fault(train_device(front), arg)
    assert info.value.code == "bad_argument"


def test_disagree_needs_a_consist(demo_line: Line) -> None:
    world, front, _ = paired(demo_line)
    with pytest.raises(Refused, match="two units"):
        world.inject_fault(train_device(front), "disagree")


def test_export_restore_keeps_consists_and_faults(demo_line: Line) -> None:
    world, front, rear = paired(demo_line)
    world.couple_train(train_device(front))
    world.inject_fault(train_device(front), "no_master:30")
    run(world, 1)
    other = World(demo_line, ServiceSettings(trains=0))
    other.restore(world.export())
    assert other.trains[front].consist == [front, rear] and other.trains[rear].carried_by == front
    assert other.coupling_faults[front].kind == "no_master"
    run(other, 2)
    assert other.trains[rear].coupling == "coupled"


def test_server_commands_datagrams_and_consist_alarms(demo_line: Line) -> None:
    world, front, rear = paired(demo_line)
    server = SimServer(world, ServerSettings(commands=LEGACY), Journal(None))

    def send(device: str, op: CommandOp, arg: str = "") -> tuple[Outcome, str, str]:
        cmd = Command(f"c{op}{arg}", device, op, "tester", "dispatcher", arg=arg)
        res = asyncio.run(server.execute(cmd))
        return res.outcome, res.reason_code, res.reason

    assert send(train_device(2), CommandOp.COUPLE_TRAIN)[1] == "no_partner"
    assert send(train_device(front), CommandOp.COUPLE_TRAIN) == (
        Outcome.EXECUTED,
        "",
        f"coupling with train:{rear}",
    )
    assert send(train_device(front), CommandOp.INJECT_FAULT, "melt")[1] == "bad_argument"
    assert send(train_device(front), CommandOp.INJECT_FAULT, "dual_master")[0] is Outcome.EXECUTED

    sent: list[bytes] = []

    class Udp:
        def sendto(self, data: bytes, addr: object) -> None:
            sent.append(data)

    class Client:
        udp_target = ("127.0.0.1", 1)
        udp_key = None  # an unprotected link

    server.status.udp = Udp()
    for _ in range(4):
        world.step(0.1)
        server.status.send([Client()])
    recs = {r.train_id: r for r in map(decode_train_status, sent[-len(world.trains) :])}
    assert (recs[rear].consist, recs[rear].unit_index, recs[rear].unit_count) == (front, 1, 2)
    assert recs[front].cab == recs[rear].cab == 1  # both say master: the fault
    view = server.status.consists.get(front)
    assert view is not None and view.state is ConsistState.DUAL_MASTER


def test_the_server_raises_and_clears_consist_alarms_on_its_topic(demo_line: Line) -> None:
    from app.counterparts.sim.alarms import AlarmManager

    emitted: list[tuple[str, str, bool]] = []
    manager = AlarmManager(
        demo_line, server="A", emit=lambda seq, ev: emitted.append((ev.kind, ev.text_en, ev.active))
    )
    world, front, _ = paired(demo_line)
    server = SimServer(
        world, ServerSettings(commands=LEGACY), Journal(None), SimpleNamespace(manager=manager)
    )  # type: ignore[arg-type]
    world.couple_train(train_device(front))
    run(world, 3)
    world.inject_fault(train_device(front), "dual_master")
    for _ in range(4):
        server.status.send([])
    assert emitted == [("consist_dual_master", "consist 0101+0301: two master cabs", True)]
    row = next(iter(manager.rows.values()))
    assert row.device == train_device(front) and row.zone and row.station
    world.inject_fault(train_device(front), "none")
    for _ in range(4):
        server.status.send([])
    assert emitted[-1] == ("consist_dual_master", "consist 0101+0301: two master cabs", False)
