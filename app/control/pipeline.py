"""The command pipeline: a dispatcher's intent, from gesture to an outcome they are told.

intent → authority check → (the UI's two-step confirmation happens before
``execute``) → device lock with a fencing token → COMMAND with the intent's
idempotency key on the master's link → COMMAND_RESULT or a timeout → release
→ outcome to the dispatcher and a line in the audit log.

Guarantees, and who keeps them:

- *Never sent twice by us.* A repeated intent (double click, the same
  device and operation again) within the dedupe window joins the one in
  flight and sends nothing. Across workstations, the device lock makes the
  second dispatcher see "being executed by …" and send nothing.
- *Never executed twice.* A retry after a link failure reuses the intent's
  idempotency key, so the server answers it with the first result. A lock
  that expired under a paused client is caught by the server's fencing check.
- *Never told "not sent" about a command that may have left.* Once a COMMAND
  may have reached the server, the outcome is the server's answer (asked again
  with the same key when the answer was lost, as soon as a link to the master
  is up, within ``resolve_s``) or ``unknown``: check the device. A dispatcher
  told "not sent" would make a new intent with a new key, the double
  execution all this exists to prevent.
- *Never lost silently.* ``execute`` never raises; every path ends in a
  :class:`CommandResult` (executed, refused, failed, unknown, with a reason
  code) that is audited and shown.
- *Fail closed.* No authority information or no lock service: refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.clock import wall_ms
from app.control.audit import AuditLog
from app.control.devicelock import (
    DeviceLock,
    LocalDeviceLock,
    LockBusy,
    LockGrant,
    LockLost,
    LockUnavailable,
)
from app.events import Event
from app.model.commands import CommandOp, CommandResult, CommandSender, Outcome, lock_resource
from app.model.refusal import Refusal, RefusalCode
from app.model.roles import Role
from app.model.topology import Line

__all__ = [
    "DEDUPE_WINDOW_S",
    "RESOLVE_S",
    "AuditLog",  # re-exported: its home is app.control.audit
    "Authority",
    "CommandPipeline",
    "CommandRecord",
    "Commander",
    "DeviceLock",  # re-exported: its home is app.control.devicelock
    "Intent",
    "LocalDeviceLock",  # re-exported: its home is app.control.devicelock
]

log = logging.getLogger(__name__)

DEDUPE_WINDOW_S = 2.0
#: How long an intent whose answer was lost keeps asking the master (same key) before
#: it is reported unknown: a failover takes about 1.5 s, a reconnect up to 5 s.
RESOLVE_S = 10.0


@dataclass(frozen=True, slots=True)
class Intent:
    """What the dispatcher asked for; its key names it in every send and retry."""

    device: str
    op: CommandOp
    zone: str
    key: str
    created_ms: int
    arg: str = ""  # the operation's argument, if it takes one (docs/protocol.md)


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One intent's outcome, for the command log: audited once, shown to the dispatcher."""

    intent: Intent
    result: CommandResult
    fencing_token: int
    started_ms: int
    finished_ms: int
    joined: bool = False  # answered by an identical intent in flight: nothing sent
    # Why, when this workstation decided the outcome (refused before sending, not
    # sent, or interrupted); None when the server's answer is the outcome.
    refusal: Refusal | None = None


@dataclass(slots=True)
class _Progress:
    """How far one intent got: its fencing token, whether its COMMAND may have left, and
    the refusal when this workstation decided its outcome."""

    token: int = 0
    may_have_left: bool = False
    refusal: Refusal | None = None


class Authority(Protocol):
    def may_command(self, zone: str) -> Refusal | None:
        """Why this dispatcher may not command devices of ``zone`` now (None: they may)."""
        ...


class Commander(CommandSender, Protocol):
    """What the pipeline needs of the session: sending, and knowing when it can."""

    async def wait_commandable(self, timeout_s: float) -> bool:
        """Whether a command can go to the master now, waiting at most ``timeout_s``."""
        ...


