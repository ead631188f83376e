from __future__ import annotations

from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.sim.guard import CommandGuard


def cmd(key: str, token: int = 0, device: str = "W1", cid: str = "c") -> Command:
    return Command(cid, device, CommandOp.THROW_NORMAL, "d", "dispatcher", "Z1", key, token)


def executed(c: Command) -> CommandResult:
    return CommandResult(c.command_id, c.device, c.op, Outcome.EXECUTED)


def test_a_repeated_key_gets_the_first_result_and_is_not_executed() -> None:
    g = CommandGuard()
    first = cmd("k1", cid="c1")
    assert g.check(first) == (None, False)
    g.remember_result(first, executed(first))
    answer, repeat = g.check(cmd("k1", cid="c2"))
    assert repeat
    assert answer == CommandResult("c2", "W1", CommandOp.THROW_NORMAL, Outcome.EXECUTED)
    assert g.duplicates == 1


def test_a_lower_fencing_token_is_refused_per_device() -> None:
    g = CommandGuard()
    assert g.check(cmd("a", 5)) == (None, False)
    answer, repeat = g.check(cmd("b", 4))
    assert answer is not None and not repeat
    assert (answer.outcome, answer.reason_code) == (Outcome.REFUSED, "stale_token")
    assert "4 is older than 5" in answer.reason
    assert g.check(cmd("c", 4, device="W2")) == (None, False)  # another device
    assert g.check(cmd("d", 5)) == (None, False)  # equal: the same holder, another command
    # The refusal is remembered: the same key again gets the same refusal.
    again, repeat = g.check(cmd("b", 9))
    assert repeat and again is not None and again.reason_code == "stale_token"


def test_tokens_can_be_required() -> None:
    g = CommandGuard(require_fencing=True)
    answer, _ = g.check(cmd("a", 0))
    assert answer is not None and answer.reason_code == "no_token"


def test_replication_carries_tokens_and_new_results_then_everything_on_demand() -> None:
    master, standby = CommandGuard(), CommandGuard()
    c = cmd("k", 7)
    master.check(c)
    master.remember_result(c, executed(c))
    standby.merge(master.export(full=False))
    assert standby.highest == {"W1": 7}
    assert standby.check(cmd("k", 7))[1]
    assert master.export(full=False)["results"] == []  # nothing new since
    late = CommandGuard()
    late.merge(master.export(full=True))
    assert late.check(cmd("k", 7))[1]


def test_memory_is_bounded() -> None:
    g = CommandGuard(remember=100)
    for i in range(1000):
        c = cmd(f"k{i}")
        g.remember_result(c, executed(c))
    assert len(g.results) == 100
    assert "k999" in g.results and "k0" not in g.results
