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
- *Never lost silently.* ``execute`` never raises; every path ends in a
  :class:`CommandResult` (executed, refused, failed with a reason) that is
  audited and shown.
- *Fail closed.* No authority information or no lock service: refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import logging.handlers
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from app.control.redlock import LockBusy, LockGrant, LockLost, LockUnavailable
from app.events import Event
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.topology import Line

log = logging.getLogger(__name__)

DEDUPE_WINDOW_S = 2.0


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


class DeviceLock(Protocol):
    async def acquire(self, resource: str, holder: str) -> LockGrant: ...
    async def extend(self, grant: LockGrant) -> LockGrant: ...
    async def release(self, grant: LockGrant) -> bool: ...


class Authority(Protocol):
    def may_command(self, zone: str) -> tuple[bool, str]: ...


class Commander(Protocol):
    """What the pipeline needs of the session."""

    role: str

    async def command(
        self,
        device: str,
        op: CommandOp,
        *,
        idempotency_key: str = "",
        fencing_token: int = 0,
        zone: str | None = None,
        arg: str = "",
    ) -> CommandResult: ...


class LocalDeviceLock:
    """The fallback when no Redis is configured: one workstation, in-process locks.

    It protects against this workstation's own double sends only; the status
    bar says so (``shared = False``), and the server's idempotency check is
    still there. Its grants carry fencing token 0 ("none"): a counter private to
    one process would be compared at the server with another workstation's and
    refuse good commands as stale.
    """

    shared = False

    def __init__(self, holder_ttl_s: float = 30.0) -> None:
        self._held: dict[str, LockGrant] = {}
        self._ttl = holder_ttl_s

    async def acquire(self, resource: str, holder: str) -> LockGrant:
        now = time.monotonic()
        held = self._held.get(resource)
        if held is not None and now - held.acquired_at < self._ttl:
            raise LockBusy(resource, held.holder)
        grant = LockGrant(resource, holder, uuid.uuid4().hex, 0, self._ttl, now)
        self._held[resource] = grant
        return grant

    async def extend(self, grant: LockGrant) -> LockGrant:
        held = self._held.get(grant.resource)
        if held is None or held.token != grant.token:
            raise LockLost(grant.resource, "not held")
        renewed = replace(grant, acquired_at=time.monotonic())
        self._held[grant.resource] = renewed
        return renewed

    async def release(self, grant: LockGrant) -> bool:
        held = self._held.get(grant.resource)
        if held is not None and held.token == grant.token:
            del self._held[grant.resource]
            return True
        return False