class CommandPipeline:
    def __init__(
        self,
        session: Commander,
        line: Line,
        *,
        dispatcher: str,
        workstation: str,
        lock: DeviceLock,
        authority: Authority | None,
        audit: AuditLog,
        dedupe_window_s: float = DEDUPE_WINDOW_S,
        resolve_s: float = RESOLVE_S,
        clock_ms: Callable[[], int] = wall_ms,
        zone_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.session = session
        self.line = line
        self.dispatcher = dispatcher
        self.holder = f"{dispatcher}@{workstation}"
        self.lock = lock
        self.authority = authority
        self.audit = audit
        self.dedupe_window_s = dedupe_window_s
        self.resolve_s = resolve_s
        self.resolved = 0  # answers lost, then got by asking again with the same key
        self._clock_ms = clock_ms
        # A train's zone is where it stands now: the session's state knows, the line not.
        self._zone_of = zone_of or line.zone_of_device
        self._inflight: dict[tuple[str, CommandOp], asyncio.Task[CommandRecord]] = {}
        self._recent: dict[tuple[str, CommandOp], tuple[float, CommandResult]] = {}
        self.joined = 0  # intents answered by one already in flight (or just done)
        self.locks_lost = 0  # locks that expired under a running command
        self.finished: Event[CommandRecord] = Event("pipeline.finished")
        self.started: Event[Intent] = Event("pipeline.started")

    def intent(self, device: str, op: CommandOp, zone: str | None = None, arg: str = "") -> Intent:
        """A new intent with its own idempotency key; ``zone`` defaults to the device's."""
        if zone is None:
            zone = self._zone_of(device) or ""
        return Intent(device, op, zone, uuid.uuid4().hex, self._clock_ms(), arg)

    def check(self, intent: Intent) -> Refusal | None:
        """Why this intent may not be sent now (None: it may): shown before confirming."""
        if not Role(self.session.role).may_command:
            return Refusal.of(RefusalCode.OBSERVER)
        if self.authority is not None:
            if not intent.zone:
                # Fail closed: authority is per zone, and this device is in none we know.
                return Refusal.of(RefusalCode.NO_ZONE, device=intent.device)
            return self.authority.may_command(intent.zone)
        if getattr(self.lock, "shared", True):
            return Refusal.of(RefusalCode.AUTHORITY_UNAVAILABLE)
        return None

    async def execute(self, intent: Intent) -> CommandResult:
        """Run a confirmed intent to its outcome. Never raises."""
        what = (intent.device, intent.op)
        running = self._inflight.get(what)
        if running is not None:
            self.joined += 1
            log.info("%s %s already in flight: joined, nothing sent", intent.op, intent.device)
            started = self._clock_ms()
            first = await asyncio.shield(running)
            self._finish(intent, started, 0, first.result, first.refusal, joined=True)
            return first.result
        recent = self._recent.get(what)
        if recent is not None and time.monotonic() - recent[0] < self.dedupe_window_s:
            self.joined += 1
            self._finish(intent, self._clock_ms(), 0, recent[1], None, joined=True)
            return recent[1]
        self.started.emit(intent)
        task = asyncio.get_running_loop().create_task(self._run(intent))
        self._inflight[what] = task
        # Settled by the task itself, not by this caller: a caller cancelled while
        # the command runs must not leave the entry behind (every later intent
        # would join a finished task and nothing would ever be sent again).
        task.add_done_callback(lambda done: self._settle(what, done))
        return (await asyncio.shield(task)).result

    def _settle(self, what: tuple[str, CommandOp], task: asyncio.Task[CommandRecord]) -> None:
        if self._inflight.get(what) is task:
            del self._inflight[what]
        if task.cancelled() or task.exception() is not None:
            return
        result = task.result().result
        if result.outcome is Outcome.EXECUTED:
            # Only a success is repeated to a double click: after a refusal or a
            # failure, trying again at once is a new, deliberate attempt.
            self._recent[what] = (time.monotonic(), result)

    async def _run(self, intent: Intent) -> CommandRecord:
        started = self._clock_ms()
        progress = _Progress()  # how far it got (read if cancelled or broken)
        try:
            result, token = await self._attempt(intent, progress)
        except asyncio.CancelledError:
            result = self._broken(intent, progress, "cancelled", None)
            self._finish(intent, started, progress.token, result, progress.refusal)
            raise
        except Exception as exc:  # never lost silently, whatever broke
            log.exception("command pipeline failed for %s %s", intent.op, intent.device)
            result = self._broken(intent, progress, "internal_error", str(exc))
            token = progress.token
        return self._finish(intent, started, token, result, progress.refusal)

    def _finish(
        self,
        intent: Intent,
        started: int,
        token: int,
        result: CommandResult,
        refusal: Refusal | None,
        *,
        joined: bool = False,
    ) -> CommandRecord:
        """Audit an intent's outcome and tell it (the command log, the CLI)."""
        self._audit(intent, started, token, result, refusal, joined=joined)
        record = CommandRecord(intent, result, token, started, self._clock_ms(), joined, refusal)
        self.finished.emit(record)
        return record

    def _broken(
        self, intent: Intent, progress: _Progress, code: str, error: str | None
    ) -> CommandResult:
        """The outcome of an intent interrupted by ``error`` (None: cancelled): unknown
        once it may have left, else failed (not sent)."""
        if progress.may_have_left:
            if error is None:
                refusal = Refusal.of(RefusalCode.CANCELLED_AFTER_SENDING)
            else:
                refusal = Refusal.of(RefusalCode.BROKEN_AFTER_SENDING, error=error)
            return self._decided(intent, progress, Outcome.UNKNOWN, code, refusal)
        if error is None:
            refusal = Refusal.of(RefusalCode.CANCELLED_BEFORE_SENDING)
        else:
            refusal = Refusal.of(RefusalCode.BROKEN_BEFORE_SENDING, error=error)
        return self._decided(intent, progress, Outcome.FAILED, code, refusal)

    async def _attempt(self, intent: Intent, progress: _Progress) -> tuple[CommandResult, int]:
        refusal = self.check(intent)
        if refusal is not None:
            return self._decided(intent, progress, Outcome.REFUSED, "not_authorised", refusal), 0
        try:
            grant = await self.lock.acquire(lock_resource(intent.device), self.holder)
        except LockBusy as busy:
            refusal = Refusal.of(RefusalCode.BUSY, holder=busy.holder)
            return self._decided(intent, progress, Outcome.REFUSED, "busy", refusal), 0
        except LockUnavailable as exc:
            refusal = Refusal.of(RefusalCode.LOCK_UNAVAILABLE, error=exc)
            return self._decided(intent, progress, Outcome.FAILED, "lock_unavailable", refusal), 0
        progress.token = grant.fencing_token
        keeper = asyncio.get_running_loop().create_task(self._keep(grant))
        try:
            result = await self._send(intent, progress)
            return result, grant.fencing_token
        finally:
            keeper.cancel()
            # Shielded: a cancelled caller must not leave the device locked until its TTL.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.lock.release(grant))

    async def _send(self, intent: Intent, progress: _Progress) -> CommandResult:
        """The COMMAND, and when its answer is lost, the same again until an answer comes.

        After an ``unknown`` (the link failed, or no answer in time) the command may
        have been executed. Asking again with the same idempotency key is safe (the
        server answers a key it has seen with the first result) and is the only way
        to learn the outcome: it is asked as soon as a link to the master is up, until
        an answer comes or ``resolve_s`` has passed. A send that cannot go out then
        ("not sent") says nothing about the first one: the outcome stays unknown.
        """
        # the argument only when there is one: older senders take no such keyword
        extra = {"arg": intent.arg} if intent.arg else {}

        async def send() -> CommandResult:
            return await self.session.command(
                intent.device,
                intent.op,
                idempotency_key=intent.key,
                fencing_token=progress.token,
                zone=intent.zone,
                **extra,
            )

        progress.may_have_left = True
        result = await send()
        if result.outcome is not Outcome.UNKNOWN:
            return result
        unknown = result
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.resolve_s
        while (left := deadline - loop.time()) > 0:
            log.warning(
                "%s %s: %s; asking again (same key)", intent.op, intent.device, result.reason
            )
            if not await self.session.wait_commandable(left):
                break
            result = await send()
            if result.outcome is Outcome.UNKNOWN:
                unknown = result
            elif result.outcome is Outcome.FAILED or result.reason_code == "not_master":
                # Not sent, or asked of a server no longer master: no news of the first.
                await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))
            else:
                self.resolved += 1
                return result
        return unknown

    async def _keep(self, grant: LockGrant) -> None:
        """Extend the lock while a long command runs (every third of its validity).

        Losing it is logged, not fatal: the command is already on its way and the
        server's fencing check refuses it if a newer holder has been there since.
        """
        while True:
            await asyncio.sleep(max(0.05, grant.validity_s / 3))
            try:
                grant = await self.lock.extend(grant)
            except LockLost as exc:
                self.locks_lost += 1
                log.warning("lock on %s lost while its command ran: %s", grant.resource, exc)
                return
            except Exception as exc:  # the release at the end still runs
                log.warning("extending the lock on %s failed: %s", grant.resource, exc)
                return

    def _audit(
        self,
        intent: Intent,
        started: int,
        token: int,
        result: CommandResult,
        refusal: Refusal | None,
        *,
        joined: bool = False,
    ) -> None:
        self.audit.record(
            joined=joined,
            dispatcher=self.dispatcher,
            holder=self.holder,
            role=self.session.role,
            zone=intent.zone,
            device=intent.device,
            op=intent.op.value,
            arg=intent.arg,
            idempotency_key=intent.key,
            fencing_token=token,
            result=result.outcome.value,
            reason_code=result.reason_code,
            reason=result.reason,
            # When this workstation decided the outcome: the reason as a code and its
            # parameters (app.model.refusal); "" and {} when the server answered.
            refusal_code=refusal.code.value if refusal is not None else "",
            reason_params=refusal.params if refusal is not None else {},
            intent_ms=intent.created_ms,
            started_ms=started,
            finished_ms=self._clock_ms(),
        )

    @staticmethod
    def _decided(
        intent: Intent, progress: _Progress, kind: Outcome, code: str, refusal: Refusal
    ) -> CommandResult:
        """An outcome this workstation decided, ``refusal`` saying why (kept in ``progress``
        for the audit and the command log); the reason is its English rendering."""
        progress.refusal = refusal
        return CommandResult(intent.key, intent.device, intent.op, kind, code, str(refusal))
