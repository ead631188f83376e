"""Alarms: catch-up from the newest snapshot vs replaying the day, ingest vs raw consume, latency.

``python -m bench alarms [--quick] [--changes N] [--active N] [--ingest N] [--live-s S]``

Starts its own Kafka-protocol broker (tansu, memory storage, loopback) and runs
everything in this one process.

Catch-up
    A day's topic is written the way the server writes it: a snapshot first,
    then ``--changes`` change records (raise / ack / clear over a population
    kept near ``--active`` active alarms), with a full snapshot every
    ``--snapshot-every`` changes; every record names the first offset of the
    newest complete snapshot. *Ours*: an :class:`AlarmFeed` (its own consumer
    thread) from start until it is live and its list equals the expected set.
    *Baseline*: a plain consumer from offset 0 that decodes and applies every
    record of the day to an :class:`AlarmList`. Both lists are checked against
    the expected active set; a wrong answer fails the benchmark.

Ingest
    The same ``--ingest`` records consumed twice per round, interleaved: raw
    (``consume()`` counting messages) and ours (decode + ``AlarmList.apply`` +
    the Qt table model's row-level update, offscreen). ``ingest_ratio`` is
    ours / raw (target >= 0.5).

Live
    A producer thread writes 1000 changes/s for ``--live-s`` seconds; an
    :class:`AlarmService` on an asyncio loop applies them; the latency from
    produce to applied-in-the-list is measured per change (p50, p99).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from app.alarms.consumer import AlarmFeed, Delivered, FeedSettings, FeedState
from app.alarms.model import AlarmList
from app.alarms.records import (
    AlarmEvent,
    EventType,
    Priority,
    Record,
    RecordType,
    decode_record,
    encode_record,
    record_key,
    snapshot_records,
    topic_for,
)
from app.alarms.service import AlarmService
from app.services import TansuProcess

TZ = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Options:
    changes: int
    active: int
    snapshot_every: int
    ingest: int
    rounds: int
    live_s: float
    live_rate: int
    quick: bool


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench alarms", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    p.add_argument("--changes", type=int, help="change records in the day's topic (1000000)")
    p.add_argument("--active", type=int, help="active alarms at the end of the day (10000)")
    p.add_argument("--snapshot-every", type=int, help="changes between snapshots (50000)")
    p.add_argument("--ingest", type=int, help="records per ingest round (200000)")
    p.add_argument("--rounds", type=int, help="ingest rounds (3)")
    p.add_argument("--live-s", type=float, help="seconds of live traffic at 1000/s (10)")
    a = p.parse_args(argv)
    q = bool(a.quick)
    return Options(
        changes=a.changes or (20_000 if q else 1_000_000),
        active=a.active or (1_000 if q else 10_000),
        snapshot_every=a.snapshot_every or (5_000 if q else 50_000),
        ingest=a.ingest or (10_000 if q else 200_000),
        rounds=a.rounds or (1 if q else 3),
        live_s=a.live_s or (2.0 if q else 10.0),
        live_rate=1000,
        quick=q,
    )


# -- a day of records -----------------------------------------------------------------


class Day:
    """Writes a topic the way the server does and keeps the expected active set."""

    def __init__(self, bootstrap: str, topic: str, seed: int = 1) -> None:
        self.topic = topic
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "linger.ms": 20,
                "batch.num.messages": 10_000,
                "queue.buffering.max.messages": 1_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
                "logger": logging.getLogger("librdkafka"),
            }
        )
        self.rng = random.Random(seed)
        self.rows: dict[str, AlarmEvent] = {}
        self.ids: list[str] = []  # the rows' ids, for random picks (swap-remove)
        self.pos: dict[str, int] = {}
        self.seq = 0
        self.offset = 0  # next offset: one partition, one producer
        self.snapshot_offset = -1
        self.n = 0

    def _send(self, rec: Record) -> int:
        off = self.offset
        while True:
            try:
                self.producer.produce(self.topic, key=record_key(rec), value=encode_record(rec))
                break
            except BufferError:
                self.producer.poll(0.05)
        self.offset += 1
        return off

    def _track(self, e: AlarmEvent) -> None:
        aid = e.alarm_id
        if e.active or not e.acked:
            if aid not in self.rows:
                self.pos[aid] = len(self.ids)
                self.ids.append(aid)
            self.rows[aid] = e
            return
        self.rows.pop(aid, None)
        i = self.pos.pop(aid)
        last = self.ids.pop()
        if i < len(self.ids):
            self.ids[i] = last
            self.pos[last] = i

    def change(self, e: AlarmEvent) -> None:
        self.seq += 1
        self._track(e)
        self._send(Record(RecordType.CHANGE, "A", self.seq, e.event_ms, self.snapshot_offset, e))

    def snapshot(self) -> None:
        parts = snapshot_records(
            list(self.rows.values()),
            snapshot_id=f"s{self.seq}",
            server="A",
            seq=self.seq,
            ms=int(time.time() * 1000),
            snapshot_offset=self.snapshot_offset,
        )
        first = self._send(parts[0])
        for part in parts[1:]:
            self._send(part)
        self.snapshot_offset = first

    def new_alarm(self, now: int) -> AlarmEvent:
        self.n += 1
        p = Priority(self.rng.choice((1, 2, 2, 3, 3, 3, 4, 4)))
        dev = f"W{self.rng.randrange(5000):04d}"
        return AlarmEvent(
            alarm_id=f"A{self.n}",
            event=EventType.RAISE,
            device=dev,
            station=f"S{self.rng.randrange(1, 24):02d}",
            zone=f"Z{self.rng.randrange(1, 7)}",
            priority=p,
            kind="switch_lost",
            code="ALM-SW-001",
            text_zh=f"道岔{dev}失去表示",
            text_en=f"switch {dev} lost its position",
            raised_ms=now,
            event_ms=now,
            active=True,
            acked=False,
        )

    def step(self, target_active: int) -> None:
        now = int(time.time() * 1000)
        if len(self.ids) < target_active or not self.ids:
            self.change(self.new_alarm(now))
            return
        row = self.rows[self.ids[self.rng.randrange(len(self.ids))]]
        if row.active and (row.acked or self.rng.random() < 0.5):
            self.change(replace(row, event=EventType.CLEAR, event_ms=now, active=False))
        else:
            self.change(replace(row, event=EventType.ACK, event_ms=now, acked=True, by="d1"))

    def expected(self) -> dict[str, tuple[bool, bool]]:
        return {aid: (e.active, e.acked) for aid, e in self.rows.items()}


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)


def as_flags(alarms: AlarmList) -> dict[str, tuple[bool, bool]]:
    out = {}
    for r in alarms.active():
        e = r.snapshot_event()
        out[r.alarm_id] = (e.active, e.acked)
    return out


def write_day(bootstrap: str, opts: Options) -> tuple[Day, float]:
    topic = topic_for("benchday", int(time.time() * 1000), TZ)
    create_topic(bootstrap, topic)
    day = Day(bootstrap, topic)
    t0 = time.perf_counter()
    day.snapshot()
    for i in range(1, opts.changes + 1):
        day.step(opts.active)
        if i % opts.snapshot_every == 0:
            day.snapshot()
        if i % 10_000 == 0:
            day.producer.poll(0)
    left = day.producer.flush(120)
    if left:
        raise RuntimeError(f"{left} records not delivered")
    return day, time.perf_counter() - t0


# -- catch-up ---------------------------------------------------------------------------


def catch_up_ours(bootstrap: str, day: Day) -> tuple[float, int]:
    alarms = AlarmList()
    done = threading.Event()
    lock = threading.Lock()
    first: list[int] = []
    expected = day.expected()

    def deliver(batch: list[Delivered]) -> None:
        with lock:
            if not first:
                first.append(batch[0].offset)
            alarms.apply_all(d.record for d in batch)

    def status(st: Any) -> None:
        if st.state is FeedState.LIVE:
            done.set()

    feed = AlarmFeed(
        FeedSettings(bootstrap, prefix="benchday", timezone=TZ), deliver=deliver, status=status
    )
    t0 = time.perf_counter()
    feed.start()
    try:
        if not done.wait(120):
            raise RuntimeError("the feed did not catch up within 120 s")
        elapsed = time.perf_counter() - t0
    finally:
        feed.stop()
    with lock:
        got = as_flags(alarms)
    if got != expected:
        raise RuntimeError(f"feed list wrong: {len(got)} alarms, expected {len(expected)}")
    return elapsed, first[0] if first else -1


def consumer(bootstrap: str, **extra: Any) -> Consumer:
    return Consumer(
        extra
        | {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{random.random()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
            "logger": logging.getLogger("librdkafka"),
        }
    )


def full_replay(bootstrap: str, day: Day) -> float:
    alarms = AlarmList()
    c = consumer(bootstrap)
    t0 = time.perf_counter()
    c.assign([TopicPartition(day.topic, 0, 0)])
    read = 0
    try:
        while read < day.offset:
            for msg in c.consume(1000, 1.0):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF and read >= day.offset:
                        break
                    continue
                alarms.apply(decode_record(msg.value(), "replay"))
                read += 1
        elapsed = time.perf_counter() - t0
    finally:
        c.close()
    if as_flags(alarms) != day.expected():
        raise RuntimeError("full replay list wrong")
    return elapsed


# -- ingest -------------------------------------------------------------------------------


def ingest(bootstrap: str, day: Day, n: int, rounds: int) -> tuple[float, float, float, str]:
    model_kind = "decode + AlarmList + Qt table model"
    try:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from ui.alarmlist import AlarmTableModel

        app = QApplication.instance() or QApplication([sys.argv[0]])
    except Exception:  # no Qt here: the model alone
        AlarmTableModel = None  # type: ignore[assignment,misc]
        app = None
        model_kind = "decode + AlarmList (no Qt)"
    start = max(0, day.offset - n)
    raw_rates, ours_rates = [], []

    json_rates: list[float] = []

    def run(mode: str) -> float:
        c = consumer(bootstrap)
        alarms = AlarmList()
        table = AlarmTableModel(alarms) if mode == "ours" and AlarmTableModel is not None else None
        c.assign([TopicPartition(day.topic, 0, start)])
        count = 0
        t0 = time.perf_counter()
        try:
            while count < n:
                msgs = [m for m in c.consume(1000, 1.0) if m.error() is None]
                count += len(msgs)
                if mode == "json":
                    for m in msgs:
                        json.loads(m.value() or b"")
                elif mode == "ours":
                    # As the HMI does: a batch from the feed, applied, the table told once.
                    changes = alarms.apply_all(decode_record(m.value(), "ingest") for m in msgs)
                    if table is not None and changes:
                        table.apply(changes)
            return count / (time.perf_counter() - t0)
        finally:
            c.close()

    for _ in range(rounds):
        raw_rates.append(run("raw"))
        ours_rates.append(run("ours"))
        json_rates.append(run("json"))
    del app
    return (
        statistics.median(ours_rates),
        statistics.median(raw_rates),
        statistics.median(json_rates),
        model_kind,
    )


# -- live ---------------------------------------------------------------------------------


def live(bootstrap: str, opts: Options) -> tuple[list[float], list[float]]:
    topic = topic_for("benchlive", int(time.time() * 1000), TZ)
    create_topic(bootstrap, topic)
    day = Day(bootstrap, topic, seed=2)
    day.producer = Producer(
        # as the server's producer: a few ms of linger (1000 one-record requests a
        # second would measure the broker's request rate, not the path to the list)
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "logger": logging.getLogger("librdkafka")}
    )
    day.snapshot()
    day.producer.flush(10)
    latencies: list[float] = []
    raw_latencies: list[float] = []
    raw_stop = threading.Event()

    def raw_reader() -> None:
        # The baseline: a plain consumer reading the same records, no decoding beyond
        # the one field, no list: what the broker and librdkafka cost by themselves.
        c = consumer(bootstrap, **{"fetch.wait.max.ms": 10})  # as eager as the feed
        c.assign([TopicPartition(topic, 0, day.offset)])
        try:
            while not raw_stop.is_set():
                for msg in c.consume(1000, 0.05):
                    if msg.error() is None:
                        event_ms = json.loads(msg.value() or b"{}")["body"]["event_ms"]
                        raw_latencies.append(time.time() * 1000 - event_ms)
        finally:
            c.close()

    async def main() -> None:
        service = AlarmService(FeedSettings(bootstrap, prefix="benchlive", timezone=TZ))

        def on_changed(changes: Any) -> None:
            now = time.time() * 1000
            for aid in changes.added | changes.updated:
                row = service.list.get(aid)
                if row is not None:
                    latencies.append(now - row.event.event_ms)

        service.changed.connect(on_changed)
        service.start()
        async with asyncio.timeout(30):
            while service.status.state is not FeedState.LIVE:
                await asyncio.sleep(0.01)
        stop = threading.Event()
        raw = threading.Thread(target=raw_reader, daemon=True)
        raw.start()
        await asyncio.sleep(0.5)

        def produce() -> None:
            period = 1.0 / opts.live_rate
            t_next = time.perf_counter()
            end = t_next + opts.live_s
            while t_next < end and not stop.is_set():
                now = int(time.time() * 1000)
                day.change(day.new_alarm(now))
                day.producer.poll(0)
                t_next += period
                delay = t_next - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            day.producer.flush(10)

        thread = threading.Thread(target=produce, daemon=True)
        thread.start()
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        await asyncio.sleep(1.0)
        stop.set()
        raw_stop.set()
        raw.join(5)
        await service.close()

    asyncio.run(main())
    return latencies, raw_latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(argv: list[str]) -> dict[str, Any]:
    opts = parse_args(argv)
    # Latency first, on a broker of its own and before this process holds a day of
    # records: collecting that garbage stalls every thread here, producer included.
    fresh = TansuProcess().start()
    try:
        lat, raw_lat = live(fresh.bootstrap, opts)
    finally:
        fresh.stop()
    broker = TansuProcess().start()
    try:
        day, write_s = write_day(broker.bootstrap, opts)
        print(
            f"alarms, tansu on loopback, Python {platform.python_version()}; a day of "
            f"{opts.changes} changes + snapshots every {opts.snapshot_every} "
            f"({day.offset} records, written in {write_s:.1f} s), {len(day.rows)} alarms at the end"
        )
        catchup_s, started_at = catch_up_ours(broker.bootstrap, day)
        replay_s = full_replay(broker.bootstrap, day)
        ours_rate, raw_rate, json_rate, model_kind = ingest(
            broker.bootstrap, day, opts.ingest, opts.rounds
        )
    finally:
        broker.stop()
    speedup = replay_s / catchup_s
    ratio = ours_rate / raw_rate
    p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
    raw50, raw99 = pct(raw_lat, 0.5), pct(raw_lat, 0.99)
    print(f"{'':44}{'ours':>14}{'baseline':>22}{'ratio':>9}  target")
    print(
        f"{'catch-up to a correct list (s)':44}{catchup_s:>14.3f}"
        f"{replay_s:>16.3f} replay{speedup:>9.1f}  >= 10, < 1 s"
    )
    print(f"  the feed started at offset {started_at} (newest snapshot at {day.snapshot_offset})")
    print(
        f"{'ingest records/s (' + model_kind + ')':44}"[:44]
        + f"{ours_rate:>14.0f}{raw_rate:>19.0f} raw{ratio:>9.2f}  >= 0.5"
    )
    print(f"  ours = {model_kind}, per feed batch (up to 1000 records)")
    print(
        f"  consume + json.loads only: {json_rate:.0f}/s; ours / that = {ours_rate / json_rate:.2f}"
    )
    print(
        f"{'live produce -> in the list, p50 / p99 (ms)':44}{p50:>8.1f} / {p99:.1f}"
        "  at 1000 alarms/s"
    )
    print(f"  plain consumer on the same records: p50 / p99 {raw50:.1f} / {raw99:.1f} ms")
    return {
        "config": {
            "changes": opts.changes,
            "active_at_end": len(day.rows),
            "records": day.offset,
            "snapshot_every": opts.snapshot_every,
            "ingest_records": opts.ingest,
            "live_s": opts.live_s,
            "quick": opts.quick,
            "python": platform.python_version(),
        },
        "catchup_s": round(catchup_s, 4),
        "catchup_start_offset": started_at,
        "newest_snapshot_offset": day.snapshot_offset,
        "full_replay_s": round(replay_s, 3),
        "catchup_speedup": round(speedup, 1),
        "ingest_per_s": round(ours_rate),
        "raw_consume_per_s": round(raw_rate),
        "ingest_ratio": round(ratio, 3),
        "ingest_includes": model_kind,
        "json_only_consume_per_s": round(json_rate),
        "ingest_ratio_vs_json_only": round(ours_rate / json_rate, 3),
        "live_p50_ms": round(p50, 2),
        "live_p99_ms": round(p99, 2),
        "raw_live_p50_ms": round(raw50, 2),
        "raw_live_p99_ms": round(raw99, 2),
        "live_p99_ratio_vs_raw": round(p99 / raw99, 2) if raw99 > 0 else None,
        "live_samples": len(lat),
    }
