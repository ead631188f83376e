"""The simulator's alarm producer and the HMI side together, against a real broker.

A real ``python -m app.counterparts.sim --kafka`` child produces; the checks read the topic
raw, or run the HMI's own AlarmService and AckOutbox in this process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from app.alarms.consumer import FeedSettings, FeedState
from app.alarms.model import AlarmList
from app.alarms.records import (
    Record,
    RecordType,
    SnapshotPart,
    decode_record,
    next_midnight_ms,
    topic_for,
)
from app.alarms.service import AlarmService
from app.counterparts.services import TansuProcess
from app.counterparts.sim.launcher import SimulatorProcess
from app.model.commands import CommandOp, Outcome
from app.model.topology import Line
from app.session import DispatcherSession

pytestmark = pytest.mark.integration

TZ = "Asia/Shanghai"  # the demo line's


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> list[tuple[int, Record]]:
    """Every record of ``topic`` from offset 0 to its end, decoded."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "test-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    out: list[tuple[int, Record]] = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    break
                continue
            offset = msg.offset()
            assert offset is not None
            out.append((offset, decode_record(msg.value(), f"{topic}@{offset}")))
    finally:
        c.close()
    return out


def wait(pred: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def sim_args(broker: TansuProcess, *extra: str) -> list[str]:
    return [
        "--trains",
        "4",
        "--kafka",
        broker.bootstrap,
        "--alarm-rate",
        "400",
        "--alarm-snapshot-s",
        "1",
        "--seed",
        "7",
        *extra,
    ]


def test_every_change_once_numbered_and_snapshots_findable(
    start_sim: Callable[..., SimulatorProcess], broker_factory: Callable[[], TansuProcess]
) -> None:
    broker = broker_factory()
    start_sim(*sim_args(broker, "--alarm-flood", "30"))
    topic = topic_for("alarms", int(time.time() * 1000), TZ)
    wait(lambda: len(read_topic(broker.bootstrap, topic, 2)) > 80)
    time.sleep(1.5)
    records = read_topic(broker.bootstrap, topic)
    assert records[0][1].type is RecordType.SNAPSHOT  # a topic starts with a snapshot
    changes = [r for _, r in records if r.type is RecordType.CHANGE]
    assert [r.seq for r in changes] == list(range(changes[0].seq, changes[0].seq + len(changes)))
    starts = {o for o, r in records if isinstance(r.body, SnapshotPart) and r.body.part == 0}
    pointed = {r.snapshot_offset for _, r in records if r.snapshot_offset >= 0}
    assert pointed and pointed <= starts, "snapshot_offset must point at a snapshot's first part"
    # Parts of one snapshot are consecutive.
    for o, r in records:
        if isinstance(r.body, SnapshotPart) and r.body.part > 0:
            prev = dict(records)[o - 1].body
            assert isinstance(prev, SnapshotPart) and prev.snapshot_id == r.body.snapshot_id
    # From the newest snapshot the last record names == the whole day replayed.
    whole, tail = AlarmList(), AlarmList()
    whole.apply_all(r for _, r in records)
    last = records[-1][1]
    tail.apply_all(r for o, r in records if o >= last.snapshot_offset)
    assert {a.alarm_id: a.state for a in tail.active()} == {
        a.alarm_id: a.state for a in whole.active()
    }
    assert len(whole) >= 20


def test_midnight_ends_the_topic_and_the_next_starts_with_a_snapshot(
    start_sim: Callable[..., SimulatorProcess], broker_factory: Callable[[], TansuProcess]
) -> None:
    broker = broker_factory()
    midnight = next_midnight_ms(int(time.time() * 1000), TZ)
    start = midnight - 3000
    start_sim(*sim_args(broker, "--alarm-flood", "10", "--clock-start-ms", str(start)))
    day1, day2 = topic_for("alarms", start, TZ), topic_for("alarms", midnight, TZ)
    wait(lambda: len(read_topic(broker.bootstrap, day2, 2)) > 5, timeout=30)
    old = read_topic(broker.bootstrap, day1)
    new = read_topic(broker.bootstrap, day2)
    assert old[-1][1].type is RecordType.END
    assert old[-1][1].body.next_topic == day2  # type: ignore[union-attr]
    assert new[0][1].type is RecordType.SNAPSHOT
    # A list that read day 1 then day 2 equals one that read day 2 only: nothing lost,
    # nothing doubled, alarms still active from yesterday are in the new snapshot.
    across, fresh = AlarmList(), AlarmList()
    across.apply_all(r for _, r in old)
    across.apply_all(r for _, r in new)
    fresh.apply_all(r for _, r in new)
    assert {a.alarm_id: a.state for a in across.active()} == {
        a.alarm_id: a.state for a in fresh.active()
    }
    yesterday = {r.body.alarm_id for _, r in old if r.type is RecordType.CHANGE}  # type: ignore[union-attr]
    assert yesterday & {a.alarm_id for a in fresh.active()}, "yesterday's alarms carried over"
    assert across.stats.duplicates == 0


def test_ack_round_trip_across_two_hmi_cores_and_while_the_link_is_down(
    demo_line: Line,
    start_sim: Callable[..., SimulatorProcess],
    broker_factory: Callable[[], TansuProcess],
    tmp_path: Path,
) -> None:
    broker = broker_factory()
    sim = start_sim(*sim_args(broker, "--alarm-flood", "5"))
    settings = FeedSettings(broker.bootstrap, timezone=TZ)
    timings: dict[str, Any] = {}

    async def scenario() -> None:
        s1 = DispatcherSession(
            demo_line, sim.endpoints, node="WS-1", dispatcher="d1", role="dispatcher"
        )
        a1 = AlarmService(
            settings, sender=s1, ack_op=CommandOp.ACK_ALARM, acks_path=tmp_path / "a1.json"
        )
        a2 = AlarmService(settings)  # a second HMI core: read only
        s1.start()
        a1.start()
        a2.start()
        try:
            async with asyncio.timeout(30):
                while not (
                    a1.status.state is FeedState.LIVE
                    and a2.status.state is FeedState.LIVE
                    and s1.master.can_command
                    and any(r.unacked and r.event.active for r in a1.list.active())
                ):
                    await asyncio.sleep(0.02)
            target = next(r for r in a1.list.active() if r.unacked and r.event.active)
            start = time.perf_counter()
            a1.acknowledge([target.alarm_id])
            async with asyncio.timeout(10):
                while True:
                    row = a2.list.get(target.alarm_id)
                    if row is None or not row.unacked:
                        break
                    await asyncio.sleep(0.005)
            timings["ack_seen_by_other_ms"] = (time.perf_counter() - start) * 1000
            row = a2.list.get(target.alarm_id)
            assert row is None or row.event.by == "d1"

            # Shelve another one for 5 minutes: every HMI hides it.
            shelved = next(r for r in a1.list.active() if r.alarm_id != target.alarm_id)
            [result] = await a1.shelve([shelved.alarm_id], 5)
            assert result.outcome is Outcome.EXECUTED, result
            async with asyncio.timeout(10):
                while (r2 := a2.list.get(shelved.alarm_id)) is None or r2.state.value != "shelved":
                    await asyncio.sleep(0.01)
            assert r2.shelved_until_ms > time.time() * 1000 + 4 * 60_000

            # The link down (the server paused): the ack waits in the outbox, then goes.
            os.kill(sim.proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
            try:
                async with asyncio.timeout(10):
                    while s1.master.can_command:
                        await asyncio.sleep(0.05)
                other = next(
                    r for r in a1.list.active() if r.unacked and r.alarm_id != target.alarm_id
                )
                assert a1.acks is not None
                a1.acknowledge([other.alarm_id])
                await asyncio.sleep(1.0)
                assert [p.alarm_id for p in a1.acks.pending] == [other.alarm_id]
                assert a1.acks.pending[0].attempts >= 1
            finally:
                os.kill(sim.proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
            async with asyncio.timeout(20):
                while a1.acks.pending:
                    await asyncio.sleep(0.05)
                while True:
                    row = a2.list.get(other.alarm_id)
                    if row is None or not row.unacked:
                        break
                    await asyncio.sleep(0.02)
        finally:
            await a1.aclose()
            await a2.aclose()
            await s1.aclose()

    asyncio.run(scenario())
    print(f"ack seen by the other HMI after {timings['ack_seen_by_other_ms']:.0f} ms (target 500)")


def test_broker_killed_and_restarted_the_live_list_converges_with_a_fresh_one(
    start_sim: Callable[..., SimulatorProcess],
    broker_factory: Callable[[], TansuProcess],
) -> None:
    broker = broker_factory()
    start_sim(*sim_args(broker, "--alarm-flood", "15"))
    settings = FeedSettings(broker.bootstrap, timezone=TZ)
    seen: list[FeedState] = []

    async def scenario() -> None:
        live = AlarmService(settings)
        live.status_changed.connect(lambda st: seen.append(st.state))
        live.start()
        try:
            async with asyncio.timeout(30):
                while live.status.state is not FeedState.LIVE or len(live.list) < 10:
                    await asyncio.sleep(0.05)
            # The broker dies (memory storage: its topics die with it) and comes back.
            assert broker.proc is not None
            broker.proc.kill()
            broker.proc.wait(10)
            async with asyncio.timeout(30):
                while live.status.state is not FeedState.STALE:
                    await asyncio.sleep(0.05)
            broker.start()
            async with asyncio.timeout(60):
                while True:
                    await asyncio.sleep(0.5)
                    if live.status.state is FeedState.LIVE:
                        fresh = AlarmService(settings)
                        fresh.start()
                        try:
                            async with asyncio.timeout(20):
                                while fresh.status.state is not FeedState.LIVE:
                                    await asyncio.sleep(0.05)
                            await asyncio.sleep(1.5)  # both follow the same live changes
                            a = {r.alarm_id: r.state for r in live.list.active()}
                            b = {r.alarm_id: r.state for r in fresh.list.active()}
                        finally:
                            await fresh.aclose()
                        if a == b and a:
                            break
        finally:
            await live.aclose()

    asyncio.run(scenario())
    assert FeedState.STALE in seen and seen[-1] is FeedState.STOPPED
