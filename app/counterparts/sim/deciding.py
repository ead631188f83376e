"""Deciding commands (``docs/control.md``, "Server side"): one at a time, in arrival order,
each checked, then carried out on the world, journalled, and answered on its link.

The order of checks: only a master decides (``not_master``); the session's role and
dispatcher must allow it (:func:`authorise`: ``not_authorised``); the command guard
checks the idempotency key and the fencing token (and, with the lock nodes known,
that the token was issued: ``app/counterparts/sim/guard.py``); the server is asked
again whether it is still master (it may have been demoted while the lock service
was asked); then :func:`perform` carries it out or refuses it with a reason code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from app.clock import wall_ms
from app.counterparts.sim.alarms import MAX_SHELVE_MIN, AlarmRefused, AlarmSystem
from app.counterparts.sim.guard import CommandGuard
from app.counterparts.sim.interlocking import NOTHING, Note, Refused
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.roles import COMMANDING_ROLES
from app.counterparts.sim.world import World
from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.topology import SwitchLeg
from app.protocol.messages import Hello, Message

# The name the server's log lines have always had.
log = logging.getLogger("app.counterparts.sim.server")


class Requester(Protocol):
    """Where a command came from: its result goes back there (a client link)."""

    @property
    def peer(self) -> str: ...

    @property
    def hello(self) -> Hello | None: ...

    def send(self, msg: Message) -> None: ...

    def drop(self) -> None: ...


def authorise(cmd: Command, session: Hello | None) -> None:
    """Refuse what the session may not do: the session's role decides, not the command's."""
    if session is not None:
        if session.role not in COMMANDING_ROLES:
            raise Refused.of("session_may_not_command", role=session.role)
        if cmd.role != session.role:
            raise Refused.of("role_not_the_session", role=cmd.role, session=session.role)
        if session.dispatcher and cmd.dispatcher != session.dispatcher:
            raise Refused.of(
                "dispatcher_not_the_session", dispatcher=cmd.dispatcher, session=session.dispatcher
            )
    if cmd.role not in COMMANDING_ROLES:
        raise Refused.of("role_may_not_command", role=cmd.role)


def _note(done: bool, form: str, **params: object) -> Note:
    return NOTHING if done else Note.of(form, **params)


def _worded(note: str) -> Note:
    """A note the world or the alarm manager gave as text, as its form when known."""
    form = _NOTES.get(note)
    return Note.of(form) if form is not None else Note(note)


_NOTES = {
    "no fault was injected": "no_fault_injected",
    "alarm already acknowledged": "alarm_already_acked",
}


def _alarm_refused(exc: AlarmRefused, cmd: Command) -> Refused:
    """The alarm manager's refusal, as a form (its code and English kept otherwise)."""
    if exc.code in ("unknown_alarm", "alarm_shelved"):
        return Refused.of(exc.code, alarm=cmd.device)
    if exc.code == "bad_argument":
        return Refused.of("shelve_range", max=MAX_SHELVE_MIN, minutes=cmd.arg)
    return Refused(exc.code, exc.reason)


def perform(world: World, alarms: AlarmSystem | None, cmd: Command) -> Note:
    """Carry out one command on the world: :data:`NOTHING` or a note on an executed no-op.

    Raises :class:`Refused` with a reason code (and its form) when it cannot be done.
    """
    il = world.interlocking
    op = cmd.op
    if op in (CommandOp.THROW_NORMAL, CommandOp.THROW_REVERSE):
        leg = SwitchLeg.NORMAL if op is CommandOp.THROW_NORMAL else SwitchLeg.REVERSE
        moved = il.throw(cmd.device, leg, world.now)
        return _note(moved, "switch_already_lies", position=leg.value)
    if op is CommandOp.SET_ROUTE:
        route = world.line.route_by_id.get(cmd.device)
        if route is None:
            raise Refused.of("no_route", route=cmd.device)
        il.set_route(route, world.now)
        return NOTHING
    if op is CommandOp.CANCEL_ROUTE:
        il.cancel_route(cmd.device)
        return NOTHING
    if op is CommandOp.LOCK_SWITCH:
        return _note(il.lock_switch(cmd.device), "switch_already_locked")
    if op is CommandOp.UNLOCK_SWITCH:
        return _note(il.unlock_switch(cmd.device), "switch_was_not_locked")
    if op is CommandOp.CLOSE_SIGNAL:
        return _note(il.close_signal(cmd.device), "signal_already_closed")
    if op is CommandOp.REOPEN_SIGNAL:
        return _note(il.reopen_signal(cmd.device), "signal_was_not_closed")
    if op is CommandOp.HOLD_TRAIN:
        return _note(world.hold_train(cmd.device), "train_already_held")
    if op is CommandOp.RELEASE_TRAIN:
        return _note(world.release_train(cmd.device), "train_was_not_held")
    if op is CommandOp.COUPLE_TRAIN:
        return Note.of("coupling_with", partner=world.couple_train(cmd.device))
    if op is CommandOp.UNCOUPLE_TRAIN:
        return _worded(world.uncouple_train(cmd.device))
    if op is CommandOp.INJECT_FAULT:
        return _worded(world.inject_fault(cmd.device, cmd.arg))
    if op is CommandOp.ACK_ALARM:
        if alarms is None:
            raise Refused.of("no_alarms")
        try:
            return _worded(alarms.manager.ack(cmd.device, cmd.dispatcher))
        except AlarmRefused as exc:
            raise _alarm_refused(exc, cmd) from None
    if op is CommandOp.SHELVE_ALARM:
        if alarms is None:
            raise Refused.of("no_alarms")
        if not (cmd.arg.isascii() and cmd.arg.isdigit()):  # "²" and "٣" are digits too
            raise Refused.of("shelve_needs_minutes", arg=cmd.arg)
        try:
            return _worded(alarms.manager.shelve(cmd.device, cmd.dispatcher, int(cmd.arg)))
        except AlarmRefused as exc:
            raise _alarm_refused(exc, cmd) from None
    raise Refused.of("op_unsupported", op=op.value)


