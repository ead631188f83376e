"""The dispatcher's own locks in the simulator: switch lock, signal close, train hold.

Interlocking and world rules first, then the same operations through
``SimServer.execute`` (no sockets: the server's command path is plain code).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from app.counterparts.sim.alarms import AlarmManager
from app.counterparts.sim.guard import LEGACY
from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.server import ServerSettings, SimServer
from app.counterparts.sim.world import ServiceSettings, SimTrain, World
from app.model.commands import Command, CommandOp, Outcome, train_device
from app.model.state import Aspect, SignalState, SwitchPosition, SwitchState
from app.model.topology import Line, SwitchLeg


def run(world: World, seconds: float, dt: float = 0.5) -> None:
    for _ in range(int(seconds / dt)):
        world.step(dt)
        world.publish()


# -- switch lock (单锁) ------------------------------------------------------------------


def test_locked_switch_refuses_a_throw_until_unlocked(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    assert il.lock_switch("W0903")
    assert not il.lock_switch("W0903")  # already locked: nothing to do
    for leg in SwitchLeg:  # either way, even towards where it lies
        with pytest.raises(Refused) as info:
            il.throw("W0903", leg, world.now)
        assert info.value.code == "switch_locked"
        assert "W0903 is locked normal" in info.value.reason
    assert il.switches["W0903"].position is SwitchPosition.NORMAL
    assert il.unlock_switch("W0903")
    assert not il.unlock_switch("W0903")
    assert il.throw("W0903", SwitchLeg.REVERSE, world.now)


def test_lock_refused_for_moving_points_and_unknown_switches(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    il.throw("W0903", SwitchLeg.REVERSE, world.now)
    with pytest.raises(Refused) as info:
        il.lock_switch("W0903")
    assert info.value.code == "switch_moving"
    run(world, 5)
    assert il.lock_switch("W0903")  # lies reverse now: locked there
    assert il.switches["W0903"].position is SwitchPosition.REVERSE
    for call in (il.lock_switch, il.unlock_switch):
        with pytest.raises(Refused) as info:
            call("XPD01")  # a signal, not a switch
        assert info.value.code == "unknown_device"


def test_route_over_a_locked_switch_only_where_it_lies(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    assert il.switches["W0101"].position is SwitchPosition.NORMAL
    il.lock_switch("W0101")
    # R_XTU01_XPD01 needs W0101 reverse: it would have to move
    with pytest.raises(Refused) as info:
        il.set_route(demo_line.route_by_id["R_XTU01_XPD01"], world.now)
    assert info.value.code == "switch_locked"
    assert "needs switch W0101 reverse" in info.value.reason
    assert not il.routes and il.switches["W0102"].target is None  # nothing half-done
    # R_XTD01_XPD01 needs it normal, where it lies: allowed
    il.set_route(demo_line.route_by_id["R_XTD01_XPD01"], world.now)
    assert "R_XTD01_XPD01" in il.routes
    assert il.switches["W0101"].locked and il.switches["W0101"].route == "R_XTD01_XPD01"


def test_switch_lock_reaches_the_records(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    world.interlocking.lock_switch("W1201")
    delta = world.publish()
    assert delta is not None
    assert [s for s in delta.switches if s.id == "W1201"] == [
        SwitchState("W1201", SwitchPosition.NORMAL, since_ms=0, locked=True)
    ]
    snap = {s.id: s for s in world.snapshot().switches}
    assert snap["W1201"].locked and not snap["W1202"].locked


# -- signal close (封闭) -----------------------------------------------------------------


def test_closed_signal_shows_stop_and_refuses_routes(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    assert il.close_signal("XPD05")
    assert not il.close_signal("XPD05")
    with pytest.raises(Refused) as info:
        il.set_route(demo_line.route_by_id["R_XPD05_XD0506a"], world.now)
    assert info.value.code == "signal_closed"
    assert "signal XPD05 is closed" in info.value.reason
    assert "R_XPD05_XD0506a" in info.value.reason
    delta = world.publish()
    assert delta is not None
    assert SignalState("XPD05", Aspect.STOP, 0, closed=True) in delta.signals
    assert il.reopen_signal("XPD05")
    assert not il.reopen_signal("XPD05")
    il.set_route(demo_line.route_by_id["R_XPD05_XD0506a"], world.now)
    with pytest.raises(Refused) as info:
        il.close_signal("R_XPD05_XD0506a")  # a route is not a signal
    assert info.value.code == "unknown_device"


def test_closing_keeps_a_set_route_but_holds_its_signal_at_stop(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    il.set_route(demo_line.route_by_id["R_XPD05_XD0506a"], world.now)
    run(world, 1)
    aspects = {s.id: s for s in world.snapshot().signals}
    assert aspects["XPD05"].aspect is Aspect.PROCEED
    il.close_signal("XPD05")
    run(world, 1)
    aspects = {s.id: s for s in world.snapshot().signals}
    assert (aspects["XPD05"].aspect, aspects["XPD05"].closed) == (Aspect.STOP, True)
    assert "R_XPD05_XD0506a" in il.routes  # not cancelled behind the dispatcher's back
    il.reopen_signal("XPD05")
    run(world, 1)
    aspects = {s.id: s for s in world.snapshot().signals}
    assert (aspects["XPD05"].aspect, aspects["XPD05"].closed) == (Aspect.PROCEED, False)


def _platform_train(world: World) -> tuple[SimTrain, str]:
    """A train standing at a platform, and the signal at the platform's end."""
    for t in world.trains.values():
        sig = world._signal_ahead(t)
        if sig is not None and t.section in world._platform_sections:
            return t, sig
    raise AssertionError("no train at a platform signal")


