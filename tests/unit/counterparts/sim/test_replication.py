"""The replica a master sends each tick and the standby's mirror of it (Replicator)."""

from __future__ import annotations

import asyncio
import json

from app.counterparts.sim.alarms import AlarmManager, AlarmSettings, AlarmSystem
from app.counterparts.sim.guard import LEGACY, CommandGuard
from app.counterparts.sim.replication import ALARMS_FULL_EVERY, Replicator
from app.counterparts.sim.world import ServiceSettings, World
from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.topology import Line
from tests.unit.counterparts.sim.test_closing import Kafka, run_now


class Alarms:
    """What the replicator needs of the alarm system: its manager."""

    def __init__(self, line: Line) -> None:
        self.manager = AlarmManager(line, server="A", emit=lambda seq, ev: None)

    def mirrored(self) -> None: ...


def pair(line: Line) -> tuple[Replicator, Replicator, World, World]:
    master_world = World(line, ServiceSettings(trains=3))
    standby_world = World(line, ServiceSettings(trains=0))
    master = Replicator(master_world, CommandGuard(LEGACY), Alarms(line))  # type: ignore[arg-type]
    standby = Replicator(standby_world, CommandGuard(LEGACY), Alarms(line))  # type: ignore[arg-type]
    return master, standby, master_world, standby_world


def test_the_standby_mirrors_the_world_the_commands_and_the_alarms(demo_line: Line) -> None:
    master, standby, mw, sw = pair(demo_line)
    for _ in range(20):
        mw.step(0.5)
    cmd = Command("c1", "W0903", CommandOp.THROW_REVERSE, "d", "dispatcher", "", "key-1", 7)
    result = CommandResult("c1", "W0903", CommandOp.THROW_REVERSE, Outcome.EXECUTED, "", "")
    asyncio.run(master.guard.admit(cmd))
    master.guard.remember_result(cmd, result)
    assert master.alarms is not None
    master.alarms.manager.raise_alarm("switch_lost", "W0903")
    msg = master.replica("A", 3)
    assert (msg.node, msg.epoch, msg.seq) == ("A", 3, mw.seq)
    standby.mirror(msg)
    assert sw.export() | {"seq": 0} == mw.export() | {"seq": 0}  # seq: each server's own
    assert standby.guard.results.keys() == {"key-1"}
    assert standby.alarms is not None
    assert [r.kind for r in standby.alarms.manager.rows.values()] == ["switch_lost"]


def test_everything_after_a_reconnect_else_the_changes(demo_line: Line) -> None:
    master, _, _, _ = pair(demo_line)
    assert master.alarms is not None
    master.alarms.manager.raise_alarm("switch_lost", "W0903")
    first = json.loads(master.replica("A", 1).body)
    assert first["alarms"]["full"] and first["alarms"]["rows"]
    second = json.loads(master.replica("A", 1).body)
    assert not second["alarms"]["full"] and second["alarms"]["rows"] == []
    master.partner_connected()
    third = json.loads(master.replica("A", 1).body)
    assert third["alarms"]["full"] and third["alarms"]["rows"]


def test_the_alarms_go_whole_every_so_many_ticks(demo_line: Line) -> None:
    master, _, _, _ = pair(demo_line)
    fulls = [
        json.loads(master.replica("A", 1).body)["alarms"]["full"]
        for _ in range(2 * ALARMS_FULL_EVERY)
    ]
    assert [i + 1 for i, full in enumerate(fulls) if full] == [1, 50, 100]


def test_a_bad_alarm_document_leaves_the_rest_mirrored(demo_line: Line) -> None:
    master, standby, mw, sw = pair(demo_line)
    msg = master.replica("A", 1)
    body = json.loads(msg.body)
    body["alarms"]["seq"] = "not a number"
    standby.mirror(type(msg)(msg.node, msg.epoch, msg.seq, json.dumps(body)))
    assert set(sw.trains) == set(mw.trains)


def test_a_standby_that_takes_over_raises_no_start_flood_of_its_own(demo_line: Line) -> None:
    """The demo's pair starts with --alarm-flood 12: the master raises them, the standby
    mirrors them; on a takeover the standby raised its own 12 again (issue 18)."""

    def system(server: str) -> AlarmSystem:
        settings = AlarmSettings("127.0.0.1:1", rate=0, flood=12, seed=1)
        return AlarmSystem(demo_line, settings, server=server, kafka=Kafka(), run=run_now)

    a, b = system("A"), system("B")
    master = Replicator(World(demo_line, ServiceSettings(trains=0)), CommandGuard(LEGACY), a)
    standby = Replicator(World(demo_line, ServiceSettings(trains=0)), CommandGuard(LEGACY), b)
    for _ in range(3):
        a.tick(0.1)
    assert len(a.manager.rows) == 12
    standby.mirror(master.replica("A", 1))
    assert set(b.manager.rows) == set(a.manager.rows)
    for _ in range(3):
        b.standby_tick()
    b.promoted()
    raised_before = b.manager.seq
    for _ in range(3):
        b.tick(0.1)
    assert set(b.manager.rows) == set(a.manager.rows)  # the same twelve, none new
    assert b.manager.seq == raised_before


def test_a_server_that_never_mirrored_a_master_still_floods_when_it_starts_the_line(
    demo_line: Line,
) -> None:
    settings = AlarmSettings("127.0.0.1:1", rate=0, flood=5, seed=1)
    b = AlarmSystem(demo_line, settings, server="B", kafka=Kafka(), run=run_now)
    b.standby_tick()
    b.promoted()
    for _ in range(3):
        b.tick(0.1)
    assert len(b.manager.rows) == 5
