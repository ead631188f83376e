"""The HMI's alarm feed: today's alarm topic, from its newest snapshot, then live.

(Past 500 lines on purpose: one thread's loop and its conversation with the broker,
whose steps share the consumer and the status; split, each part would reach into
the other's state.)

Every HMI needs every alarm, so there is no consumer group: the feed *assigns*
itself partition 0 of the day's topic (one partition keeps the order) and
never commits offsets. It runs librdkafka in a thread of its own and hands
batches of decoded records to its owner through ``deliver`` (the owner moves
them to its event loop, e.g. with ``loop.call_soon_threadsafe``).

Start: read the last record of today's topic (``records.topic_for``); its
``snapshot_offset`` says where the newest complete snapshot starts; seek there
and stream from it. A broker whose high watermark lags the real end (tansu)
only makes the feed start from an older snapshot: more records, same result.

Midnight: the producer ends a day's topic with an END record naming the next
topic, which starts with a snapshot; the feed switches there at offset 0. If
the producer died before writing END, the feed switches anyway once the next
day's topic exists and the current one has been quiet past midnight.

Broker down: the feed reports ``stale`` with the time since; librdkafka keeps
its fetch position, so when the broker returns the feed continues where it
stopped. The alarm list drops records it has already applied (by ``seq``), so
a re-read never doubles anything.

A record that does not decode is counted, kept (bounded) for the diagnostics
view with its topic and offset, and skipped: consumption never stops.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from app.alarms.records import (
    EndOfTopic,
    Record,
    RecordError,
    SnapshotPart,
    decode_record,
    topic_for,
)
from app.clock import wall_ms

log = logging.getLogger(__name__)

POLL_S = 0.1
TAIL_SCAN_S = 5.0  # at most this long reading past a lagging high watermark
BATCH = 500
BAD_KEPT = 200


class FeedState(enum.StrEnum):
    STARTING = "starting"  # looking for today's topic and its newest snapshot
    CATCHING_UP = "catching_up"  # reading from the snapshot towards the end
    LIVE = "live"  # at the end, following changes
    STALE = "stale"  # the broker is unreachable (or silent too long)
    STOPPED = "stopped"
    REPLAY = "replay"  # the list is played from a recording (docs/replay.md): no feed


class FeedCause(enum.StrEnum):
    """Why the feed is in its state, as a value (``reason`` is the words for a person)."""

    NONE = ""
    LOOKING = "looking"  # for today's topic and its newest snapshot
    BROKER_UNREACHABLE = "broker_unreachable"
    BROKER_SILENT = "broker_silent"  # open sockets, no answer to the probes
    NO_RECORDS = "no_records"  # the topic quiet for longer than the producer's snapshots
    NO_CONSUMER = "no_consumer"  # librdkafka refused its configuration
    INTERNAL_ERROR = "internal_error"

    @property
    def broker(self) -> bool:
        """A staleness the broker's next answer clears."""
        return self in (FeedCause.BROKER_UNREACHABLE, FeedCause.BROKER_SILENT)


@dataclass(frozen=True, slots=True)
class Delivered:
    topic: str
    offset: int
    record: Record


@dataclass(frozen=True, slots=True)
class BadRecord:
    topic: str
    partition: int
    offset: int
    error: str
    seen_ms: int


@dataclass(frozen=True, slots=True)
class FeedStatus:
    state: FeedState
    topic: str
    offset: int  # the next offset to read
    start_offset: int  # where this topic's catch-up started
    target_offset: int  # the end when catch-up started (progress = done / (target - start))
    since_ms: int  # when this state began
    reason: str = ""  # for a person; ``cause`` is the value
    records: int = 0
    bad_records: int = 0
    end_offset: int = 0  # the topic's end as last asked (lag = end_offset - offset)
    cause: FeedCause = FeedCause.NONE

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - self.offset)

    @property
    def progress(self) -> float:
        span = self.target_offset - self.start_offset
        if span <= 0 or self.state is FeedState.LIVE:
            return 1.0
        return max(0.0, min(1.0, (self.offset - self.start_offset) / span))


_SNAPSHOT_OFFSET = re.compile(rb'"snapshot_offset":(-?\d+)')


