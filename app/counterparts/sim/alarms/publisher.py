"""The producer: each alarm change once to the topic of its day, snapshots, END and a new
day's snapshot at midnight; a broker that lost its data is met with a new start.

Nothing here blocks the simulator's loop: ``produce`` only queues (librdkafka,
bounded), delivery reports arrive through ``poll(0)``, and what must wait for the
broker runs on a worker thread whose results are picked up on the next tick. Broker
down: librdkafka queues and retries; failures are counted and logged once per outage,
and a snapshot follows once records flow again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException

from app.alarms.records import (
    SNAPSHOT_PART_SIZE,
    AlarmEvent,
    EndOfTopic,
    Record,
    RecordType,
    encode_record,
    next_midnight_ms,
    record_key,
    snapshot_records,
    topic_for,
)
from app.clock import wall_ms
from app.counterparts.sim.alarms.kafka import KafkaIO, Runner, Worker

log = logging.getLogger(__name__)

TOPIC_CHECK_S = 2.0  # how often the producer checks that today's topic still exists
#: Records waiting this long while the broker answers metadata requests: the producer is
#: stuck (an idempotent producer whose id a restarted broker forgot) and is replaced.
STALL_S = 10.0
RETRY_CREATE_S = 1.0  # a topic that could not be created is tried again after this
PRECREATE_S = 60.0  # tomorrow's topic is created this long before midnight


_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def check_prefix(prefix: str) -> str:
    """A topic prefix Kafka accepts (``prefix.YYYYMMDD`` ≤ 249 characters); else ValueError."""
    if not prefix or len(prefix) > 240 or not set(prefix) <= _TOPIC_CHARS:
        raise ValueError(f"alarm topic prefix must be 1..240 of [A-Za-z0-9._-], got {prefix!r}")
    return prefix


@dataclass
class _Pending:
    """A snapshot being written: its parts' delivery reports so far."""

    serial: int  # snapshots are numbered in the order they are written
    parts: int
    delivered: int = 0
    first_offset: int = -1


