"""Kafka behind a small interface (:class:`KafkaIO`), its librdkafka implementation
(:class:`ConfluentKafka`), and the worker thread that runs what waits for the broker.

``produce``, ``poll``, ``outstanding`` and ``reset`` never wait; the calls that do
(creating a topic, listing topics, disposing of a replaced producer) run on the
:class:`Worker`'s thread, and their results are picked up on a later tick.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

log = logging.getLogger(__name__)

#: A delivery report: (error text or None, topic, key, offset or None).
DeliveryReport = Callable[[str | None, str, bytes, int | None], None]
#: An error report: (text, fatal: the producer is unusable, all brokers down).
ErrorReport = Callable[[str, bool, bool], None]
T = TypeVar("T")
#: Runs a blocking call elsewhere and returns its future (a worker thread; in tests, anything).
Runner = Callable[[Callable[[], Any]], "Future[Any]"]


class KafkaIO(Protocol):
    """What the publisher needs from Kafka; :class:`ConfluentKafka` is the real one.

    ``produce``, ``poll``, ``outstanding`` and ``reset`` never wait; the others wait
    for the broker and the publisher runs them on its worker thread only.
    """

    on_error: ErrorReport | None

    def produce(self, topic: str, key: bytes, value: bytes, report: DeliveryReport) -> None:
        """Queue one record; ``BufferError`` when the bounded local queue is full."""
        ...

    def poll(self) -> None:
        """Serve the delivery and error reports that have arrived."""
        ...

    def outstanding(self) -> int:
        """Records queued or in flight."""
        ...

    def reset(self) -> int:
        """Drop every queued record and start a new producer (a new producer id); how
        many were dropped. Their reports never come."""
        ...

    def dispose(self) -> None:
        """Let go of the producers :meth:`reset` replaced (waits briefly)."""
        ...

    def create_topic(self, topic: str) -> None:
        """Create ``topic`` (one partition); nothing if it exists; raises on failure."""
        ...

    def topics(self) -> set[str]:
        """The topics the broker has; raises when it does not answer."""
        ...

    def flush(self, timeout_s: float) -> int:
        """Wait for the queued records; how many are still not delivered."""
        ...


class ConfluentKafka:
    """:class:`KafkaIO` on librdkafka (confluent-kafka): a producer and an admin client."""

    def __init__(
        self,
        bootstrap: str,
        *,
        replication: int = 1,
        idempotence: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if replication < 1:
            raise ValueError(f"replication must be >= 1, got {replication}")
        self.replication = replication
        self.on_error: ErrorReport | None = None
        self._conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            # No duplicates and no reordering from librdkafka's own retries; see
            # docs/alarms.md ("Producer") for how a broker that lost its data is met.
            "enable.idempotence": idempotence,
            "linger.ms": 5,
            # Bounded: a broker down for long fills this, then records are counted lost
            # and a snapshot follows once the broker is back.
            "queue.buffering.max.messages": 200_000,
            "queue.buffering.max.kbytes": 262_144,
            "message.timeout.ms": 300_000,
            # Only this publisher creates topics (one partition, the right settings).
            "allow.auto.create.topics": False,
            "logger": logging.getLogger("librdkafka"),
        }
        self._conf.update(extra or {})
        self._gen = 0  # reports from a producer that reset() replaced are ignored
        self._producer = self._new_producer()
        admin_conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "logger": logging.getLogger("librdkafka"),
        }
        self._admin = AdminClient(admin_conf)
        self._replaced: list[Producer] = []
        self._lock = threading.Lock()

    def _new_producer(self) -> Producer:
        gen = self._gen

        def error(err: KafkaError) -> None:
            if gen == self._gen and self.on_error is not None:
                self.on_error(err.str(), err.fatal(), err.code() == KafkaError._ALL_BROKERS_DOWN)

        return Producer({**self._conf, "error_cb": error})

    def produce(self, topic: str, key: bytes, value: bytes, report: DeliveryReport) -> None:
        gen = self._gen

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if gen != self._gen:
                return
            if err is not None:
                report(err.str(), msg.topic() or topic, msg.key() or key, None)
            else:
                report(None, msg.topic() or topic, msg.key() or key, msg.offset())

        self._producer.produce(topic, key=key, value=value, on_delivery=delivered)

    def poll(self) -> None:
        self._producer.poll(0)

    def outstanding(self) -> int:
        return len(self._producer)

    def reset(self) -> int:
        old = self._producer
        dropped = len(old)
        self._gen += 1
        try:
            old.purge(in_queue=True, in_flight=True, blocking=False)
        except KafkaException as exc:
            log.warning("purging the old alarm producer: %s", exc)
        self._producer = self._new_producer()
        with self._lock:
            self._replaced.append(old)
        return dropped

    def dispose(self) -> None:
        with self._lock:
            old, self._replaced = self._replaced, []
        for producer in old:
            producer.flush(1.0)  # purged: nothing to wait for but the broker's answers
        del old  # librdkafka's destroy runs here, on this (worker) thread

    def create_topic(self, topic: str) -> None:
        futures = self._admin.create_topics(
            [NewTopic(topic, 1, self.replication)], operation_timeout=5, request_timeout=5
        )
        try:
            futures[topic].result(10)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return
            raise

    def topics(self) -> set[str]:
        # All topics, never one by name: asking for one may create it on some brokers.
        meta = self._admin.list_topics(timeout=2)
        return {name for name, t in meta.topics.items() if t.error is None and t.partitions}

    def flush(self, timeout_s: float) -> int:
        left: int = self._producer.flush(timeout_s)
        return left


class Worker:
    """One daemon thread for the calls that wait on the broker; results as futures."""

    def __init__(self, name: str = "alarm-kafka") -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to whoever looks at the future
                future.set_exception(exc)

    async def aclose(self, timeout_s: float = 2.0) -> None:
        """Stop the thread once what it was given is done (waits at most ``timeout_s``);
        a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout_s)
