"""The server's command guard: repeated keys, reused keys, missing keys and tokens, stale
and forged fencing tokens (issue 16, defects 3, 4 and 5), and its replication."""

from __future__ import annotations

import asyncio

import pytest

from app.counterparts.sim.guard import LEGACY, MAX_TOKEN, CommandGuard
from app.model.commands import Command, CommandOp, CommandResult, Outcome


def cmd(
    key: str,
    token: int = 1,
    device: str = "W1",
    cid: str = "c",
    op: CommandOp = CommandOp.THROW_NORMAL,
    arg: str = "",
) -> Command:
    return Command(cid, device, op, "d", "dispatcher", "Z1", key, token, arg)


def executed(c: Command) -> CommandResult:
    return CommandResult(c.command_id, c.device, c.op, Outcome.EXECUTED)


def admit(g: CommandGuard, c: Command) -> tuple[CommandResult | None, bool]:
    return asyncio.run(g.admit(c))


def code(g: CommandGuard, c: Command) -> str:
    answer, _ = admit(g, c)
    return "" if answer is None else answer.reason_code


class Counters:
    """A lock service whose nodes' fence counters the test sets (None: no answer)."""

    def __init__(self, *values: int | None) -> None:
        self.values = list(values)
        self.asked: list[tuple[str, int]] = []

    async def issued(self, device: str, token: int) -> bool | None:
        self.asked.append((device, token))
        quorum = len(self.values) // 2 + 1
        reached = sum(1 for v in self.values if v is not None and v >= token)
        if reached >= quorum:
            return True
        if reached + sum(v is None for v in self.values) >= quorum:
            return None
        return False


def test_a_repeated_key_gets_the_first_result_and_is_not_executed() -> None:
    g = CommandGuard()
    first = cmd("k1", cid="c1")
    assert admit(g, first) == (None, False)
    g.remember_result(first, executed(first))
    answer, repeat = admit(g, cmd("k1", cid="c2"))
    assert repeat
    assert answer == CommandResult("c2", "W1", CommandOp.THROW_NORMAL, Outcome.EXECUTED)
    assert g.duplicates == 1


@pytest.mark.parametrize(
    "other",
    [
        cmd("k1", device="W2", cid="c2"),
        cmd("k1", op=CommandOp.THROW_REVERSE, cid="c2"),
        cmd("k1", arg="5", cid="c2"),
    ],
    ids=["device", "operation", "argument"],
)
def test_a_key_reused_for_another_command_is_refused_and_nothing_runs(other: Command) -> None:
    """Defect 4: the same key with another device returned the first device's result
    (executed, naming W1) and the new command was silently not carried out."""
    g = CommandGuard()
    first = cmd("k1", cid="c1")
    admit(g, first)
    g.remember_result(first, executed(first))
    answer, repeat = admit(g, other)
    assert answer is not None and not repeat
    assert (answer.outcome, answer.reason_code) == (Outcome.REFUSED, "key_reused")
    assert (answer.device, answer.op) == (other.device, other.op)  # about this command
    assert "was used for throw_normal W1" in answer.reason
    assert g.reused == 1
    # the first intent keeps its result: its own retries still get it
    again, repeat = admit(g, cmd("k1", cid="c3"))
    assert repeat and again is not None and again.outcome is Outcome.EXECUTED


def test_a_command_without_a_key_or_a_token_is_refused_by_default() -> None:
    """Defect 5: both fields defaulted to "" and 0, and such commands were executed."""
    g = CommandGuard()
    assert code(g, cmd("", token=5)) == "no_key"
    assert code(g, cmd("k", token=0)) == "no_token"
    assert g.highest == {}


def test_an_alarm_operation_needs_a_key_but_no_token() -> None:
    """An alarm is not a device under a lock; acknowledging it twice is harmless."""
    g = CommandGuard()
    assert admit(g, cmd("k", token=0, device="A-17", op=CommandOp.ACK_ALARM)) == (None, False)
    assert code(g, cmd("", token=0, device="A-17", op=CommandOp.ACK_ALARM)) == "no_key"


def test_the_legacy_rules_accept_both_missing() -> None:
    g = CommandGuard(LEGACY)
    assert admit(g, cmd("", token=0)) == (None, False)
    assert admit(g, cmd("k", token=0)) == (None, False)


