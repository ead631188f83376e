"""DispatcherSession as the composition of its parts, fed through its link handler
with fake links: what the links say in, what the session does and tells (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.comms.link import LinkDown
from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.roles import Role
from app.model.state import Changes, SectionState, StateDelta, StateSnapshot
from app.model.topology import Line
from app.protocol.messages import Message, SnapshotRequest
from app.protocol.udp import TrainStatus
from app.session import DispatcherSession, Endpoint, LocalAlarm, MasterView
from app.session.sequencing import DeltaSequencer


@dataclass
class FakeLink:
    """A link as the session sees it: up or not, its server's claim, what was sent on it."""

    name: str
    server: str
    peer_role: str = "master"
    peer_epoch: int = 1
    up: bool = True
    rtt_ms: float | None = None
    sent: list[Message] = field(default_factory=list)
    requests: dict[str, asyncio.Future[CommandResult]] = field(default_factory=dict)
    forgotten: list[str] = field(default_factory=list)
    closed: int = 0
    refuse: bool = False  # up, but refuses to send (it is leaving UP as we speak)

    def is_up(self) -> bool:
        return self.up

    def info(self) -> tuple[str, bool]:
        return (self.name, self.up)

    def send(self, msg: Message) -> None:
        if not self.up:
            raise LinkDown(f"link {self.name} is down")
        self.sent.append(msg)

    def request(self, cmd: Command) -> asyncio.Future[CommandResult]:
        if not self.up or self.refuse:
            raise LinkDown(f"link {self.name} is down")
        fut: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self.requests[cmd.command_id] = fut
        return fut

    def forget(self, command_id: str) -> None:
        self.forgotten.append(command_id)

    async def aclose(self) -> None:
        self.closed += 1


class Rig:
    """A session over four fake links: A (master) and B (standby), two networks each."""

    def __init__(self, line: Line, role: Role | str = Role.DISPATCHER) -> None:
        self.session = DispatcherSession(
            line,
            [Endpoint("A", "127.0.0.1", 1)],  # replaced below: no socket is ever opened
            node="WS-U",
            dispatcher="tester",
            role=role,
            command_timeout_s=0.2,
        )
        self.a1, self.a2 = FakeLink("A@net1", "A"), FakeLink("A@net2", "A")
        self.b1 = FakeLink("B@net1", "B", "standby")
        self.b2 = FakeLink("B@net2", "B", "standby")
        self.session.links = [self.a1, self.a2, self.b1, self.b2]  # type: ignore[list-item]
        self.changes: list[Changes] = []
        self.masters: list[MasterView] = []
        self.alarms: list[LocalAlarm] = []
        self.session.state_changed.connect(self.changes.append)
        self.session.master_changed.connect(self.masters.append)
        self.session.alarm.connect(self.alarms.append)
        for link in self.session.links:
            self.session.link_state(link)
        self.a1.sent.clear()  # "master changed": A found, its state asked for

    def say(self, link: FakeLink, **claim: Any) -> None:
        """The link's state or its server's claim changed."""
        for key, value in claim.items():
            setattr(link, key, value)
        self.session.link_state(link)  # type: ignore[arg-type]

    def message(self, link: FakeLink, msg: Message) -> None:
        self.session.link_message(link, msg)  # type: ignore[arg-type]

    def status(self, link: FakeLink, rec: TrainStatus) -> None:
        self.session.link_status(link, rec)  # type: ignore[arg-type]


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coro())


def snap(seq: int, occupied: bool = False) -> StateSnapshot:
    return StateSnapshot(seq, sections=(SectionState("TD01", occupied=occupied),))


def delta(seq: int) -> StateDelta:
    return StateDelta(seq, sections=(SectionState("TD01", occupied=seq % 2 == 1),))


def status(seq: int, train_id: int = 7, section_index: int = 4) -> TrainStatus:
    return TrainStatus(seq, 1_800_000_000_000, train_id, "0701", section_index, 100, 0, 0, 0, 1)