class AlarmPublisher:
    """Each change once to its day's topic; snapshots; END and a new snapshot at midnight.

    Runs on the simulator's loop and never waits for Kafka: :meth:`service` (each
    tick) serves the delivery reports, picks up what the worker finished
    (topics created, the check that today's topic still exists) and acts on it.

    ``snapshot_offset[topic]`` is the offset of the first part of the newest
    snapshot whose parts have *all* been delivered (known from the delivery
    reports), -1 before. Every record carries it. Snapshots are numbered as
    written, so a report arriving late never moves it back.

    The broker losing the topic's data (tansu with memory storage, restarted) is
    found three ways: the periodic check does not list the topic; a delivery
    report names an offset at or below one already delivered; or records stay
    undelivered for :data:`STALL_S` while the broker answers (an idempotent
    producer whose id the broker forgot retries for ever). Then the queued
    records are dropped (counted), a new producer starts, the topic is created
    again if needed, and a snapshot is written first.
    """

    def __init__(
        self,
        kafka: KafkaIO,
        *,
        prefix: str,
        timezone: str,
        server: str,
        snapshot: Callable[[], tuple[int, list[AlarmEvent]]],
        clock_ms: Callable[[], int] = wall_ms,
        monotonic: Callable[[], float] = time.monotonic,
        run: Runner | None = None,
        part_size: int = SNAPSHOT_PART_SIZE,
    ) -> None:
        self.prefix = check_prefix(prefix)
        topic_for(prefix, 0, timezone)  # an unknown time zone fails here, not at midnight
        if part_size < 1:
            raise ValueError(f"snapshot part size must be >= 1, got {part_size}")
        self.timezone = timezone
        self.server = server
        self._snapshot = snapshot
        self.clock_ms = clock_ms
        self._monotonic = monotonic
        self.part_size = part_size
        self.kafka = kafka
        kafka.on_error = self._kafka_error
        self._worker = Worker() if run is None else None
        self._run: Runner = run if run is not None else self._worker.submit  # type: ignore[union-attr]
        self.topic = ""
        self._switch_at = 0  # wall ms of the midnight that ends the current topic's day
        self._ready: dict[str, float] = {}  # topics known to exist -> since (monotonic)
        self._creating: dict[str, Future[Any]] = {}
        self._retry_at: dict[str, float] = {}
        self._lost: set[str] = set()  # created again after a loss: a snapshot goes first
        self._check: tuple[str, float, Future[Any]] | None = None
        self._next_check = 0.0
        self.snapshot_offset: dict[str, int] = {}
        self._last_offset: dict[str, int] = {}
        self._backwards: set[str] = set()
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._serial = 0
        self._accepted: dict[str, int] = {}  # topic -> serial of the snapshot it points at
        self.last_snapshot_ms = 0
        self._progress = monotonic()  # the last delivery, or the last time nothing waited
        self._restart_reason = ""
        self._resync = False
        self._failing = False
        self._closed = False
        # counters
        self.produced = 0
        self.delivered = 0
        self.failed = 0  # records not delivered (reports, full queue, dropped on a reset)
        self.unrouted = 0  # changes before any topic existed (the first snapshot has them)
        self.snapshots = 0
        self.restarts = 0
        self.outages = 0

    # the loop's entry points --------------------------------------------------------

    def service(self) -> None:
        """Once a tick, as master: reports, the worker's results, the day's topic."""
        self.kafka.poll()
        self._collect()
        now = self._monotonic()
        if self.kafka.outstanding() == 0:
            self._progress = now
        if self._restart_reason:
            self._restart(self.topic, self._restart_reason, purge=True)
        if self.topic in self._backwards:
            self._restart(
                self.topic,
                f"the broker lost records of {self.topic} (offsets went back)",
                purge=False,
            )
        self._backwards.clear()
        self.roll()
        if self.topic and self._check is None and now >= self._next_check:
            self._next_check = now + TOPIC_CHECK_S
            self._check = (self.topic, now, self._run(self.kafka.topics))
        if self._resync and self.topic in self._ready and not self.snapshot_in_flight():
            self._resync = False
            self.write_snapshot()

    def prepare(self) -> None:
        """Once a tick, as standby: have today's topic ready for a takeover; serve reports."""
        self.kafka.poll()
        self._collect()
        now = self.clock_ms()
        self._create(topic_for(self.prefix, now, self.timezone))
        self._precreate(now)

    def roll(self) -> bool:
        """Start today's topic if the day changed (END in the old one, a snapshot first);
        True when it wrote that snapshot. While today's topic is not there yet (the
        broker is down at midnight) changes keep going to the old topic."""
        now = self.clock_ms()
        self._precreate(now)
        today = topic_for(self.prefix, now, self.timezone)
        if today == self.topic:
            return False
        if today not in self._ready:
            self._create(today)
            return False
        old, self.topic = self.topic, today
        self._switch_at = next_midnight_ms(now, self.timezone)
        if old:
            seq, _ = self._snapshot()
            end = Record(RecordType.END, self.server, seq, now, self._off(old), EndOfTopic(today))
            self._send(old, end)
            log.info("alarm topic %s ended; continuing in %s", old, today)
        self._lost.discard(today)
        self.write_snapshot()
        return True

    def change(self, seq: int, ev: AlarmEvent) -> None:
        """The manager's emit: one change, once, to the topic of its day."""
        if not self.topic or self.clock_ms() >= self._switch_at:
            self.roll()
        if not self.topic:
            self.unrouted += 1
            if self.unrouted == 1 or self.unrouted % 1000 == 0:
                log.warning(
                    "no alarm topic yet (broker unreachable?): %d changes wait for the first "
                    "snapshot",
                    self.unrouted,
                )
            return
        rec = Record(RecordType.CHANGE, self.server, seq, ev.event_ms, self._off(self.topic), ev)
        self._send(self.topic, rec)

    def write_snapshot(self) -> None:
        """Every alarm not normal, in consecutive parts, into the current topic."""
        if not self.topic:
            return
        topic = self.topic
        seq, alarms = self._snapshot()
        self._serial += 1
        sid = f"{self.server}-{seq}-{self._serial}-{uuid.uuid4().hex[:6]}"
        parts = snapshot_records(
            alarms,
            snapshot_id=sid,
            server=self.server,
            seq=seq,
            ms=self.clock_ms(),
            snapshot_offset=self._off(topic),
            part_size=self.part_size,
        )
        self._pending[(topic, sid)] = _Pending(self._serial, len(parts))
        self.snapshots += 1
        self.last_snapshot_ms = self.clock_ms()
        for part in parts:
            if not self._send(topic, part):
                # Incomplete: never pointed at; another one once records flow again.
                self._pending.pop((topic, sid), None)
                self._resync = True
                return

    def snapshot_in_flight(self) -> bool:
        """A snapshot of the current topic still waits for delivery reports."""
        return any(t == self.topic for t, _ in self._pending)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Wait (at most ``timeout_s``, blocking) for the queued records, then stop the
        worker; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        left = self.kafka.flush(timeout_s)
        if left:
            log.warning("%d alarm records not delivered at shutdown", left)
        if self._worker is not None:
            await self._worker.aclose()

    # inside -------------------------------------------------------------------------

    def _off(self, topic: str) -> int:
        return self.snapshot_offset.get(topic, -1)

    def _send(self, topic: str, rec: Record) -> bool:
        try:
            self.kafka.produce(topic, record_key(rec), encode_record(rec), self._report)
        except BufferError:
            self.failed += 1
            self._resync = True
            self._failure(f"local queue full ({self.failed} records not delivered so far)")
            return False
        except KafkaException as exc:
            self.failed += 1
            self._resync = True
            self._failure(str(exc))
            return False
        self.produced += 1
        return True

    def _report(self, error: str | None, topic: str, key: bytes, offset: int | None) -> None:
        """A delivery report (from ``poll``, on the loop's thread). Only bookkeeping here:
        whatever it calls for is done by the next :meth:`service`."""
        sid = (
            key[len(b"snapshot:") :].decode(errors="replace")
            if key.startswith(b"snapshot:")
            else ""
        )
        if error is not None:
            self.failed += 1
            self._resync = True  # consumers missed something: a snapshot once it flows
            self._failure(error)
            if sid:
                self._pending.pop((topic, sid), None)
            return
        self.delivered += 1
        self._progress = self._monotonic()
        if self._failing:
            log.info("alarm records are delivered again")
            self._failing = False
        if offset is not None:
            last = self._last_offset.get(topic)
            if last is not None and offset <= last:
                self._backwards.add(topic)
            self._last_offset[topic] = offset
        pending = self._pending.get((topic, sid)) if sid else None
        if pending is None or offset is None:
            return
        if pending.first_offset < 0 or offset < pending.first_offset:
            pending.first_offset = offset
        pending.delivered += 1
        if pending.delivered == pending.parts:
            del self._pending[(topic, sid)]
            if pending.serial > self._accepted.get(topic, 0):
                self._accepted[topic] = pending.serial
                self.snapshot_offset[topic] = pending.first_offset

    def _kafka_error(self, reason: str, fatal: bool, all_down: bool) -> None:
        if fatal:
            self._restart_reason = f"fatal producer error: {reason}"
        elif all_down:
            self._failure(f"broker unreachable: {reason}; records wait in the local queue")
        else:
            log.debug("alarm producer: %s", reason)

    def _failure(self, reason: str) -> None:
        if not self._failing:
            self.outages += 1
            log.warning("alarm records not delivered: %s", reason)
            self._failing = True

    def _create(self, topic: str) -> None:
        if topic in self._ready or topic in self._creating:
            return
        if self._monotonic() < self._retry_at.get(topic, 0.0):
            return
        self._creating[topic] = self._run(lambda: self.kafka.create_topic(topic))

    def _precreate(self, now_ms: int) -> None:
        midnight = next_midnight_ms(now_ms, self.timezone)
        if midnight - now_ms <= PRECREATE_S * 1000:
            self._create(topic_for(self.prefix, midnight, self.timezone))

    def _collect(self) -> None:
        """Act on what the worker has finished."""
        for topic, future in list(self._creating.items()):
            if not future.done():
                continue
            del self._creating[topic]
            exc = future.exception()
            if exc is not None:
                self._retry_at[topic] = self._monotonic() + RETRY_CREATE_S
                self._failure(f"cannot create alarm topic {topic}: {exc}")
                continue
            self._ready[topic] = self._monotonic()
            self._retry_at.pop(topic, None)
            self.snapshot_offset.setdefault(topic, -1)
            if topic in self._lost and topic == self.topic:
                self._lost.discard(topic)
                self.write_snapshot()
        if self._check is None or not self._check[2].done():
            return
        topic, started, future = self._check
        self._check = None
        if future.exception() is not None:
            return  # the broker does not answer: nothing to tell yet
        present: set[str] = future.result()
        ready_since = self._ready.get(topic)
        if topic != self.topic or ready_since is None or ready_since > started:
            return  # the check is older than the topic
        if topic not in present:
            del self._ready[topic]
            self._restart(
                topic, f"topic {topic} is gone from the broker (restarted without data?)", True
            )
        elif self.kafka.outstanding() and self._monotonic() - self._progress > STALL_S:
            self._restart(
                topic,
                f"nothing delivered for {STALL_S:.0f} s although the broker answers",
                True,
            )

    def _restart(self, topic: str, reason: str, purge: bool) -> None:
        """Start the topic again from a snapshot (with a new producer if ``purge``)."""
        log.warning("alarm producer: %s; starting again with a snapshot", reason)
        self.restarts += 1
        self._restart_reason = ""
        if purge:
            self.failed += self.kafka.reset()
            self._pending.clear()
            self._progress = self._monotonic()
            self._run(self.kafka.dispose)
        if not topic:
            return
        self.snapshot_offset[topic] = -1
        self._last_offset.pop(topic, None)
        if topic in self._ready:
            self.write_snapshot()
        else:
            self._lost.add(topic)
            self._create(topic)
