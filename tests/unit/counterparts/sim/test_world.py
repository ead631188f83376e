"""The simulated line on its own: interlocking rules and a service that keeps running."""

from __future__ import annotations

import pytest

from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.world import ServiceSettings, World
from app.model.state import Aspect, SwitchPosition
from app.model.topology import Line, SwitchLeg


def run(world: World, seconds: float, dt: float = 0.5) -> None:
    for _ in range(int(seconds / dt)):
        world.step(dt)
        world.publish()


def test_switch_moves_then_lies_in_position(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    assert il.throw("W0903", SwitchLeg.REVERSE, world.now)
    assert il.switches["W0903"].position is SwitchPosition.MOVING
    run(world, 5)
    assert il.switches["W0903"].position is SwitchPosition.REVERSE
    assert not il.throw("W0903", SwitchLeg.REVERSE, world.now)


def test_locked_switch_refuses_with_the_route_named(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    il.set_route(demo_line.route_by_id["R_SPD09_SDT09A"], world.now)
    with pytest.raises(Refused) as info:
        il.throw("W0901", SwitchLeg.NORMAL, world.now)
    assert info.value.code == "route_locked"
    assert "R_SPD09_SDT09A" in info.value.reason


def test_conflicting_route_refused_and_signal_clears_when_set(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    il.set_route(demo_line.route_by_id["R_SPD09_SDT09A"], world.now)
    with pytest.raises(Refused) as info:
        il.set_route(demo_line.route_by_id["R_SPD09_SDT09B"], world.now)
    assert info.value.code in ("section_locked", "route_locked")
    assert il.signal_clear("SPD09") is None  # W0901 still moving: the signal stays at stop
    run(world, 5)
    assert il.signal_clear("SPD09") is not None
    delta_aspects = {s.id: s.aspect for s in world.snapshot().signals}
    assert delta_aspects["SPD09"] is Aspect.PROCEED_DIVERGING
    il.cancel_route("R_SPD09_SDT09A")
    run(world, 1)
    assert {s.id: s.aspect for s in world.snapshot().signals}["SPD09"] is Aspect.STOP


def test_occupied_points_refuse_to_move(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=20))
    sw = demo_line.switch_by_id["W2301"]
    for _ in range(20000):
        world.step(0.5)
        occupied = world.interlocking.occupied
        if sw.normal in occupied or sw.reverse in occupied:
            break
    else:
        pytest.fail("no train ever came over W2301")
    with pytest.raises(Refused) as info:
        world.interlocking.check_throw("W2301", SwitchLeg.REVERSE)
    assert info.value.code in ("section_occupied", "route_locked")


def test_the_service_keeps_running_for_two_hours(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=20))
    start_trips = {t.id: t.trip for t in world.trains.values()}
    run(world, 7200)
    # Every train turned back at least twice: no deadlock anywhere on the line.
    assert all(t.trip - start_trips[t.id] >= 2 for t in world.trains.values()), {
        t.id: (t.section, t.trip) for t in world.trains.values()
    }
    # Never two trains in one section.
    heads = [t.section for t in world.trains.values()]
    assert len(heads) == len(set(heads))


def test_deltas_are_numbered_without_gaps(demo_line: Line) -> None:
    world = World(demo_line, ServiceSettings(trains=20))
    seqs = [world.snapshot().seq]
    for _ in range(600):
        world.step(0.5)
        delta = world.publish()
        if delta is not None:
            seqs.append(delta.seq)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_since_when_is_the_servers_wall_clock_when_it_has_one(demo_line: Line) -> None:
    clock = [1_800_000_000_000]
    world = World(demo_line, ServiceSettings(trains=4), wall_ms=lambda: clock[0])
    snap = world.snapshot()
    assert {r.since_ms for r in snap.sections} == {1_800_000_000_000}  # the server's start
    clock[0] += 60_000
    delta = None
    for _ in range(200):
        world.step(0.5)
        delta = world.publish()
        if delta is not None and delta.sections:
            break
    assert delta is not None and delta.sections
    assert {r.since_ms for r in delta.sections} == {1_800_000_060_000}
    # without a clock (tests), simulated time as before
    plain = World(demo_line, ServiceSettings(trains=0))
    assert {r.since_ms for r in plain.snapshot().sections} == {0}


def test_no_route_is_set_over_a_switch_that_lost_its_position(demo_line: Line) -> None:
    """A switch without detection (表示丢失) cannot carry a route: the HMI showed it lost
    while the simulated interlocking still set routes over it. Thrown, it may come back."""
    world = World(demo_line, ServiceSettings(trains=0))
    il = world.interlocking
    route = demo_line.route_by_id["R_SPD09_SDT09A"]
    world.set_device_fault("switch_lost", "W0901", present=True)
    with pytest.raises(Refused) as info:
        il.set_route(route, world.now)
    assert (info.value.code, info.value.form) == ("switch_lost", "route_switch_lost")
    assert info.value.params == {"route": "R_SPD09_SDT09A", "switch": "W0901"}
    assert not il.routes
    # the fault survives a copy to the standby, and goes with the fault
    standby = World(demo_line, ServiceSettings(trains=0))
    standby.restore(world.export())
    with pytest.raises(Refused):
        standby.interlocking.set_route(route, standby.now)
    world.set_device_fault("switch_lost", "W0901", present=False)
    il.set_route(route, world.now)
    assert route.id in il.routes
