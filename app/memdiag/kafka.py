"""librdkafka's statistics (``statistics.interval.ms``), summed to what can grow."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

# -- librdkafka statistics -------------------------------------------------------------


def kafka_summary(stats: Mapping[str, Any]) -> dict[str, int]:
    """The parts of one librdkafka statistics object that hold memory, summed.

    ``replyq``: ops waiting for the application's poll; ``msg_cnt``/``msg_size``:
    messages in producer queues; ``fetchq_cnt``/``fetchq_size``: fetched messages
    not yet consumed (all partitions); ``outbuf_cnt``/``waitresp_cnt``: requests
    queued or in flight (all brokers); ``metadata_cache_cnt``, ``brokers``,
    ``toppars`` (partitions known), ``topics``; ``rx``/``tx`` bytes (totals).
    """
    out: dict[str, int] = {}
    for key in ("replyq", "msg_cnt", "msg_size", "metadata_cache_cnt", "simple_cnt"):
        if isinstance(stats.get(key), int):
            out[key] = int(stats[key])
    brokers = stats.get("brokers") or {}
    out["brokers"] = len(brokers)
    for name in ("outbuf_cnt", "outbuf_msg_cnt", "waitresp_cnt", "waitresp_msg_cnt", "tx", "rx"):
        out[name] = sum(
            int(b.get(name, 0)) for b in brokers.values() if isinstance(b.get(name, 0), int)
        )
    out["toppars_on_brokers"] = sum(len(b.get("toppars") or {}) for b in brokers.values())
    topics = stats.get("topics") or {}
    out["topics"] = len(topics)
    fetch_cnt = fetch_size = toppars = 0
    for topic in topics.values():
        for pid, part in (topic.get("partitions") or {}).items():
            toppars += 1
            if pid == "-1":
                continue
            fetch_cnt += int(part.get("fetchq_cnt", 0) or 0)
            fetch_size += int(part.get("fetchq_size", 0) or 0)
    out["toppars"] = toppars
    out["fetchq_cnt"] = fetch_cnt
    out["fetchq_size"] = fetch_size
    return out


class KafkaStats:
    """The last librdkafka statistics, kept for the next record.

    Its :meth:`on_stats` is librdkafka's ``stats_cb`` (called from the thread that
    polls the client); :meth:`attach` puts it and ``statistics.interval.ms`` into
    a client's settings.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, int] | None = None
        self._count = 0
        self._errors = 0

    def on_stats(self, text: str) -> None:
        try:
            summary = kafka_summary(json.loads(text))
        except (ValueError, TypeError, AttributeError):
            with self._lock:
                self._errors += 1
            return
        with self._lock:
            self._last = summary
            self._count += 1

    def attach(self, settings: dict[str, Any], interval_ms: int = 60_000) -> dict[str, Any]:
        """Ask for statistics every ``interval_ms`` into this collector (settings changed in
        place and returned). A ``stats_cb`` already there is called too."""
        previous = settings.get("stats_cb")

        def both(text: str) -> None:
            self.on_stats(text)
            if callable(previous):
                previous(text)

        settings["statistics.interval.ms"] = int(interval_ms)
        settings["stats_cb"] = both if callable(previous) else self.on_stats
        return settings

    def snapshot(self) -> dict[str, int] | None:
        with self._lock:
            if self._last is None:
                return None
            return {**self._last, "stats_received": self._count, "stats_errors": self._errors}