def _snapshot_offset(value: bytes | None) -> int:
    """The ``snapshot_offset`` of an encoded record without decoding it (-1 if none)."""
    found = _SNAPSHOT_OFFSET.search(value or b"", 0, 256)
    return int(found.group(1)) if found else -1


def _offset(msg: Message) -> int:
    offset = msg.offset()
    return -1 if offset is None else offset


@dataclass
class FeedSettings:
    bootstrap: str
    prefix: str = "alarms"
    timezone: str = "Asia/Shanghai"
    #: Stale when nothing arrived for this long (the producer writes a snapshot every 30 s).
    silent_stale_s: float = 75.0
    #: After midnight, how long the old topic may stay quiet before the feed moves on
    #: without having seen its END record.
    rollover_grace_s: float = 5.0
    #: How often the broker is asked for the topic's end (heartbeat and lag).
    probe_s: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)  # more librdkafka settings


class AlarmFeed:
    """One thread, one librdkafka consumer, records out through ``deliver``.

    ``deliver``, ``status`` and ``bad`` are called from the feed's thread: the
    owner hands them over to its own loop (they must not block).
    """

    def __init__(
        self,
        settings: FeedSettings,
        *,
        deliver: Callable[[list[Delivered]], None],
        status: Callable[[FeedStatus], None] = lambda _s: None,
        bad: Callable[[BadRecord], None] = lambda _b: None,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.settings = settings
        self._deliver = deliver
        self._status_cb = status
        self._bad_cb = bad
        self._clock_ms = clock_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bad_records: collections.deque[BadRecord] = collections.deque(maxlen=BAD_KEPT)
        self.bad_count = 0
        self.record_count = 0
        self._broker_down_reason = ""
        self._probe_failures = 0
        self._status = FeedStatus(FeedState.STOPPED, "", 0, 0, 0, clock_ms())
        self._consumer: Consumer | None = None

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alarm-feed", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Idempotent: the feed's thread ends (a blocking call: from an executor)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("alarm feed thread did not stop within %.1f s", timeout_s)

    @property
    def status(self) -> FeedStatus:
        return self._status

    # -- the thread -------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap.servers": self.settings.bootstrap,
            # Required by the client; never used to join a group or commit.
            "group.id": f"dispatcher-hmi-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,  # latency: a blink, not a batch
            "socket.connection.setup.timeout.ms": 3000,
            "reconnect.backoff.ms": 100,
            "reconnect.backoff.max.ms": 2000,
            "socket.timeout.ms": 10000,
            "topic.metadata.refresh.interval.ms": 5000,
            "error_cb": self._on_error,
            # librdkafka's own log lines go through logging, not straight to stderr.
            "logger": logging.getLogger("librdkafka"),
        }
        conf.update(self.settings.extra)
        return conf

    def _on_error(self, err: KafkaError) -> None:
        code = err.code()
        if code in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            self._broker_down_reason = err.str()
            if self._status.state is not FeedState.STALE:
                self._set(
                    FeedState.STALE,
                    cause=FeedCause.BROKER_UNREACHABLE,
                    reason=f"broker unreachable: {err.str()}",
                )
        else:
            log.warning("alarm feed: %s", err.str())

    def _set(self, state: FeedState, **changes: Any) -> None:
        old = self._status
        since = self._clock_ms() if state is not old.state else old.since_ms
        values: dict[str, Any] = {
            "state": state,
            "since_ms": since,
            "reason": "",
            "cause": FeedCause.NONE,
            "records": self.record_count,
            "bad_records": self.bad_count,
        }
        values.update(changes)
        self._status = dataclasses.replace(old, **values)
        if self._status != old:
            if state is not old.state:
                log.info("alarm feed %s -> %s %s", old.state, state, self._status.reason or "")
            self._status_cb(self._status)

    def _run(self) -> None:
        try:
            consumer = Consumer(self._config())
        except KafkaException as exc:
            self._set(
                FeedState.STALE,
                cause=FeedCause.NO_CONSUMER,
                reason=f"cannot create the consumer: {exc}",
            )
            return
        self._consumer = consumer
        try:
            topic = topic_for(self.settings.prefix, self._clock_ms(), self.settings.timezone)
            while not self._stop.is_set():
                topic = self._follow(consumer, topic)
        except Exception:
            log.exception("alarm feed thread failed")
            self._set(
                FeedState.STALE,
                cause=FeedCause.INTERNAL_ERROR,
                reason="internal error: see the log",
            )
        finally:
            consumer.close()
            self._consumer = None
            self._set(FeedState.STOPPED)

    def _locate(self, consumer: Consumer, topic: str) -> tuple[int, int] | None:
        """(offset to start from, end when looked) for ``topic``; None while it is missing."""
        tp = TopicPartition(topic, 0)
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=2.0)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return None
            self._set(
                FeedState.STALE,
                topic=topic,
                cause=FeedCause.BROKER_UNREACHABLE,
                reason=f"broker unreachable: {exc}",
            )
            return None
        if high <= low:
            return low, high
        # The last record names the newest snapshot; a bad one: try a few before it.
        for probe in range(high - 1, max(low, high - 10) - 1, -1):
            rec = self._read_one(consumer, topic, probe)
            if rec is None:
                continue
            pointer = rec.snapshot_offset
            body = rec.body
            if isinstance(body, SnapshotPart) and body.part == body.parts - 1:
                # The last record closes a snapshot: that one is the newest (its parts
                # are consecutive, so it starts ``part`` records before).
                pointer = probe - body.part
            if pointer >= low:
                newest, end = self._scan_tail(consumer, topic, probe + 1, pointer)
                return newest, max(high, end)
        return low, high

    def _scan_tail(
        self, consumer: Consumer, topic: str, start: int, newest: int
    ) -> tuple[int, int]:
        """Read on from ``start`` to the real end: a later record may name a newer snapshot.

        A broker whose high watermark lags (tansu) reports an end that is not
        the end; the records past it are read here once (not applied), and the
        newest ``snapshot_offset`` among them wins. Bounded by ``TAIL_SCAN_S``.
        """
        consumer.assign([TopicPartition(topic, 0, start)])
        end = start
        deadline = time.monotonic() + TAIL_SCAN_S
        seen_eof, quiet = False, 0
        # Until the end-of-partition event AND then reads that bring nothing: the
        # event alone comes at the lagging watermark too, with records still behind it.
        while time.monotonic() < deadline and not self._stop.is_set():
            got = False
            for msg in consumer.consume(BATCH, POLL_S):
                err = msg.error()
                if err is not None:
                    seen_eof = seen_eof or err.code() == KafkaError._PARTITION_EOF
                    continue
                got = True
                offset = _offset(msg)
                end = offset + 1
                newest = max(newest, _snapshot_offset(msg.value()))
                if (msg.key() or b"").startswith(b"snapshot:"):
                    # A snapshot written after the last pointer to one: complete, it wins.
                    try:
                        rec = decode_record(msg.value(), f"{topic}@{offset}")
                    except RecordError:
                        continue
                    body = rec.body
                    if isinstance(body, SnapshotPart) and body.part == body.parts - 1:
                        # The last part closes it; its parts are consecutive.
                        newest = max(newest, offset - body.part)
            quiet = 0 if got else quiet + 1
            if seen_eof and quiet >= 2:
                break
        return newest, end

    def _read_one(self, consumer: Consumer, topic: str, offset: int) -> Record | None:
        consumer.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not self._stop.is_set():
            msg = consumer.poll(POLL_S)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    return None
                continue
            try:
                return decode_record(msg.value(), f"{topic}@{_offset(msg)}")
            except RecordError:
                return None
        return None

    def _follow(self, consumer: Consumer, topic: str) -> str:
        """Read ``topic`` from its newest snapshot onwards; return the topic to read next."""
        self._set(
            FeedState.STARTING,
            topic=topic,
            cause=FeedCause.LOOKING,
            reason="looking for the newest snapshot",
        )
        located = None
        while located is None and not self._stop.is_set():
            located = self._locate(consumer, topic)
            if located is None:
                nxt = topic_for(self.settings.prefix, self._clock_ms(), self.settings.timezone)
                if nxt != topic:
                    return nxt  # the day changed while waiting for a topic
                self._stop.wait(0.5)
        if located is None:
            return topic
        start, target = located
        self._set(
            FeedState.CATCHING_UP,
            topic=topic,
            offset=start,
            start_offset=start,
            target_offset=target,
        )
        consumer.assign([TopicPartition(topic, 0, start)])
        last_rx = time.monotonic()
        next_probe = last_rx + self.settings.probe_s
        midnight_seen_at: float | None = None
        while not self._stop.is_set():
            # Wait for the first record only; then take what is already there. (A
            # consume() of a whole batch would sit on the first record until the
            # batch filled or the timeout passed: latency for nothing.)
            first = consumer.poll(POLL_S)
            msgs = [first, *consumer.consume(BATCH - 1, 0)] if first is not None else []
            batch: list[Delivered] = []
            next_topic = ""
            at_end = False
            for msg in msgs:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        at_end = True
                    continue
                last_rx = time.monotonic()
                delivered = self._decode(topic, msg)
                self._set_offset(_offset(msg) + 1)
                if delivered is None:
                    continue
                batch.append(delivered)
                if isinstance(delivered.record.body, EndOfTopic):
                    next_topic = delivered.record.body.next_topic
                    break
            if batch:
                self.record_count += len(batch)
                self._deliver(batch)
            if next_topic:
                log.info("alarm topic %s ended; next %s", topic, next_topic)
                return next_topic
            state = self._status.state
            if msgs and state is FeedState.STALE:
                # Any answer (a record or end-of-partition) means the broker is back.
                self._set(FeedState.LIVE if at_end else FeedState.CATCHING_UP)
            elif at_end and state in (FeedState.CATCHING_UP, FeedState.STARTING):
                self._set(FeedState.LIVE, target_offset=self._status.offset)
            if time.monotonic() >= next_probe:
                next_probe = time.monotonic() + self.settings.probe_s
                self._probe(consumer, topic)
                state = self._status.state
            silent = time.monotonic() - last_rx
            if silent > self.settings.silent_stale_s and state is not FeedState.STALE:
                self._set(
                    FeedState.STALE,
                    cause=FeedCause.NO_RECORDS,
                    reason=f"no alarm record for {silent:.0f} s",
                )
            # Midnight without an END record (the producer may be gone): move on once
            # the next day's topic exists and this one has been quiet for a while.
            today = topic_for(self.settings.prefix, self._clock_ms(), self.settings.timezone)
            if today != topic:
                if midnight_seen_at is None:
                    midnight_seen_at = time.monotonic()
                quiet = min(silent, time.monotonic() - midnight_seen_at)
                if quiet > self.settings.rollover_grace_s and self._exists(consumer, today):
                    log.warning("alarm topic %s has no END record; moving to %s", topic, today)
                    return today
        return topic

    def _probe(self, consumer: Consumer, topic: str) -> None:
        """Ask the broker for the topic's end: a heartbeat, and the lag.

        A paused broker keeps its sockets open and librdkafka would only notice
        at its request timeout; two probes in a row unanswered mark the feed
        stale. An answer clears a broker-caused staleness.
        """
        try:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, 0), timeout=self.settings.probe_s, cached=False
            )
        except KafkaException as exc:
            self._probe_failures += 1
            if self._probe_failures >= 2 and self._status.state is not FeedState.STALE:
                self._set(
                    FeedState.STALE,
                    cause=FeedCause.BROKER_SILENT,
                    reason=f"broker not answering ({exc.args[0]})",
                )
            return
        self._probe_failures = 0
        if self._status.state is FeedState.STALE and self._status.cause.broker:
            behind = high > self._status.offset
            self._set(FeedState.CATCHING_UP if behind else FeedState.LIVE, end_offset=high)
        else:
            self._status = dataclasses.replace(self._status, end_offset=max(high, 0))

    def _exists(self, consumer: Consumer, topic: str) -> bool:
        try:
            meta = consumer.list_topics(topic, timeout=1.0)
        except KafkaException:
            return False
        info = meta.topics.get(topic)
        return info is not None and info.error is None

    def _set_offset(self, offset: int) -> None:
        self._status = dataclasses.replace(
            self._status, offset=offset, records=self.record_count, bad_records=self.bad_count
        )

    def _decode(self, topic: str, msg: Message) -> Delivered | None:
        offset = _offset(msg)
        try:
            rec = decode_record(msg.value(), f"{topic}@{offset}")
        except RecordError as exc:
            self.bad_count += 1
            bad = BadRecord(topic, msg.partition() or 0, offset, str(exc), self._clock_ms())
            self.bad_records.append(bad)
            log.warning("alarm record skipped: %s", exc)
            self._bad_cb(bad)
            return None
        return Delivered(topic, offset, rec)