def test_ars_skips_a_closed_signal_and_the_train_waits(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=20, dwell_s=5))
    train, sig = _platform_train(world)
    world.interlocking.close_signal(sig)
    section = train.section
    run(world, 120)
    assert not any(r in world.interlocking.routes for r in world.interlocking.routes_from(sig))
    assert train.section == section and train.speed_ms == 0.0
    world.interlocking.reopen_signal(sig)
    run(world, 60)
    assert train.section != section


# -- train hold (扣车) -------------------------------------------------------------------


def test_held_train_stays_at_its_platform_until_released(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=20, dwell_s=5))
    train, _sig = _platform_train(world)
    device = train_device(train.id)
    assert world.hold_train(device)
    assert not world.hold_train(device)
    section = train.section
    run(world, 180)
    assert train.section == section and train.speed_ms == 0.0
    assert world.release_train(device)
    assert not world.release_train(device)
    run(world, 60)
    assert train.section != section


def test_held_running_train_stops_at_the_next_platform(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=20, dwell_s=5))
    for _ in range(400):
        world.step(0.5)
        running = [
            t
            for t in world.trains.values()
            if t.speed_ms > 5 and t.section not in world._platform_sections
        ]
        if running:
            break
    else:
        pytest.fail("no train ever ran between platforms")
    train = running[0]
    world.hold_train(train_device(train.id))
    run(world, 240)
    stopped_at = train.section
    assert stopped_at in world._platform_sections and train.speed_ms == 0.0
    run(world, 120)
    assert train.section == stopped_at
    state = {t.id: t for t in world.snapshot().trains}[train.id]
    assert state.held and state.speed_kmh == 0.0


def test_hold_of_an_unknown_train_is_refused(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=2))
    for device in ("train:99", "99", "W0903", "train:x", "train:01"):
        with pytest.raises(Refused) as info:
            world.hold_train(device)
        assert info.value.code == "unknown_device"


def test_hold_reaches_the_records_in_a_delta(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=2))
    world.publish()
    world.hold_train("train:1")
    delta = world.publish()
    assert delta is not None
    assert [(t.id, t.held) for t in delta.trains] == [(1, True)]


# -- replication -------------------------------------------------------------------------


def test_export_restore_carries_locks_closures_and_holds(demo_line: Line) -> None:
    master = World(demo_line, ServiceSettings(trains=4))
    master.interlocking.lock_switch("W0601")
    master.interlocking.close_signal("XPD07")
    master.hold_train("train:2")
    standby = World(demo_line, ServiceSettings(trains=4))
    standby.restore(master.export())
    assert standby.interlocking.switches["W0601"].locked
    assert not standby.interlocking.switches["W0602"].locked
    assert standby.interlocking.closed == {"XPD07"}
    assert [t.id for t in standby.trains.values() if t.held] == [2]
    standby.publish()  # the standby serves what it mirrors
    snap = standby.snapshot()
    assert {s.id for s in snap.switches if s.locked} == {"W0601"}
    assert {s.id for s in snap.signals if s.closed} == {"XPD07"}
    assert {t.id for t in snap.trains if t.held} == {2}
    # and back: unlocking on the master unlocks on the standby
    master.interlocking.unlock_switch("W0601")
    master.interlocking.reopen_signal("XPD07")
    master.release_train("train:2")
    standby.restore(master.export())
    assert not standby.interlocking.switches["W0601"].locked
    assert not standby.interlocking.closed
    assert not any(t.held for t in standby.trains.values())


def test_restore_of_an_older_export_without_the_new_fields(demo_line: Line) -> None:
    master = World(demo_line, ServiceSettings(trains=2))
    doc = master.export()
    del doc["closed_signals"]
    for m in doc["switches"].values():
        del m["locked"]
    for t in doc["trains"]:
        del t["held"]
    standby = World(demo_line, ServiceSettings(trains=2))
    standby.interlocking.close_signal("XPD07")
    standby.restore(doc)
    assert not standby.interlocking.closed
    assert not any(m.locked for m in standby.interlocking.switches.values())