def snapshot_requests(link: FakeLink) -> list[str]:
    return [m.reason for m in link.sent if isinstance(m, SnapshotRequest)]


def test_the_role_is_the_enum_and_compares_with_its_value(demo_line: Line) -> None:
    s = DispatcherSession(demo_line, [], node="n", dispatcher="d", role="observer")
    assert s.role is Role.OBSERVER and s.role == "observer"
    assert type(s._hello(0).role) is str and s._hello(0).role == "observer"
    s.role = "supervisor"
    assert s.role is Role.SUPERVISOR
    with pytest.raises(ValueError, match="root"):
        DispatcherSession(demo_line, [], node="n", dispatcher="d", role="root")


def test_it_follows_the_master_and_takes_nothing_from_the_standby(demo_line: Line) -> None:
    rig = Rig(demo_line)
    s = rig.session
    assert s.master == MasterView("A", 1, (("A", 1),))
    assert rig.masters == [s.master]  # told once, when A came up
    rig.message(rig.b1, snap(50, occupied=True))  # the standby's mirrored state
    assert not s.state.synchronised
    rig.message(rig.a1, snap(3))
    assert s.state.seq == 3 and rig.changes[-1].full
    rig.message(rig.b2, delta(51))
    assert s.state.seq == 3
    rig.status(rig.b1, status(1))  # a datagram from the standby
    assert s.state.trains == {} and s._train_seq == {}
    rig.status(rig.a2, status(1))  # from the master, on its second network
    assert set(s.state.trains) == {7} and s._train_seq == {7: 1}
    seen = len(rig.changes)
    rig.status(rig.a1, status(1))  # its copy on the first network: dropped
    assert len(rig.changes) == seen


def test_datagrams_wait_for_a_snapshot_and_bad_ones_are_counted(demo_line: Line) -> None:
    rig = Rig(demo_line)
    s = rig.session
    rig.status(rig.a1, status(1))
    assert s.state.trains == {}  # not synchronised: nothing to move
    rig.message(rig.a1, snap(1))
    rig.status(rig.a1, status(2, section_index=len(demo_line.sections)))
    assert s.bad_records == 1 and s._train_seq == {}


def test_a_snapshot_older_than_the_state_is_ignored(demo_line: Line) -> None:
    rig = Rig(demo_line)
    s = rig.session
    rig.message(rig.a1, snap(5))
    seen = len(rig.changes)
    rig.message(rig.a2, snap(5))  # the greeting on the other network
    rig.message(rig.a2, snap(4, occupied=True))  # older
    assert len(rig.changes) == seen and s.state.seq == 5
    assert not s.state.sections["TD01"].occupied
    rig.message(rig.a2, snap(6, occupied=True))
    assert s.state.seq == 6 and s.state.sections["TD01"].occupied


def test_a_delta_on_the_second_network_first_waits_for_its_predecessor(
    demo_line: Line,
) -> None:
    async def scenario() -> None:
        rig = Rig(demo_line)
        s = rig.session
        rig.message(rig.a1, snap(1))
        rig.message(rig.a2, delta(3))  # network 2 is ahead: 2 is still on network 1
        assert s.state.seq == 1 and s.deltas.deadline is not None
        rig.message(rig.a1, delta(2))
        assert s.state.seq == 3 and s.deltas.deadline is None
        assert s._reorder_timer is None  # the window's timer went with it
        rig.message(rig.a2, delta(2))  # the copies: repeats
        rig.message(rig.a1, delta(3))
        assert s.state.stale_deltas == 2 and s.gaps == 0
        assert snapshot_requests(rig.a1) == snapshot_requests(rig.a2) == []

    run(scenario)


