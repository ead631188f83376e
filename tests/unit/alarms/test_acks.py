"""The acknowledgement outbox: kept until the server answers, same key on every retry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from app.alarms.acks import AckOutbox, AckOutcome
from app.model.commands import CommandOp, CommandResult, Outcome

OP = CommandOp.THROW_NORMAL  # any op: the outbox passes it through


class Server:
    """Answers from a script: each call pops the next (outcome, code), default executed."""

    def __init__(self, script: list[tuple[Outcome, str]] | None = None) -> None:
        self.role = "dispatcher"
        self.script = list(script or [])
        self.calls: list[tuple[str, str, str | None]] = []

    async def command(
        self,
        device: str,
        op: CommandOp,
        *,
        idempotency_key: str = "",
        fencing_token: int = 0,
        zone: str | None = None,
    ) -> CommandResult:
        self.calls.append((device, idempotency_key, zone))
        outcome, code = self.script.pop(0) if self.script else (Outcome.EXECUTED, "")
        return CommandResult("c", device, op, outcome, code, code)


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 10))


async def until(pred: Callable[[], bool]) -> None:
    while not pred():
        await asyncio.sleep(0.005)


def test_an_ack_while_the_link_is_down_is_sent_when_it_comes_back(tmp_path: Path) -> None:
    server = Server([(Outcome.FAILED, "no_link")] * 3 + [(Outcome.UNKNOWN, "link_down")])
    done: list[AckOutcome] = []

    async def scenario() -> None:
        box = AckOutbox(server, OP, path=tmp_path / "acks.json", retry_s=0.01)
        box.finished.connect(done.append)
        box.start()
        box.ack("A7", "Z1")
        await until(lambda: bool(done))
        await box.aclose()

    run(scenario)
    assert len(server.calls) == 5
    assert len({key for _, key, _ in server.calls}) == 1, "a retry must reuse the key"
    assert {(d, z) for d, _, z in server.calls} == {("A7", "Z1")}
    assert done[0].result.outcome is Outcome.EXECUTED
    assert json.loads((tmp_path / "acks.json").read_text()) == []


def test_a_refusal_settles_it_and_is_announced() -> None:
    server = Server([(Outcome.REFUSED, "unknown_alarm")])
    done: list[AckOutcome] = []

    async def scenario() -> None:
        box = AckOutbox(server, OP, retry_s=0.01)
        box.finished.connect(done.append)
        box.start()
        box.ack("A1")
        await until(lambda: bool(done))
        assert box.pending == []
        await box.aclose()

    run(scenario)
    assert (done[0].result.outcome, done[0].result.reason_code) == (
        Outcome.REFUSED,
        "unknown_alarm",
    )
    assert len(server.calls) == 1


def test_a_second_ack_of_the_same_alarm_joins_the_first() -> None:
    server = Server([(Outcome.FAILED, "no_link")] * 2)

    async def scenario() -> None:
        box = AckOutbox(server, OP, retry_s=0.01)
        first = box.ack("A1")
        assert box.ack("A1") is first
        box.start()
        await until(lambda: not box.pending)
        await box.aclose()

    run(scenario)
    assert len({key for _, key, _ in server.calls}) == 1


def test_owed_acks_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    down = Server([(Outcome.FAILED, "no_link")] * 1000)

    async def first_run() -> None:
        box = AckOutbox(down, OP, path=path, retry_s=0.01)
        box.start()
        box.ack("A1", "Z1")
        box.ack("A2", "Z2")
        await until(lambda: len(down.calls) >= 4)
        await box.aclose()

    run(first_run)
    keys = {d: k for d, k, _ in down.calls}
    up = Server()
    done: list[AckOutcome] = []

    async def second_run() -> None:
        box = AckOutbox(up, OP, path=path, retry_s=0.01)
        assert [p.alarm_id for p in box.pending] == ["A1", "A2"]
        box.finished.connect(done.append)
        box.start()
        await until(lambda: len(done) == 2)
        await box.aclose()

    run(second_run)
    assert {d: k for d, k, _ in up.calls} == keys, "the keys must survive the restart"


def test_an_unreadable_file_is_set_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    path.write_text("{broken")
    box = AckOutbox(Server(), OP, path=path)
    assert box.pending == []
    assert (tmp_path / "acks.bad").read_text() == "{broken"