class AuditLog:
    """Who commanded what, and what came of it: JSON lines in a rotating file."""

    def __init__(self, path: str | Path | None, max_bytes: int = 10 << 20, backups: int = 10):
        self._log = logging.getLogger(f"audit.{id(self)}")
        self._log.propagate = False
        self._log.setLevel(logging.INFO)
        self._handler: logging.Handler | None = None
        self.entries = 0
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
            self._handler.setFormatter(logging.Formatter("%(message)s"))
            self._log.addHandler(self._handler)

    def record(self, **fields: object) -> None:
        self.entries += 1
        self._log.info(json.dumps(fields, ensure_ascii=False, sort_keys=True))

    def close(self) -> None:
        if self._handler is not None:
            self._log.removeHandler(self._handler)
            self._handler.close()
            self._handler = None


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


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
        clock_ms: Callable[[], int] = _wall_ms,
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
        self._clock_ms = clock_ms
        # A train's zone is where it stands now: the session's state knows, the line not.
        self._zone_of = zone_of or line.zone_of_device
        self._inflight: dict[tuple[str, CommandOp], asyncio.Task[CommandResult]] = {}
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

    def check(self, intent: Intent) -> str:
        """Why this intent may not be sent now ("" when it may): shown before confirming."""
        if self.session.role == "observer":
            return "observers may not command"
        if self.authority is not None:
            if not intent.zone:
                # Fail closed: authority is per zone, and this device is in none we know.
                return f"{intent.device} is in no control zone: nobody has authority over it"
            ok, reason = self.authority.may_command(intent.zone)
            if not ok:
                return reason
        elif getattr(self.lock, "shared", True):
            return "zone authority unavailable"
        return ""

    async def execute(self, intent: Intent) -> CommandResult:
        """Run a confirmed intent to its outcome. Never raises."""
        what = (intent.device, intent.op)
        running = self._inflight.get(what)
        if running is not None:
            self.joined += 1
            log.info("%s %s already in flight: joined, nothing sent", intent.op, intent.device)
            started = self._clock_ms()
            joined = await asyncio.shield(running)
            self._audit(intent, started, 0, joined, joined=True)
            self.finished.emit(CommandRecord(intent, joined, 0, started, self._clock_ms(), True))
            return joined
        recent = self._recent.get(what)
        if recent is not None and time.monotonic() - recent[0] < self.dedupe_window_s:
            self.joined += 1
            now = self._clock_ms()
            self._audit(intent, now, 0, recent[1], joined=True)
            self.finished.emit(CommandRecord(intent, recent[1], 0, now, now, True))
            return recent[1]
        self.started.emit(intent)
        task = asyncio.get_running_loop().create_task(self._run(intent))
        self._inflight[what] = task
        # Settled by the task itself, not by this caller: a caller cancelled while
        # the command runs must not leave the entry behind (every later intent
        # would join a finished task and nothing would ever be sent again).
        task.add_done_callback(lambda done: self._settle(what, done))
        return await asyncio.shield(task)

    def _settle(self, what: tuple[str, CommandOp], task: asyncio.Task[CommandResult]) -> None:
        if self._inflight.get(what) is task:
            del self._inflight[what]
        if task.cancelled() or task.exception() is not None:
            return
        result = task.result()
        if result.outcome is Outcome.EXECUTED:
            # Only a success is repeated to a double click: after a refusal or a
            # failure, trying again at once is a new, deliberate attempt.
            self._recent[what] = (time.monotonic(), result)

    async def _run(self, intent: Intent) -> CommandResult:
        started = self._clock_ms()
        sent = [0]  # the fencing token, once a grant is taken (read if cancelled)
        try:
            result, token = await self._attempt(intent, sent)
        except asyncio.CancelledError:
            result = self._outcome(
                intent, Outcome.FAILED, "cancelled", "cancelled before its outcome was known"
            )
            self._audit(intent, started, sent[0], result)
            self.finished.emit(CommandRecord(intent, result, sent[0], started, self._clock_ms()))
            raise
        except Exception as exc:  # never lost silently, whatever broke
            log.exception("command pipeline failed for %s %s", intent.op, intent.device)
            result, token = (
                self._outcome(intent, Outcome.FAILED, "internal_error", str(exc)),
                sent[0],
            )
        self._audit(intent, started, token, result)
        self.finished.emit(CommandRecord(intent, result, token, started, self._clock_ms()))
        return result

    async def _attempt(self, intent: Intent, sent: list[int]) -> tuple[CommandResult, int]:
        reason = self.check(intent)
        if reason:
            return self._outcome(intent, Outcome.REFUSED, "not_authorised", reason), 0
        try:
            grant = await self.lock.acquire(f"device:{intent.device}", self.holder)
        except LockBusy as busy:
            return self._outcome(
                intent, Outcome.REFUSED, "busy", f"being executed by {busy.holder}"
            ), 0
        except LockUnavailable as exc:
            return self._outcome(
                intent,
                Outcome.FAILED,
                "lock_unavailable",
                f"device lock service unavailable ({exc}); not sent",
            ), 0
        sent[0] = grant.fencing_token
        keeper = asyncio.get_running_loop().create_task(self._keep(grant))
        try:
            # the argument only when there is one: older senders take no such keyword
            extra = {"arg": intent.arg} if intent.arg else {}
            result = await self.session.command(
                intent.device,
                intent.op,
                idempotency_key=intent.key,
                fencing_token=grant.fencing_token,
                zone=intent.zone,
                **extra,
            )
            if result.outcome is Outcome.FAILED and result.reason_code == "link_down":
                # The answer was lost with the link, not necessarily the command: the
                # same key makes the retry safe (a repeat gets the first result).
                log.warning("%s %s: %s; retrying once", intent.op, intent.device, result.reason)
                result = await self.session.command(
                    intent.device,
                    intent.op,
                    idempotency_key=intent.key,
                    fencing_token=grant.fencing_token,
                    zone=intent.zone,
                    **extra,
                )
            return result, grant.fencing_token
        finally:
            keeper.cancel()
            # Shielded: a cancelled caller must not leave the device locked until its TTL.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.lock.release(grant))

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
            intent_ms=intent.created_ms,
            started_ms=started,
            finished_ms=self._clock_ms(),
        )

    @staticmethod
    def _outcome(intent: Intent, kind: Outcome, code: str, reason: str) -> CommandResult:
        return CommandResult(intent.key, intent.device, intent.op, kind, code, reason)
