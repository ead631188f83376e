"""What a command sends, and the outcomes the workstation gives it itself."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

from app.model.commands import Command, CommandOp, Outcome
from app.model.roles import Role
from app.session import MasterView
from app.session.commands import (
    link_failed,
    new_command,
    not_sent,
    refusal,
    timed_out,
)

MASTER = MasterView("A", 1, (("A", 1),))
STANDBY = MasterView("B", 1, (), "standby")


def ids() -> Callable[[], str]:
    n = count(1)
    return lambda: f"id{next(n)}"


def cmd() -> Command:
    return Command("c1", "W0903", CommandOp.THROW_REVERSE, "d.li", "dispatcher")


def test_a_command_names_its_sender_and_its_intent() -> None:
    c = new_command(
        "W0903",
        CommandOp.THROW_REVERSE,
        dispatcher="d.li",
        role=Role.SUPERVISOR,
        zone="Z1",
        idempotency_key="intent-1",
        fencing_token=42,
        arg="x",
        new_id=ids(),
    )
    assert c == Command(
        "id1", "W0903", CommandOp.THROW_REVERSE, "d.li", "supervisor", "Z1", "intent-1", 42, "x"
    )
    assert type(c.role) is str  # the role's value on the wire


def test_a_fresh_key_when_none_is_given_and_no_zone_is_empty() -> None:
    c = new_command(
        "W0903",
        CommandOp.THROW_NORMAL,
        dispatcher="d",
        role=Role.DISPATCHER,
        zone=None,
        new_id=ids(),
    )
    assert (c.command_id, c.idempotency_key, c.zone, c.fencing_token) == ("id1", "id2", "", 0)
    real = new_command(
        "W0903", CommandOp.THROW_NORMAL, dispatcher="d", role=Role.DISPATCHER, zone=""
    )
    assert len(real.command_id) == len(real.idempotency_key) == 32
    assert real.command_id != real.idempotency_key


def test_an_observer_is_refused_before_anything_else() -> None:
    res = refusal(cmd(), Role.OBSERVER, MASTER, None)
    assert res is not None
    assert (res.outcome, res.reason_code, res.reason) == (
        Outcome.REFUSED,
        "not_authorised",
        "observers may not command",
    )
    assert (res.command_id, res.device, res.op) == ("c1", "W0903", CommandOp.THROW_REVERSE)


def test_no_link_to_the_master_fails_and_nothing_is_sent() -> None:
    res = refusal(cmd(), Role.DISPATCHER, MasterView(None, 0, ()), None)
    assert res is not None
    assert (res.outcome, res.reason_code, res.reason) == (
        Outcome.FAILED,
        "no_link",
        "no link to the master; not sent",
    )


def test_only_a_standby_reachable_fails_and_nothing_is_sent() -> None:
    res = refusal(cmd(), Role.SUPERVISOR, STANDBY, "B")
    assert res is not None
    assert (res.outcome, res.reason_code) == (Outcome.FAILED, "master_unreachable")
    assert res.reason == "the master is unreachable; showing standby B's state; not sent"


def test_a_dispatcher_with_a_link_to_the_master_may_send() -> None:
    assert refusal(cmd(), Role.DISPATCHER, MASTER, "A") is None
    assert refusal(cmd(), Role.SUPERVISOR, MASTER, "A") is None


def test_outcomes_without_the_servers_answer() -> None:
    res = not_sent(cmd(), "link A@h:1 is down")
    assert (res.outcome, res.reason_code, res.reason) == (
        Outcome.FAILED,
        "no_link",
        "not sent: link A@h:1 is down",
    )
    res = link_failed(cmd(), "A@h:1", "no frame for 1.52 s (heartbeat timeout)")
    assert (res.outcome, res.reason_code) == (Outcome.UNKNOWN, "link_down")
    assert res.reason == (
        "sent on A@h:1, but the link failed before the result (no frame for 1.52 s "
        "(heartbeat timeout)); outcome unknown: check the device"
    )
    res = timed_out(cmd(), 5.0)
    assert (res.outcome, res.reason_code, res.reason) == (
        Outcome.UNKNOWN,
        "timeout",
        "no result within 5 s; outcome unknown: check the device",
    )