# -- through the server's command path ---------------------------------------------------


@pytest.fixture
def server(demo_line: Line) -> SimServer:
    # The operations, not the guard: commands here carry no key or token (LEGACY).
    world = World(demo_line, ServiceSettings(trains=3))
    return SimServer(world, ServerSettings(commands=LEGACY), Journal(None))


def send(server: SimServer, device: str, op: CommandOp) -> tuple[Outcome, str, str]:
    res = asyncio.run(
        server.execute(Command(f"c-{device}-{op}", device, op, "tester", "dispatcher"))
    )
    assert (res.device, res.op) == (device, op)
    return res.outcome, res.reason_code, res.reason


EXECUTED = Outcome.EXECUTED
REFUSED = Outcome.REFUSED


def test_server_switch_lock_ops(server: SimServer) -> None:
    assert send(server, "W0903", CommandOp.LOCK_SWITCH) == (EXECUTED, "", "")
    assert send(server, "W0903", CommandOp.LOCK_SWITCH) == (EXECUTED, "", "switch already locked")
    outcome, code, reason = send(server, "W0903", CommandOp.THROW_REVERSE)
    assert (outcome, code) == (REFUSED, "switch_locked") and "unlock it first" in reason
    assert send(server, "W0903", CommandOp.UNLOCK_SWITCH) == (EXECUTED, "", "")
    assert send(server, "W0903", CommandOp.UNLOCK_SWITCH) == (EXECUTED, "", "switch was not locked")
    assert send(server, "W0903", CommandOp.THROW_REVERSE) == (EXECUTED, "", "")
    outcome, code, _ = send(server, "W0903", CommandOp.LOCK_SWITCH)
    assert (outcome, code) == (REFUSED, "switch_moving")
    outcome, code, reason = send(server, "NOPE", CommandOp.LOCK_SWITCH)
    assert (outcome, code, reason) == (REFUSED, "unknown_device", "no switch NOPE on this line")


def test_server_signal_ops(server: SimServer) -> None:
    assert send(server, "XPD05", CommandOp.CLOSE_SIGNAL) == (EXECUTED, "", "")
    assert send(server, "XPD05", CommandOp.CLOSE_SIGNAL) == (EXECUTED, "", "signal already closed")
    outcome, code, _ = send(server, "R_XPD05_XD0506a", CommandOp.SET_ROUTE)
    assert (outcome, code) == (REFUSED, "signal_closed")
    assert send(server, "XPD05", CommandOp.REOPEN_SIGNAL) == (EXECUTED, "", "")
    assert send(server, "XPD05", CommandOp.REOPEN_SIGNAL) == (
        EXECUTED,
        "",
        "signal was not closed",
    )
    outcome, code, reason = send(server, "W0903", CommandOp.CLOSE_SIGNAL)
    assert (outcome, code, reason) == (REFUSED, "unknown_device", "no signal W0903 on this line")


def test_server_train_ops(server: SimServer) -> None:
    assert send(server, "train:2", CommandOp.HOLD_TRAIN) == (EXECUTED, "", "")
    assert send(server, "train:2", CommandOp.HOLD_TRAIN) == (EXECUTED, "", "train already held")
    assert server.world.trains[2].held
    assert send(server, "train:2", CommandOp.RELEASE_TRAIN) == (EXECUTED, "", "")
    assert send(server, "train:2", CommandOp.RELEASE_TRAIN) == (
        EXECUTED,
        "",
        "train was not held",
    )
    outcome, code, reason = send(server, "train:42", CommandOp.HOLD_TRAIN)
    assert (outcome, code, reason) == (REFUSED, "unknown_device", "no train train:42 on this line")


def test_shelve_minutes_must_be_ascii_digits(demo_line: Line) -> None:
    """ "²" and "٣" pass str.isdigit() and then int() raised (or took "٣" as 3): the
    server dropped the link and sent no result."""
    manager = AlarmManager(demo_line, server="A", emit=lambda s, e: None)
    ev = manager.raise_alarm("signal_lamp", "XPD01")
    assert ev is not None
    world = World(demo_line, ServiceSettings(trains=0))
    server = SimServer(
        world,
        ServerSettings(commands=LEGACY),
        Journal(None),
        SimpleNamespace(manager=manager),  # type: ignore[arg-type]
    )
    for arg in ("²", "٣", "10 "):
        cmd = Command(f"c{arg}", ev.alarm_id, CommandOp.SHELVE_ALARM, "t", "dispatcher", arg=arg)
        res = asyncio.run(server.execute(cmd))
        assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "bad_argument"), arg
