"""Acknowledgements on their way to the server: kept until the server has answered.

An acknowledgement is a command (dispatcher, alarm id) on the command channel;
the server turns it into an ACK record on the alarm topic, which every HMI
shows. When the link is down, or the answer is lost with it, the
acknowledgement stays in this outbox and is sent again, with the same
idempotency key (the server answers a repeat with the first result), until
the server has executed or refused it. The outbox is written to a small JSON
file after every change, so an HMI restarted meanwhile sends what it still
owed. Never dropped silently: each one ends as *done* or *refused* (with the
server's reason), both announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.clock import wall_ms
from app.events import Event
from app.model.commands import CommandOp, CommandResult, CommandSender, Outcome

log = logging.getLogger(__name__)

RETRY_S = 1.0
#: Failures that say nothing reached the server, or its answer was lost: try again.
RETRYABLE = {"no_link", "link_down", "timeout", "master_unreachable", "not_master", "cancelled"}


#: What sends the acknowledgements: the session (the pipeline is for devices under a lock).
AckSender = CommandSender


@dataclass(frozen=True, slots=True)
class PendingAck:
    alarm_id: str
    key: str  # one per acknowledgement: every retry carries it
    zone: str
    queued_ms: int
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class AckOutcome:
    ack: PendingAck
    result: CommandResult


class AckOutbox:
    """Sends acknowledgements one at a time, in order, until each has an answer."""

    def __init__(
        self,
        sender: AckSender,
        op: CommandOp,
        *,
        path: str | Path | None = None,
        retry_s: float = RETRY_S,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.sender = sender
        self.op = op
        self.path = Path(path) if path is not None else None
        self.retry_s = retry_s
        self._clock_ms = clock_ms
        self._pending: dict[str, PendingAck] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.changed: Event[list[PendingAck]] = Event("acks.changed")
        self.finished: Event[AckOutcome] = Event("acks.finished")
        self._load()

    # -- queue ------------------------------------------------------------------------

    @property
    def pending(self) -> list[PendingAck]:
        return list(self._pending.values())

    def ack(self, alarm_id: str, zone: str = "") -> PendingAck:
        """Queue an acknowledgement (a second one for the same alarm joins the first)."""
        if not alarm_id:
            raise ValueError("alarm id is empty")
        existing = self._pending.get(alarm_id)
        if existing is not None:
            return existing
        item = PendingAck(alarm_id, uuid.uuid4().hex, zone, self._clock_ms())
        self._pending[alarm_id] = item
        self._changed()
        self._wake.set()
        return item

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ack-outbox")
        if self._pending:
            self._wake.set()

    async def aclose(self) -> None:
        """Idempotent: stop trying, keep what is pending on disk for the next start."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._save()

    def kick(self) -> None:
        """Try again now (the owner calls this when a link comes up)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            progressed = False
            for item in list(self._pending.values()):
                try:
                    settled = await self._send(item)
                except Exception:  # the sender promises not to raise; keep going if it does
                    log.exception("sending the ack of %s failed", item.alarm_id)
                    settled = False
                progressed = progressed or settled
            if self._pending and not progressed:
                # Everything failed: wait for a reason to try (a kick) or the retry delay.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.retry_s):
                        await self._wake.wait()

    async def _send(self, item: PendingAck) -> bool:
        """One attempt; True when the acknowledgement is settled (done or refused)."""
        result = await self.sender.command(
            item.alarm_id, self.op, idempotency_key=item.key, zone=item.zone
        )
        # Not sent, or sent and the answer lost: either way an acknowledgement is safe to
        # send again (same key), until the server answers.
        if result.outcome in (Outcome.FAILED, Outcome.UNKNOWN) and result.reason_code in RETRYABLE:
            updated = replace(item, attempts=item.attempts + 1, last_error=result.reason)
            if self._pending.get(item.alarm_id) == item:
                self._pending[item.alarm_id] = updated
                self._changed()
            if item.attempts == 0:
                log.warning("ack of %s not delivered yet: %s", item.alarm_id, result.reason)
            return False
        self._pending.pop(item.alarm_id, None)
        self._changed()
        if result.outcome is not Outcome.EXECUTED:
            log.warning("ack of %s %s: %s", item.alarm_id, result.outcome, result.reason)
        self.finished.emit(AckOutcome(item, result))
        return True

    # -- persistence ------------------------------------------------------------------

    def _changed(self) -> None:
        self._save()
        self.changed.emit(self.pending)

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(p) for p in self._pending.values()]))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.error("could not save the pending acknowledgements to %s: %s", self.path, exc)

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            doc = json.loads(self.path.read_text())
            items = [PendingAck(**d) for d in doc]
        except (OSError, ValueError, TypeError) as exc:
            # Kept aside, not deleted: a person may want to see what was owed.
            log.error("pending acknowledgements in %s unreadable (%s); set aside", self.path, exc)
            with contextlib.suppress(OSError):
                self.path.rename(self.path.with_suffix(".bad"))
            return
        for item in items:
            self._pending[item.alarm_id] = item
        if items:
            log.info("%d acknowledgement(s) still owed from the last run", len(items))