def test_a_gap_past_the_window_asks_the_master_for_a_snapshot(demo_line: Line) -> None:
    async def scenario() -> None:
        rig = Rig(demo_line)
        s = rig.session
        s.deltas = DeltaSequencer(window_s=0.05)
        rig.a1.rtt_ms, rig.a2.rtt_ms = 9.0, 2.0
        rig.message(rig.a1, snap(1))
        rig.message(rig.a1, delta(3))
        await asyncio.sleep(0.02)
        assert s.state.synchronised and s.gaps == 0  # still within the window
        await asyncio.sleep(0.1)
        assert s.gaps == 1 and not s.state.synchronised
        assert rig.changes[-1] == Changes(full=True)  # shown stale at once
        # asked on the master's quickest link
        assert snapshot_requests(rig.a2) == ["delta sequence gap: expected 2, got 3"]
        rig.message(rig.a1, delta(2))  # too late: only a snapshot helps now
        assert not s.state.synchronised
        rig.message(rig.a2, snap(3))
        assert s.state.seq == 3

    run(scenario)


def test_a_master_change_shows_the_state_stale_and_asks_the_new_master(
    demo_line: Line,
) -> None:
    rig = Rig(demo_line)
    s = rig.session
    rig.say(rig.b1, up=False)  # the standby is out of reach
    rig.say(rig.b2, up=False)
    rig.message(rig.a1, snap(7))
    rig.status(rig.a1, status(100))
    rig.say(rig.a1, up=False)  # one network down: nothing changes
    assert s.state.synchronised and s.failovers == 0
    rig.say(rig.a2, up=False)  # both: nobody is master for now
    assert s.master.server is None and not s.state.synchronised
    assert rig.changes[-1] == Changes(full=True)
    assert s.failovers == 1
    rig.say(rig.b1, peer_role="master", peer_epoch=2, up=True)  # B, promoted, comes up
    assert s.master == MasterView("B", 2, (("B", 2),))
    assert snapshot_requests(rig.b1) == ["master changed"]
    assert s.failovers == 1  # finding a master is not losing one
    rig.message(rig.b1, snap(2))  # B numbers its own: lower than A's, and taken
    assert s.state.seq == 2
    rig.status(rig.b1, status(1))  # and B's datagram numbers: A's are forgotten
    assert s._train_seq == {7: 1}
    assert [m.server for m in rig.masters] == ["A", None, "B"]


def test_only_the_standby_reachable_shows_its_state_and_refuses_commands(
    demo_line: Line,
) -> None:
    async def scenario() -> None:
        rig = Rig(demo_line)
        s = rig.session
        rig.say(rig.a1, up=False)
        rig.say(rig.a2, up=False)
        assert s.master == MasterView("B", 1, (), "standby")
        assert snapshot_requests(rig.b1) == ["master changed"]
        assert not await s.wait_commandable(0.01)
        res = await s.command("W0903", CommandOp.THROW_REVERSE)
        assert (res.outcome, res.reason_code) == (Outcome.FAILED, "master_unreachable")
        assert rig.b1.requests == rig.b2.requests == {}

    run(scenario)


def test_split_brain_follows_the_higher_epoch_and_raises_the_local_alarm(
    demo_line: Line,
) -> None:
    rig = Rig(demo_line)
    s = rig.session
    rig.say(rig.b1, peer_role="master", peer_epoch=2)
    assert s.master.server == "B" and s.master.split_brain
    assert "dual_master" in s.alarms
    # following B is a failover too: A, still master, was superseded by a higher epoch
    assert [(a.code, a.active) for a in rig.alarms] == [("failover", True), ("dual_master", True)]
    assert rig.alarms[0].param("cause") == "superseded"
    assert s.alarms["dual_master"].text == (
        "dual master: A (epoch 1), B (epoch 2) all claim master; following B"
    )
    assert s.alarms["dual_master"].params == (("claimants", "A:1,B:2"), ("following", "B"))
    rig.say(rig.b2, peer_role="master", peer_epoch=2)  # still the same two: no new alarm
    assert len(rig.alarms) == 2
    rig.say(rig.a1, peer_role="standby")  # A steps down on both networks
    rig.say(rig.a2, peer_role="standby")
    assert "dual_master" not in s.alarms and s.master.server == "B"
    assert [(a.code, a.active) for a in rig.alarms if a.code == "dual_master"] == [
        ("dual_master", True),
        ("dual_master", False),
    ]