class CommandDesk:
    """Commands decided one at a time, in arrival order: the guard's floor read is the
    one it raises, even while it asks the lock service.

    ``role`` tells this server's role now (it may change while a command waits).
    """

    def __init__(
        self,
        world: World,
        guard: CommandGuard,
        journal: Journal,
        *,
        node: str,
        role: Callable[[], str],
        alarms: AlarmSystem | None = None,
    ) -> None:
        self.world = world
        self.guard = guard
        self.journal = journal
        self.node = node
        self._role = role
        self.alarms = alarms
        self._queue: asyncio.Queue[tuple[Requester, Command, Hello | None]] = asyncio.Queue()
        self._decider: asyncio.Task[None] | None = None

    def submit(self, client: Requester, cmd: Command) -> None:
        """Queue a command from ``client``; its result goes back on the same link."""
        self._queue.put_nowait((client, cmd, client.hello))
        if self._decider is None or self._decider.done():
            self._decider = asyncio.get_running_loop().create_task(self._decide())

    async def _decide(self) -> None:
        while True:
            client, cmd, session = await self._queue.get()
            try:
                result = await self.execute(cmd, session)
            except Exception:  # never let one command stop the others
                log.exception("command %s %s from %s failed", cmd.op, cmd.device, client.peer)
                client.drop()  # its sender learns nothing: its outcome stays unknown there
                continue
            client.send(result)

    async def execute(self, cmd: Command, session: Hello | None = None) -> CommandResult:
        """Decide and carry out one command. ``session`` is the HELLO of the link it came
        on: its role and dispatcher are what the command may act as."""
        repeat = False
        try:
            if self._role() != "master":
                raise Refused.of("not_master", server=self.node)
            authorise(cmd, session)
            answer, repeat = await self.guard.admit(cmd)
            if answer is not None:
                self._journal(cmd, answer, repeat)
                return answer
            if self._role() != "master":  # demoted while the lock service was asked
                raise Refused.of("not_master", server=self.node)
            note = perform(self.world, self.alarms, cmd)
            result = CommandResult(
                cmd.command_id,
                cmd.device,
                cmd.op,
                Outcome.EXECUTED,
                "",
                note.reason,
                note.form,
                note.params,
            )
        except Refused as exc:
            result = CommandResult(
                cmd.command_id,
                cmd.device,
                cmd.op,
                Outcome.REFUSED,
                exc.code,
                exc.reason,
                exc.form,
                exc.params,
            )
        if result.reason_code != "not_master":
            self.guard.remember_result(cmd, result)
        self._journal(cmd, result, repeat)
        return result

    def _journal(self, cmd: Command, result: CommandResult, repeat: bool) -> None:
        log.info(
            "command %s %s by %s (token %d, key %s): %s %s%s",
            cmd.op,
            cmd.device,
            cmd.dispatcher,
            cmd.fencing_token,
            cmd.idempotency_key[:8],
            result.outcome,
            result.reason,
            " (repeat, not executed again)" if repeat else "",
        )
        self.journal.record(wall_ms(), self.node, cmd, result, repeat=repeat)

    async def aclose(self) -> None:
        """Stop deciding (a command being decided is abandoned); a second call does nothing."""
        if self._decider is not None:
            self._decider.cancel()
            self._decider = None
