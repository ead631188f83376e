"""A failover told, not flooded: the real simulator pair with its alarm producer on a real
broker, the master killed (issue 18, "Redundancy and health, told").

The workstation's session raises one ``failover`` alarm (with its cause) and, once the
dead server stays away, ``no_redundancy``; both reach the same alarm list as the
server's alarms. The day's topic (the alarms' source of truth) shows the takeover
re-raised nothing: the standby had mirrored the master's alarms, and the demo's
start flood is not raised a second time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.alarms.consumer import FeedSettings, FeedState
from app.alarms.model import AlarmList
from app.alarms.records import AlarmEvent, EventType, Priority, RecordType, topic_for
from app.alarms.service import AlarmService
from app.comms.link import LinkTimings
from app.counterparts.services import TansuProcess
from app.counterparts.sim.launcher import SimulatorPair
from app.model.topology import Line
from app.session import DispatcherSession, LocalAlarm
from app.session.health import HOLD_MS
from tests.integration.test_alarm_producer import read_topic

pytestmark = pytest.mark.integration

TZ = "Asia/Shanghai"  # the demo line's
FLOOD = 12  # what the demo starts its pair with


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"after {timeout} s: {what}")


def test_killing_the_master_raises_one_failover_alarm_and_no_alarm_again(
    demo_line: Line,
    sim_pair: Callable[..., SimulatorPair],
    broker_factory: Callable[[], TansuProcess],
) -> None:
    broker = broker_factory()
    pair = sim_pair(
        "--trains",
        "4",
        "--legacy-commands",
        "--kafka",
        broker.bootstrap,
        "--alarm-flood",
        str(FLOOD),
        "--alarm-rate",
        "0",  # nothing random: every raise after the start is a takeover's
        "--alarm-snapshot-s",
        "1",
    )
    topic = topic_for("alarms", int(time.time() * 1000), TZ)
    told: list[LocalAlarm] = []

    async def scenario() -> None:
        session = DispatcherSession(
            demo_line,
            pair.endpoints,
            node="WS-F",
            dispatcher="tester",
            role="dispatcher",
            timings=LinkTimings(),
        )
        alarms = AlarmService(FeedSettings(broker.bootstrap, timezone=TZ))

        def to_list(a: LocalAlarm) -> None:  # what the window does (ui/coupling.py)
            told.append(a)
            alarms.local(a.code, a.text, a.active, a.time_ms, priority=Priority(a.priority or 2))

        session.alarm.connect(to_list)
        session.start()
        alarms.start()
        try:
            await until(
                lambda: (
                    session.master.server == "A"
                    and session.state.synchronised
                    and all(lk.is_up() for lk in session.links)
                    and alarms.status.state is FeedState.LIVE
                    and len(alarms.list) == FLOOD
                ),
                30,
                "A followed, four links up, the flood on the list",
            )
            await asyncio.sleep(1.0)  # the standby mirrors the alarms (a replica a tick)
            assert told == []  # links coming up one by one at start are not news
            before = {r.alarm_id for r in alarms.list.active()}

            pair.procs["A"].proc.kill()  # type: ignore[union-attr]
            await until(
                lambda: (
                    session.master.server == "B"
                    and session.master.role == "master"
                    and session.state.synchronised
                ),
                10,
                "B followed as master",
            )
            await until(lambda: "no_redundancy" in session.alarms, HOLD_MS / 1000 + 3, "told")
            await asyncio.sleep(2.0)  # anything the takeover would raise, on the topic

            failovers = [a for a in told if a.code == "failover"]
            assert [a.active for a in failovers] == [True, False]  # raised; normal once synced
            raised = failovers[0]
            assert dict(raised.params) == {
                "from": "A",
                "to": "B",
                "epoch": "2",
                "cause": "master_lost",
            }
            assert raised.since_ms == raised.time_ms
            lost = session.alarms["no_redundancy"]
            assert lost.param("lost") == "A" and lost.since_ms < lost.time_ms
            # in the list with the server's alarms: the failover unacknowledged, returned
            rows = {r.alarm_id: r for r in alarms.list.active()}
            assert rows["local:failover"].unacked and not rows["local:failover"].event.active
            assert rows["local:no_redundancy"].event.active
            assert {aid for aid in rows if not aid.startswith("local:")} == before

            # the topic, the alarms' truth: the flood raised once, nothing by B
            records = read_topic(broker.bootstrap, topic)
            raises = [
                (r.server, r.body.alarm_id)
                for _, r in records
                if r.type is RecordType.CHANGE
                and isinstance(r.body, AlarmEvent)
                and r.body.event is EventType.RAISE
            ]
            assert len(raises) == FLOOD and {s for s, _ in raises} == {"A"}
            assert any(r.server == "B" for _, r in records)  # B wrote its own snapshot
            whole = AlarmList()
            whole.apply_all(r for _, r in records)
            assert {a.alarm_id for a in whole.active()} == before

            # A back as standby: redundancy again, its alarm returns to normal
            await asyncio.to_thread(pair.restart, "A")
            await until(lambda: "no_redundancy" not in session.alarms, 15, "redundancy back")
            assert [a.code for a in told if a.active].count("failover") == 1
        finally:
            await alarms.aclose()
            await session.aclose()

    asyncio.run(scenario())


def test_a_network_lost_to_both_servers_is_an_alarm_until_it_is_back(
    demo_line: Line, sim_pair: Callable[..., SimulatorPair], relay_class: type[Any]
) -> None:
    """Network 2 cut between the desk and both servers (relays stand for the networks):
    ``network_down:2`` after the hold, nothing interrupted, cleared once it is back."""
    pair = sim_pair("--trains", "2", "--legacy-commands")
    told: list[LocalAlarm] = []

    async def scenario() -> None:
        relays = [
            relay_class(ep, "127.0.0.1" if i % 2 == 0 else "127.0.0.2")
            for i, ep in enumerate(pair.endpoints)
        ]
        endpoints = [await r.start() for r in relays]
        _a1, a2, _b1, b2 = relays
        session = DispatcherSession(
            demo_line, endpoints, node="WS-N", dispatcher="t", role="dispatcher"
        )
        session.alarm.connect(told.append)
        session.start()
        try:
            await until(lambda: all(lk.is_up() for lk in session.links), 15, "four links up")
            a2.cut()
            b2.cut()
            await until(lambda: "network_down:2" in session.alarms, HOLD_MS / 1000 + 5, "told")
            down = session.alarms["network_down:2"]
            assert down.param("network") == "2" and down.since_ms < down.time_ms
            assert session.master.server == "A" and session.state.synchronised
            assert [a.code for a in told] == ["network_down:2"]  # one alarm, not one per link
            a2.restore()
            b2.restore()
            await until(lambda: "network_down:2" not in session.alarms, 15, "network 2 back")
            assert [(a.code, a.active) for a in told] == [
                ("network_down:2", True),
                ("network_down:2", False),
            ]
        finally:
            await session.aclose()
            for r in relays:
                await r.close()

    asyncio.run(scenario())
