"""The HMI's alarms on its event loop: the feed's thread → the alarm list → events.

The feed (:class:`~app.alarms.consumer.AlarmFeed`) runs librdkafka in a thread
and hands over batches; they are moved to the loop with
``call_soon_threadsafe`` and applied to the :class:`~app.alarms.model.AlarmList`
there, so the list is only ever touched by the loop. Views listen to
``changed`` (which rows), ``status_changed`` (catching up, live, stale) and
``bad_record`` (the diagnostics view). Acknowledgements go to the server
through the :class:`~app.alarms.acks.AckOutbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from app.alarms.acks import AckOutbox, AckSender, PendingAck
from app.alarms.consumer import AlarmFeed, BadRecord, Delivered, FeedSettings, FeedState, FeedStatus
from app.alarms.model import AlarmChanges, AlarmList
from app.alarms.records import AlarmEvent, EventType, Priority
from app.clock import wall_ms
from app.events import Event
from app.model.commands import CommandOp, CommandResult

log = logging.getLogger(__name__)

TICK_S = 1.0  # how often shelve timers are checked


class AlarmService:
    def __init__(
        self,
        settings: FeedSettings,
        *,
        sender: AckSender | None = None,
        ack_op: CommandOp | None = None,
        acks_path: str | Path | None = None,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.settings = settings
        self.clock_ms = clock_ms
        self.list = AlarmList(clock_ms)
        self.changed: Event[AlarmChanges] = Event("alarms.changed")
        self.status_changed: Event[FeedStatus] = Event("alarms.status")
        self.bad_record: Event[BadRecord] = Event("alarms.bad_record")
        self.action_finished: Event[CommandResult] = Event("alarms.action_finished")
        #: what the list takes in, as it takes it (the black box records it, docs/replay.md):
        #: the topic's records, and the events of the workstation's own alarms
        self.delivered: Event[list[Delivered]] = Event("alarms.delivered")
        self.applied_local: Event[AlarmEvent] = Event("alarms.applied_local")
        self._sender = sender
        self.status = FeedStatus(FeedState.STOPPED, "", 0, 0, 0, clock_ms())
        self.acks = (
            AckOutbox(sender, ack_op, path=acks_path, clock_ms=clock_ms)
            if sender is not None and ack_op is not None
            else None
        )
        self._feed: AlarmFeed | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.batches = 0

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def hop(fn: Callable[..., None]) -> Callable[..., None]:
            def call(*args: object) -> None:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(fn, *args)

            return call

        self._feed = AlarmFeed(
            self.settings,
            deliver=hop(self._on_batch),
            status=hop(self._on_status),
            bad=hop(self._on_bad),
            clock_ms=self.clock_ms,
        )
        self._feed.start()
        self._ticker = loop.create_task(self._tick_loop(), name="alarm-shelve-timer")
        if self.acks is not None:
            self.acks.start()

    async def aclose(self) -> None:
        """Idempotent: the shelve timer, the feed's thread and the ack outbox stop."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._feed is not None:
            feed, self._feed = self._feed, None
            await asyncio.get_running_loop().run_in_executor(None, feed.close)
        if self.acks is not None:
            await self.acks.aclose()

    @property
    def feed(self) -> AlarmFeed | None:
        return self._feed

    # -- from the feed (on the loop) --------------------------------------------------

    def _on_batch(self, batch: list[Delivered]) -> None:
        self.batches += 1
        self.delivered.emit(batch)
        changes = self.list.apply_all(d.record for d in batch)
        if changes:
            self.changed.emit(changes)

    def _on_status(self, status: FeedStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _on_bad(self, bad: BadRecord) -> None:
        self.bad_record.emit(bad)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            changes = self.list.tick()
            if changes:
                self.changed.emit(changes)

    # -- the dispatcher's actions -----------------------------------------------------

    def local(
        self,
        code: str,
        text: str,
        active: bool,
        time_ms: int,
        *,
        device: str = "",
        priority: Priority = Priority.HIGH,
        since_ms: int = 0,
    ) -> None:
        """An alarm this workstation raises (``active``) or clears itself, into the list.

        Its id is ``local:<code>``; the dispatcher acknowledges it here, not at a server.
        ``since_ms``: when its condition began, if before ``time_ms`` (its raised time).
        """
        aid = f"local:{code}"
        row = self.list.get(aid)
        if active and row is not None and row.event.active:
            return
        if not active and (row is None or not row.event.active):
            return
        kind = code.partition(":")[0]
        base = row.event if row is not None and not active else None
        ev = AlarmEvent(
            alarm_id=aid,
            event=EventType.RAISE if active else EventType.CLEAR,
            device=device,
            station=base.station if base else "",
            zone=base.zone if base else "",
            priority=base.priority if base else priority,
            kind=kind,
            code=f"LOCAL-{kind}",
            text_zh=text,
            text_en=text,
            raised_ms=base.raised_ms if base else (since_ms or time_ms),
            event_ms=time_ms,
            active=active,
            acked=False,
        )
        self._apply_local(ev)

    def _apply_local(self, ev: AlarmEvent) -> None:
        self.applied_local.emit(ev)
        changes = self.list.apply_local(ev)
        if changes:
            self.changed.emit(changes)

    def acknowledge(self, alarm_ids: Iterable[str]) -> list[PendingAck]:
        """Queue acknowledgements of these alarms (the unacknowledged ones); never dropped.

        The workstation's own alarms (:meth:`local`) are acknowledged at once, here.
        """
        queued = []
        for aid in alarm_ids:
            row = self.list.get(aid)
            if row is None or not row.unacked:
                continue
            if self.list.is_local(aid):
                ack = replace(row.event, event=EventType.ACK, event_ms=self.clock_ms(), acked=True)
                self._apply_local(ack)
                continue
            if self.acks is None:
                raise RuntimeError("this workstation cannot acknowledge (no command channel)")
            queued.append(self.acks.ack(aid, row.event.zone))
        return queued

    def shelve(self, alarm_ids: Iterable[str], minutes: int) -> asyncio.Task[list[CommandResult]]:
        """Shelve these alarms for ``minutes`` (a command each); the results, also announced.

        Unlike an acknowledgement, a shelve is not kept for later: a dispatcher who
        shelves while the link is down is told at once that it did not happen.
        """
        if self._sender is None:
            raise RuntimeError("this workstation cannot shelve alarms (no command channel)")
        sender = self._sender
        ids = [aid for aid in alarm_ids if aid in self.list]

        async def run() -> list[CommandResult]:
            results = []
            for aid in ids:
                row = self.list.get(aid)
                result = await sender.command(
                    aid,
                    CommandOp.SHELVE_ALARM,
                    zone=row.event.zone if row is not None else "",
                    arg=str(minutes),
                )
                results.append(result)
                self.action_finished.emit(result)
            return results

        return asyncio.get_running_loop().create_task(run())

    def stale_for_s(self) -> float | None:
        """Seconds the list has been stale, or None when it is not."""
        if self.status.state is not FeedState.STALE:
            return None
        return max(0.0, (self.clock_ms() - self.status.since_ms) / 1000)
