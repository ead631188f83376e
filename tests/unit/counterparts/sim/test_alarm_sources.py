"""Issue 18: the simulator's alarms about devices agree with the state it serves.

A demo alarm said "W0602 lost its position" while the switch's tooltip (the served
state) said "normal". Device alarms are now raised from the world's state: while an
alarm is active its device is faulty in every record served, and back when it clears.
"""

from __future__ import annotations

from app.alarms.records import AlarmEvent
from app.counterparts.sim.alarms import AlarmManager, AlarmSources
from app.counterparts.sim.world import DEVICE_FAULTS, ServiceSettings, World
from app.model.state import Aspect, StateSnapshot, SwitchPosition
from app.model.topology import Line


def rig(line: Line, seed: int = 7, rate: float = 400) -> tuple[World, AlarmManager, AlarmSources]:
    clock = iter(range(1_000, 100_000_000, 10))
    out: list[tuple[int, AlarmEvent]] = []
    world = World(line, ServiceSettings(trains=0))
    m = AlarmManager(
        line, server="A", emit=lambda s, e: out.append((s, e)), clock_ms=lambda: next(clock)
    )
    return world, m, AlarmSources(m, rate=rate, seed=seed, plant=world)


def served_faults(snap: StateSnapshot) -> set[tuple[str, str]]:
    """The device faults as an HMI reads them off the served state."""
    return (
        {("switch_lost", s.id) for s in snap.switches if s.position is SwitchPosition.LOST}
        | {("signal_lamp", s.id) for s in snap.signals if s.aspect is Aspect.DARK}
        | {("section_fault", s.id) for s in snap.sections if s.fault}
    )


def position(world: World, switch: str) -> SwitchPosition:
    [record] = [s for s in world.snapshot().switches if s.id == switch]
    return record.position


def active_device_alarms(m: AlarmManager) -> set[tuple[str, str]]:
    return {(e.kind, e.device) for e in m.rows.values() if e.active and e.kind in DEVICE_FAULTS}


def test_device_alarms_agree_with_the_served_state_every_tick(demo_line: Line) -> None:
    world, m, src = rig(demo_line)
    seen_lost: set[str] = set()
    for _ in range(3000):  # 5 simulated minutes
        src.tick(0.1)
        world.step(0.1)
        world.publish()
        served = served_faults(world.snapshot())
        assert served == active_device_alarms(m)
        seen_lost |= {d for k, d in served if k == "switch_lost"}
    assert seen_lost, "no switch lost its position in 5 minutes at this rate"
    # every switch that lost its position got it back when its alarm cleared
    back = seen_lost - {d for k, d in served_faults(world.snapshot()) if k == "switch_lost"}
    assert back
    for sw in back:
        assert position(world, sw) in (SwitchPosition.NORMAL, SwitchPosition.REVERSE)


def test_a_switch_that_loses_its_position_is_served_lost_and_comes_back(
    demo_line: Line,
) -> None:
    world, m, src = rig(demo_line)
    world.set_device_fault("switch_lost", "W0602", True)
    src.detect()
    world.publish()
    [ev] = [e for e in m.rows.values() if e.device == "W0602"]
    assert (ev.kind, ev.active, ev.text_en) == (
        "switch_lost",
        True,
        "switch W0602 lost its position",
    )
    assert position(world, "W0602") is SwitchPosition.LOST
    world.set_device_fault("switch_lost", "W0602", False)
    src.detect()
    world.publish()
    assert not m.rows[ev.alarm_id].active  # cleared (unacknowledged: still on the list)
    assert position(world, "W0602") is SwitchPosition.NORMAL


def test_a_flood_puts_its_device_faults_on_the_world(demo_line: Line) -> None:
    world, m, src = rig(demo_line, seed=3)
    assert src.flood(40) == 40
    world.publish()
    assert served_faults(world.snapshot()) == active_device_alarms(m)
    assert active_device_alarms(m)


def test_a_standby_that_takes_over_clears_the_faults_it_inherited(demo_line: Line) -> None:
    world, m, src = rig(demo_line)
    src.flood(20)
    # the standby's world and alarm set are the master's (replication)
    world_b, m_b, src_b = rig(demo_line, seed=9, rate=0)  # no new faults
    world_b.restore(world.export())
    m_b.restore(m.export())
    assert world_b.device_faults() == world.device_faults() == active_device_alarms(m_b)
    for _ in range(6000):  # 10 simulated minutes: every fault ends, by its kind's duration
        src_b.tick(0.1)
        if not world_b.device_faults():
            break
    assert not world_b.device_faults()
    assert not active_device_alarms(m_b)


def test_alarms_taken_over_without_an_end_clear_in_time(demo_line: Line) -> None:
    """A standby that takes over holds the old master's active alarms (mirrored), with
    no clear time of its own: a train fault or a lost link to another system stayed
    active for good. They get an end when found."""
    _world, m, src = rig(demo_line, rate=0)  # no new alarms: only what was taken over
    m.raise_alarm("link_loss", "ISCS", station="", zone="")
    m.raise_alarm("train_fault", "train:3", label="0301")
    assert {(e.kind, e.device) for e in m.rows.values() if e.active} == {
        ("link_loss", "ISCS"),
        ("train_fault", "train:3"),
    }
    for _ in range(36_000):  # an hour at 0.1 s: far past any kind's mean duration x 10
        src.tick(0.1)
        if not any(e.active for e in m.rows.values()):
            break
    assert not [e for e in m.rows.values() if e.active]