def test_commands_go_on_the_quickest_link_and_every_end_is_an_outcome(
    demo_line: Line,
) -> None:
    async def scenario() -> None:
        rig = Rig(demo_line)
        s = rig.session
        rig.a1.rtt_ms, rig.a2.rtt_ms = 5.0, 1.0
        assert s.command_link() is rig.a2
        assert await s.wait_commandable(0.01)
        finished: list[CommandResult] = []
        s.command_finished.connect(finished.append)

        # answered
        task = asyncio.create_task(s.command("W0903", CommandOp.THROW_REVERSE, fencing_token=3))
        await asyncio.sleep(0)
        ((cid, fut),) = rig.a2.requests.items()
        fut.set_result(
            CommandResult(cid, "W0903", CommandOp.THROW_REVERSE, Outcome.EXECUTED, "", "")
        )
        res = await task
        assert res.outcome is Outcome.EXECUTED and rig.a2.forgotten == [cid]
        assert finished == [res]

        # the link fails after sending: unknown, with the link's reason
        task = asyncio.create_task(s.command("W0903", CommandOp.THROW_NORMAL))
        await asyncio.sleep(0)
        fut = rig.a2.requests.popitem()[1]
        err = LinkDown("left UP")
        err.__cause__ = ConnectionError("no frame for 1.52 s (heartbeat timeout)")
        fut.set_exception(err)
        res = await task
        assert (res.outcome, res.reason_code) == (Outcome.UNKNOWN, "link_down")
        assert "sent on A@net2" in res.reason and "heartbeat timeout" in res.reason

        # no answer: unknown after the timeout
        res = await s.command("W0903", CommandOp.THROW_NORMAL)
        assert (res.outcome, res.reason_code) == (Outcome.UNKNOWN, "timeout")
        assert res.reason.startswith("no result within 0.2 s")

        # the link refuses it: failed, not sent
        rig.a2.refuse = True
        res = await s.command("W0903", CommandOp.THROW_NORMAL)
        assert (res.outcome, res.reason_code) == (Outcome.FAILED, "no_link")
        assert res.reason == "not sent: link A@net2 is down"
        # no link up to the master: failed, not sent
        rig.a1.up = rig.a2.up = False  # down, before the session heard of it
        res = await s.command("W0903", CommandOp.THROW_NORMAL)
        assert (res.outcome, res.reason) == (Outcome.FAILED, "no link to the master; not sent")
        rig.say(rig.a2)  # the session hears of it: the standby's state only
        res = await s.command("W0903", CommandOp.THROW_NORMAL)
        assert (res.outcome, res.reason_code) == (Outcome.FAILED, "master_unreachable")
        rig.say(rig.b1, peer_role="master", peer_epoch=2)
        assert s.command_link() is rig.b1
        assert len(finished) == 6

    run(scenario)


def test_an_observer_is_refused_without_sending(demo_line: Line) -> None:
    async def scenario() -> None:
        rig = Rig(demo_line, role="observer")
        res = await rig.session.command("W0903", CommandOp.THROW_REVERSE)
        assert (res.outcome, res.reason_code) == (Outcome.REFUSED, "not_authorised")
        assert all(not lk.requests for lk in (rig.a1, rig.a2, rig.b1, rig.b2))

    run(scenario)


def test_aclose_is_idempotent(demo_line: Line) -> None:
    async def scenario() -> None:
        rig = Rig(demo_line)
        s = rig.session
        await s.aclose()
        await s.aclose()
        assert [lk.closed for lk in (rig.a1, rig.a2, rig.b1, rig.b2)] == [1, 1, 1, 1]

    run(scenario)