def test_a_lower_fencing_token_is_refused_per_device() -> None:
    g = CommandGuard()
    assert admit(g, cmd("a", 5)) == (None, False)
    answer, repeat = admit(g, cmd("b", 4))
    assert answer is not None and not repeat
    assert (answer.outcome, answer.reason_code) == (Outcome.REFUSED, "stale_token")
    assert "4 is older than 5" in answer.reason
    assert admit(g, cmd("c", 4, device="W2")) == (None, False)  # another device
    assert admit(g, cmd("d", 5)) == (None, False)  # equal: the same holder, another command
    # The refusal is remembered: the same key again gets the same refusal.
    again, repeat = admit(g, cmd("b", 4))
    assert repeat and again is not None and again.reason_code == "stale_token"


def test_a_token_past_the_protocol_bound_is_refused_and_never_raises_the_floor() -> None:
    """Defect 3: 2**70 was accepted, and every real token after it refused as stale."""
    g = CommandGuard()
    assert code(g, cmd("forged", 2**70)) == "bad_token"
    assert code(g, cmd("forged-2", MAX_TOKEN + 1)) == "bad_token"
    assert code(g, cmd("negative", -3)) == "bad_token"
    assert g.highest == {}
    assert admit(g, cmd("real", 12)) == (None, False)
    assert g.forged == 3


def test_a_token_the_lock_nodes_never_reached_is_refused_and_the_real_ones_pass() -> None:
    """With the lock service's counters, a token above what a quorum of nodes counted is
    made up: refused, counted, and the device's floor stays where it was."""
    nodes = Counters(12, 12, 11)
    g = CommandGuard(fence=nodes)
    assert admit(g, cmd("real", 12)) == (None, False)
    assert g.highest == {"W1": 12}
    answer, _ = admit(g, cmd("forged", 1000))
    assert answer is not None
    assert (answer.outcome, answer.reason_code) == (Outcome.REFUSED, "token_not_issued")
    assert g.highest == {"W1": 12} and g.forged == 1
    nodes.values = [13, 13, 12]  # the lock service grants the next one
    assert admit(g, cmd("next", 13)) == (None, False)
    assert g.highest == {"W1": 13}
    # a token at the floor (the same grant, another command) needs no question
    asked = len(nodes.asked)
    assert admit(g, cmd("same-grant", 13)) == (None, False)
    assert len(nodes.asked) == asked


def test_nodes_that_cannot_tell_fail_closed_and_the_intent_may_come_again() -> None:
    nodes = Counters(None, None, 12)
    g = CommandGuard(fence=nodes)
    assert code(g, cmd("k", 13)) == "token_unverified"
    assert g.highest == {}
    nodes.values = [13, 13, None]
    assert admit(g, cmd("k", 13)) == (None, False)  # not remembered: admitted now


def test_replication_carries_tokens_and_new_results_then_everything_on_demand() -> None:
    master, standby = CommandGuard(), CommandGuard()
    c = cmd("k", 7, arg="5")
    admit(master, c)
    master.remember_result(c, executed(c))
    standby.merge(master.export(full=False))
    assert standby.highest == {"W1": 7}
    assert admit(standby, cmd("k", 7, arg="5"))[1]
    assert code(standby, cmd("k", 7, arg="6")) == "key_reused"  # the argument came along
    assert master.export(full=False)["results"] == []  # nothing new since
    late = CommandGuard()
    late.merge(master.export(full=True))
    assert admit(late, cmd("k", 7, arg="5"))[1]


def test_a_partner_that_sends_no_argument_is_still_understood() -> None:
    master = CommandGuard()
    c = cmd("k", 7)
    master.remember_result(c, executed(c))
    doc = master.export(full=True)
    doc["results"] = [entry[:2] for entry in doc["results"]]
    standby = CommandGuard()
    standby.merge(doc)
    assert admit(standby, cmd("k", 7))[1]


def test_memory_is_bounded() -> None:
    g = CommandGuard(remember=100)
    for i in range(1000):
        c = cmd(f"k{i}")
        g.remember_result(c, executed(c))
    assert len(g.results) == 100
    assert "k999" in g.results and "k0" not in g.results
