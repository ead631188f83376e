"""The black box against a real simulator pair running the demo weekday at 60× with a
failover: what the session showed at moments taken live is what a replay rebuilds at
those moments, exactly; the switchover is marked; the file is whole after close."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from app.alarms.consumer import FeedSettings, FeedState
from app.alarms.service import AlarmService
from app.config.timetable import load_timetable
from app.counterparts.services import TansuProcess
from app.counterparts.sim.launcher import SimulatorPair, SimulatorProcess
from app.model.commands import CommandOp
from app.model.topology import Line
from app.replay.clip import ClipError, export_clip, open_clip
from app.replay.format import Kind, MasterBody
from app.replay.player import Picture, Player, picture
from app.replay.recorder import Recorder, RecorderSettings
from app.replay.store import Recording, days
from app.replay.store import day_files as days_files
from app.session import DispatcherSession
from tests.integration.test_timetable_against_sim import SERVICE_DATE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO_WEEKDAY = ROOT / "resources" / "timetables" / "demo-weekday.yaml"
#: the pair the black box tests record: the demo weekday from 07:30 at 60x
RECORDED_MORNING = (
    *("--legacy-commands", "--timetable", str(DEMO_WEEKDAY), "--service-start", "07:30"),
    *("--service-date", SERVICE_DATE, "--time-scale", "60", "--seed", "5"),
)


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def test_a_replay_rebuilds_what_the_desk_showed_at_any_moment(
    sim_pair: Callable[..., SimulatorPair], demo_line: Line, tmp_path: Path
) -> None:
    plan = load_timetable(DEMO_WEEKDAY, demo_line)
    pair = sim_pair(*RECORDED_MORNING)
    session = DispatcherSession(
        demo_line,
        pair.endpoints,
        node="WS-BB",
        dispatcher="tester",
        role="dispatcher",
        timetable=plan,
        late_alarm_s=120,
    )
    root = tmp_path / "blackbox"
    settings = RecorderSettings(root, keyframe_ms=5_000, train_sample_ms=500)
    recorder = Recorder(settings, session)
    taken: list[tuple[int, Picture]] = []
    rng = random.Random(7)

    async def take() -> None:
        # a moment right after a sample: everything the desk shows is recorded by then
        recorder.sample_trains(recorder.clock_ms())
        now = recorder.clock_ms()
        taken.append(
            (
                now,
                picture(
                    session.state,
                    None,
                    session.local.active.values(),
                    session.service,
                    session.link_infos(),
                ),
            )
        )

    async def scenario() -> None:
        session.start()
        recorder.start()
        try:
            await until(lambda: session.state.synchronised, 15)
            for _ in range(12):
                await asyncio.sleep(rng.uniform(0.2, 0.9))
                await take()
            os.kill(pair.procs["A"].pid, signal.SIGKILL)
            await until(lambda: session.master.server == "B" and session.state.synchronised, 20)
            for _ in range(12):
                await asyncio.sleep(rng.uniform(0.2, 0.9))
                await take()
        finally:
            await recorder.aclose()
            await session.aclose()

    asyncio.run(scenario())
    (day,) = days(root)
    rec = Recording.open_day(root, day)
    assert not rec.damage
    assert rec.kind(len(rec) - 1) is Kind.END
    player = Player(demo_line, rec, timetable=plan)
    assert sum(bool(p.actuals) for _, p in taken) > len(taken) // 2  # a day with actuals
    assert any(p.state["trains"] for _, p in taken)
    mismatches = []
    for t, live in taken:
        player.seek(t)
        got = picture(player.state, None, player.local.values(), player.service, player.links)
        if got != live:
            mismatches.append((t, _diff(got, live)))
    assert not mismatches, mismatches[:2]
    # the switchover is marked: A's master lost, B followed
    markers = [rec.body(i) for i in rec.of_kinds((Kind.MASTER,))]
    assert any(isinstance(m, MasterBody) and m.failover and m.view.server == "B" for m in markers)
    switchover = player.next_of((Kind.MASTER,), player.start_ms, failover_only=True)
    assert switchover is not None

    # a clip of the window around the switchover opens elsewhere and shows the same
    start, end = taken[4][0], taken[-3][0]
    clip = tmp_path / "incident.dhclip"
    export_clip(rec, demo_line, start, end, clip, timetable=plan)
    opened = Recording.open(list(days_files(root, day)))  # the day is untouched
    assert len(opened) == len(rec)
    replay = Player(demo_line, open_clip(clip), timetable=plan)
    assert replay.start_ms == start
    inside = [(t, p) for t, p in taken if start <= t <= end]
    assert len(inside) >= 10
    for t, live in inside:
        replay.seek(t)
        got = picture(replay.state, None, replay.local.values(), replay.service, replay.links)
        assert got == live, _diff(got, live)
    assert replay.next_of((Kind.MASTER,), start, failover_only=True) == switchover
    # a clip altered or cut short is refused, saying why
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x40
    bad = tmp_path / "altered.dhclip"
    bad.write_bytes(bytes(data))
    with pytest.raises(ClipError, match=r"altered|CRC"):
        open_clip(bad)
    cut = tmp_path / "cut.dhclip"
    cut.write_bytes(clip.read_bytes()[:-30])
    with pytest.raises(ClipError, match=r"damaged|clip end"):
        open_clip(cut)


def _diff(a: Picture, b: Picture) -> str:
    out = []
    for name in Picture.__slots__:
        if getattr(a, name) != getattr(b, name):
            out.append(name)
    if "state" in out:
        sa, sb = a.state, b.state
        out.append(str([k for k in sa if sa[k] != sb[k]]))
    return ", ".join(out)


def test_the_alarm_list_replayed_is_the_one_the_desk_had(
    demo_line: Line,
    start_sim: Callable[..., SimulatorProcess],
    broker_factory: Callable[[], TansuProcess],
    tmp_path: Path,
) -> None:
    """A flood, alarms raised and cleared all along, some acknowledged by the desk (the
    server's records of it come back on the topic), a workstation alarm of its own: at
    every moment taken live, the replay's alarm list is the live list, row for row."""
    broker = broker_factory()
    sim = start_sim(
        *("--trains", "4", "--kafka", broker.bootstrap, "--alarm-rate", "2"),
        *("--alarm-flood", "30", "--alarm-snapshot-s", "2", "--seed", "4"),
    )
    session = DispatcherSession(
        demo_line, sim.endpoints, node="WS-AL", dispatcher="d1", role="dispatcher"
    )
    alarms = AlarmService(
        FeedSettings(broker.bootstrap, timezone=demo_line.timezone),
        sender=session,
        ack_op=CommandOp.ACK_ALARM,
        acks_path=tmp_path / "acks.json",
    )
    # the session's own alarms into the list, as the window does (ui/coupling.py)
    session.alarm.connect(
        lambda a: alarms.local(a.code, a.text, a.active, a.time_ms, since_ms=a.since_ms)
    )
    root = tmp_path / "bb"
    recorder = Recorder(RecorderSettings(root, keyframe_ms=3_000), session, alarms=alarms)
    taken: list[tuple[int, Picture]] = []

    async def scenario() -> None:
        session.start()
        alarms.start()
        recorder.start()
        try:
            async with asyncio.timeout(30):
                while not (alarms.status.state is FeedState.LIVE and len(alarms.list) > 5):
                    await asyncio.sleep(0.05)
            for n in range(16):
                await asyncio.sleep(0.45)
                if n % 4 == 1:  # the desk acknowledges the newest unacknowledged
                    top = alarms.list.newest_highest_unacked()
                    if top is not None:
                        alarms.acknowledge([top.alarm_id])
                if n == 6:  # and raises one of its own
                    session.local.set("replay_test", "a local alarm", True)
                recorder.sample_trains(recorder.clock_ms())
                taken.append(
                    (
                        recorder.clock_ms(),
                        picture(
                            session.state,
                            alarms.list,
                            session.local.active.values(),
                            session.service,
                            session.link_infos(),
                        ),
                    )
                )
        finally:
            await recorder.aclose()
            await alarms.aclose()
            await session.aclose()

    asyncio.run(scenario())
    (day,) = days(root)
    rec = Recording.open_day(root, day)
    kinds = {rec.kind(i) for i in range(len(rec))}
    assert {Kind.ALARM, Kind.LOCAL_EVENT, Kind.LOCAL_ALARM} <= kinds
    player = Player(demo_line, rec)
    acked = 0
    for t, live in taken:
        player.seek(t)
        got = player.picture()
        assert got.alarms == live.alarms, t
        assert got == live, _diff(got, live)
        assert live.alarms is not None
        acked += sum(1 for r in live.alarms.rows if r.event.acked)
    assert acked > 0
    # played forward from the first moment, the list arrives at the same last one
    player.seek(taken[0][0])
    for t, live in taken[1:]:
        player.advance(t)
        assert player.picture().alarms == live.alarms
