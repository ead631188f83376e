"""Issue 18: the real simulator's device alarms agree with the state it serves.

A demo alarm said "W0602 lost its position" while the switch's tooltip (the state the
HMI was served) said "normal". Here a real ``dispatcher-sim`` child raises a start-up
flood on a real broker; the HMI's own session (the served state over the protocol) and
alarm service (the Kafka topic) are read side by side: every active alarm about a
switch, a signal or a section names a device that the served state shows faulty (lost,
dark, fault), and every faulty device has its active alarm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from app.alarms.consumer import FeedSettings, FeedState
from app.alarms.service import AlarmService
from app.counterparts.services import TansuProcess
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.state import Aspect, LineState, SwitchPosition
from app.model.topology import Line
from app.session import DispatcherSession

pytestmark = pytest.mark.integration

DEVICE_KINDS = ("switch_lost", "signal_lamp", "section_fault")


def served_faults(state: LineState) -> set[tuple[str, str]]:
    return (
        {
            ("switch_lost", s.id)
            for s in state.switches.values()
            if s.position is SwitchPosition.LOST
        }
        | {("signal_lamp", s.id) for s in state.signals.values() if s.aspect is Aspect.DARK}
        | {("section_fault", s.id) for s in state.sections.values() if s.fault}
    )


def alarmed(alarms: AlarmService) -> set[tuple[str, str]]:
    return {
        (r.event.kind, r.event.device)
        for r in alarms.list.active()
        if r.event.active and r.event.kind in DEVICE_KINDS
    }


def test_device_alarms_name_exactly_the_devices_served_faulty(
    demo_line: Line,
    start_sim: Callable[..., SimulatorProcess],
    broker_factory: Callable[[], TansuProcess],
) -> None:
    broker: TansuProcess = broker_factory()
    sim = start_sim(
        *("--trains", "4", "--kafka", broker.bootstrap, "--alarm-rate", "0"),
        *("--alarm-flood", "40", "--alarm-snapshot-s", "1", "--seed", "11"),
    )
    agreed: list[int] = []

    async def scenario() -> None:
        session = DispatcherSession(
            demo_line, sim.endpoints, node="WS-1", dispatcher="d1", role="observer"
        )
        alarms = AlarmService(FeedSettings(broker.bootstrap, timezone=demo_line.timezone))
        session.start()
        alarms.start()
        try:
            async with asyncio.timeout(30):
                while not (
                    alarms.status.state is FeedState.LIVE
                    and session.state.synchronised
                    and alarmed(alarms)
                ):
                    await asyncio.sleep(0.05)
            # The two channels (TCP deltas, the Kafka topic) arrive apart by up to a few
            # hundred ms: each sample must agree within a second, for ten seconds (the
            # faults end one by one meanwhile: each alarm clears with its device).
            for _ in range(10):
                async with asyncio.timeout(2):
                    while served_faults(session.state) != alarmed(alarms):
                        await asyncio.sleep(0.02)
                agreed.append(len(alarmed(alarms)))
                await asyncio.sleep(1.0)
        finally:
            await alarms.aclose()
            await session.aclose()

    asyncio.run(scenario())
    assert agreed[0] > 0, "the flood raised no device alarm"
    print(f"device alarms agreeing with the served state, per second: {agreed}")
