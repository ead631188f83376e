"""Alarms: catch-up from the newest snapshot vs replaying the day, ingest vs raw consume, latency.

``python -m bench alarms [--quick] [--changes N] [--active N] [--snapshot-every N] [--tail N]
[--ingest N] [--rounds N] [--live-s S]``

Starts its own Kafka-protocol brokers (tansu, memory storage, loopback) and
runs everything in this one process.

Catch-up
    A day's topic (one partition) is written the way the server writes it: a
    snapshot first, then ``--changes`` change records (raise / ack / clear over
    a population kept near ``--active`` active alarms), with a full snapshot of
    the active set every ``--snapshot-every`` changes, placed so that ``--tail``
    changes follow the newest one (default: half an interval, where a
    dispatcher starting at a random moment lands on average; ``--tail 0`` is
    the best case). Every record names the first offset of the newest complete
    snapshot; the offsets are checked against the producer's delivery reports.
    *Ours*: an :class:`AlarmFeed` (its own consumer thread) from start until it
    is live and its list equals the expected set; the time is split into
    *locate* (finding the newest snapshot) and *read* (snapshot + tail).
    *Baseline*: a plain consumer from offset 0 that decodes and applies every
    record of the day to an :class:`AlarmList`. Both lists are checked against
    the expected active set; a wrong answer fails the benchmark.

Ingest
    The same ``--ingest`` records (from a snapshot on, so every change meets its
    alarm) consumed per round, interleaved: raw (``consume()`` counting
    messages), consume + ``json.loads``, and ours (decode + ``AlarmList.apply``
    + the Qt table model's row-level update, offscreen, once per batch as the
    HMI does). ``ingest_ratio`` is ours / raw (target >= 0.5).

Live
    A producer thread writes 1000 new alarms/s for ``--live-s`` seconds (the
    server's 5 ms linger), noting each one's produce time by alarm id. An
    :class:`AlarmService` on the HMI's loop (asyncio on Qt through qasync, with
    the window's :class:`AlarmBridge` coalescing changes per frame into the
    :class:`AlarmTableModel`) applies them: latency to the list and to the
    table row (p50, p99). Baseline: a plain consumer that waits for a record
    and takes what is fetched (as the feed does), no decoding.
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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from app.alarms.consumer import AlarmFeed, Delivered, FeedSettings, FeedState, FeedStatus
from app.alarms.model import AlarmChanges, AlarmList
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
from app.counterparts.services import TansuProcess

TZ = "Asia/Shanghai"
LIVE_RATE = 1000  # new alarms per second


@dataclass(frozen=True, slots=True)
class Options:
    changes: int
    active: int
    snapshot_every: int
    tail: int
    ingest: int
    rounds: int
    live_s: float
    quick: bool


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench alarms", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    p.add_argument("--changes", type=int, help="change records in the day's topic (1000000)")
    p.add_argument("--active", type=int, help="active alarms at the end of the day (10000)")
    p.add_argument("--snapshot-every", type=int, help="changes between snapshots (50000)")
    p.add_argument(
        "--tail", type=int, help="changes after the newest snapshot (half an interval; 0: best)"
    )
    p.add_argument("--ingest", type=int, help="records per ingest round (200000)")
    p.add_argument("--rounds", type=int, help="interleaved ingest rounds (3)")
    p.add_argument("--live-s", type=float, help="seconds of live traffic at 1000/s (10)")
    a = p.parse_args(argv)
    q = bool(a.quick)
    changes = a.changes or (20_000 if q else 1_000_000)
    every = a.snapshot_every or (5_000 if q else 50_000)
    tail = a.tail if a.tail is not None else min(every, changes) // 2
    if changes < 1 or every < 1 or not 0 <= tail < changes:
        p.error("need --changes >= 1, --snapshot-every >= 1 and 0 <= --tail < --changes")
    return Options(
        changes=changes,
        active=a.active or (1_000 if q else 10_000),
        snapshot_every=every,
        tail=tail,
        ingest=a.ingest or (10_000 if q else 200_000),
        rounds=a.rounds or (1 if q else 3),
        live_s=a.live_s or (2.0 if q else 10.0),
        quick=q,
    )


# -- a day of records -----------------------------------------------------------------


class Day:
    """Writes a topic the way the server does and keeps the expected active set.

    One partition and one producer: the record written n-th gets offset n - 1,
    which ``snapshot_offset`` relies on; the delivery reports confirm it.
    """

    def __init__(self, bootstrap: str, topic: str, *, seed: int = 1, linger_ms: int = 20) -> None:
        self.topic = topic
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "linger.ms": linger_ms,
                "batch.num.messages": 10_000,
                "batch.size": 4_194_304,
                "compression.type": "none",
                "queue.buffering.max.messages": 1_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
                "on_delivery": self._on_delivery,
                "logger": logging.getLogger("librdkafka"),
            }
        )
        self.rng = random.Random(seed)
        self.rows: dict[str, AlarmEvent] = {}
        self.ids: list[str] = []  # the rows' ids, for random picks (swap-remove)
        self.pos: dict[str, int] = {}
        self.seq = 0
        self.offset = 0  # the next record's offset
        self.snapshot_offset = -1  # first part of the newest complete snapshot
        self.snapshots: list[int] = []  # every snapshot's first offset
        self.n = 0
        self.delivered = 0
        self.misplaced: list[str] = []  # delivery reports that contradict our offsets

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        # Reports come in order per partition: the k-th one must be offset k - 1.
        if err is not None:
            self.misplaced.append(f"record {self.delivered}: {err.str()}")
        elif msg.partition() != 0 or msg.offset() != self.delivered:
            self.misplaced.append(
                f"record {self.delivered} landed at {msg.partition()}/{msg.offset()}"
            )
        self.delivered += 1

    def flush(self, timeout_s: float) -> None:
        left = self.producer.flush(timeout_s)
        if left:
            raise RuntimeError(f"{self.topic}: {left} records not delivered in {timeout_s} s")
        if self.misplaced or self.delivered != self.offset:
            raise RuntimeError(
                f"{self.topic}: {self.delivered} delivery reports for {self.offset} records;"
                f" {len(self.misplaced)} wrong, first: {self.misplaced[:3]}"
            )

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
        self.snapshots.append(first)

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
    """The day: a snapshot, the changes, a snapshot every interval; ``tail`` after the last."""
    topic = topic_for("benchday", int(time.time() * 1000), TZ)
    create_topic(bootstrap, topic)
    day = Day(bootstrap, topic)
    last = opts.changes - opts.tail  # the newest snapshot follows this change
    t0 = time.perf_counter()
    day.snapshot()
    for i in range(1, opts.changes + 1):
        day.step(opts.active)
        if i <= last and (last - i) % opts.snapshot_every == 0:
            day.snapshot()
        if i % 10_000 == 0:
            day.producer.poll(0)
    day.flush(120)
    return day, time.perf_counter() - t0


# -- catch-up ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatchUp:
    seconds: float  # start to live with the right list
    locate_s: float  # start to the first offset chosen (the newest snapshot found)
    start_offset: int  # where the feed started reading
    records: int  # records it delivered before it was live


def catch_up_ours(bootstrap: str, day: Day) -> CatchUp:
    alarms = AlarmList()
    done = threading.Event()
    lock = threading.Lock()
    marks: dict[str, float] = {}
    first: list[int] = []
    delivered = [0]
    live_status: list[FeedStatus] = []
    expected = day.expected()
    t0 = 0.0  # set just before the feed starts

    def deliver(batch: list[Delivered]) -> None:
        with lock:
            if not first:
                first.append(batch[0].offset)
            delivered[0] += len(batch)
            alarms.apply_all(d.record for d in batch)

    def status(st: FeedStatus) -> None:
        marks.setdefault(st.state.value, time.perf_counter() - t0)
        if st.state is FeedState.LIVE and not live_status:
            live_status.append(st)
            done.set()

    feed = AlarmFeed(
        FeedSettings(bootstrap, prefix="benchday", timezone=TZ), deliver=deliver, status=status
    )
    t0 = time.perf_counter()
    feed.start()
    try:
        if not done.wait(120):
            raise RuntimeError("the feed did not catch up within 120 s")
        with lock:  # deliveries come before the LIVE status, from the same thread
            elapsed = time.perf_counter() - t0
            got = as_flags(alarms)
            records = delivered[0]
    finally:
        feed.close()
    start = first[0] if first else -1
    if got != expected:
        st = live_status[0]
        raise RuntimeError(
            f"the feed said LIVE with a wrong list: {len(got)} alarms, expected"
            f" {len(expected)}; it started at offset {start}, was at {st.offset} of"
            f" {day.offset} records, {records} delivered"
        )
    locate = marks.get(FeedState.CATCHING_UP.value, elapsed)
    return CatchUp(elapsed, locate, start, records)


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
                if msg.error() is not None:
                    continue
                alarms.apply(decode_record(msg.value(), "replay"))
                read += 1
        elapsed = time.perf_counter() - t0
    finally:
        c.close()
    got = as_flags(alarms)
    if got != day.expected():
        raise RuntimeError(f"full replay list wrong: {len(got)} alarms, expected {len(day.rows)}")
    return elapsed


# -- Qt, when it is there -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Qt:
    app: Any  # the QApplication
    table_model: Any  # ui.alarmtable.AlarmTableModel
    bridge: Any  # ui.bridge.AlarmBridge


def load_qt() -> tuple[Qt | None, str]:
    """The HMI's table model on an offscreen QApplication, or None and why not."""
    try:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from ui.alarmtable import AlarmTableModel
        from ui.bridge import AlarmBridge
    except Exception as exc:  # no Qt here: the list alone, and say so
        return None, f"{type(exc).__name__}: {exc}"
    app = QApplication.instance() or QApplication([sys.argv[0]])
    return Qt(app, AlarmTableModel, AlarmBridge), ""


def run_loop(qt: Qt | None, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``main`` on the HMI's kind of loop: asyncio on Qt's loop (qasync), else plain asyncio."""
    if qt is None:
        asyncio.run(main())
        return
    import qasync

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(qt.app)) as runner:
        runner.run(main())


# -- ingest -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ingest:
    ours: float  # records/s
    raw: float
    json_only: float
    decode_us: float  # per record, ours
    apply_us: float
    table_us: float
    start: int


def ingest(bootstrap: str, day: Day, qt: Qt | None, n: int, rounds: int) -> Ingest:
    # From a snapshot on: a list that starts mid-day would ignore changes to alarms it
    # has never seen, which is cheaper than the real thing.
    fits = [s for s in day.snapshots if s <= day.offset - n]
    start = fits[-1] if fits else 0
    n = min(n, day.offset - start)
    rates: dict[str, list[float]] = {"raw": [], "json": [], "ours": []}
    parts = {"decode": 0.0, "apply": 0.0, "table": 0.0}

    def one(mode: str) -> float:
        c = consumer(bootstrap)
        alarms = AlarmList()
        table = qt.table_model(alarms) if mode == "ours" and qt is not None else None
        c.assign([TopicPartition(day.topic, 0, start)])
        count = 0
        pc = time.perf_counter
        t0 = pc()
        try:
            while count < n:
                msgs = [m for m in c.consume(min(1000, n - count), 1.0) if m.error() is None]
                count += len(msgs)
                if mode == "json":
                    for m in msgs:
                        json.loads(m.value() or b"")
                elif mode == "ours":
                    # As the HMI does: a batch from the feed, applied, the table told once.
                    a = pc()
                    records = [decode_record(m.value(), "ingest") for m in msgs]
                    b = pc()
                    changes = alarms.apply_all(records)
                    c_ = pc()
                    if table is not None and changes:
                        table.apply(changes)
                    parts["decode"] += b - a
                    parts["apply"] += c_ - b
                    parts["table"] += pc() - c_
            return count / (pc() - t0)
        finally:
            c.close()

    for _ in range(rounds):
        for mode in ("raw", "ours", "json"):
            rates[mode].append(one(mode))
    per = 1e6 / (n * rounds)
    return Ingest(
        ours=statistics.median(rates["ours"]),
        raw=statistics.median(rates["raw"]),
        json_only=statistics.median(rates["json"]),
        decode_us=parts["decode"] * per,
        apply_us=parts["apply"] * per,
        table_us=parts["table"] * per,
        start=start,
    )


# -- live ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Live:
    to_list: list[float]  # ms, produce -> applied to the AlarmList
    to_row: list[float]  # ms, produce -> row inserted in the table model
    raw: list[float]  # ms, produce -> a plain consumer has it
    produced: int = 0


def live(bootstrap: str, qt: Qt | None, opts: Options) -> Live:
    topic = topic_for("benchlive", int(time.time() * 1000), TZ)
    create_topic(bootstrap, topic)
    # As the server's producer: a few ms of linger (1000 one-record requests a
    # second would measure the broker's request rate, not the path to the list).
    day = Day(bootstrap, topic, seed=2, linger_ms=5)
    day.snapshot()
    day.flush(10)
    sent: dict[str, float] = {}  # alarm id -> perf_counter() when produced
    out = Live([], [], [])
    raw_stop = threading.Event()

    def raw_reader() -> None:
        # A plain consumer of the same records: waits for one, takes what is already
        # fetched (as the feed does), looks the key up; no decoding, no list.
        c = consumer(bootstrap, **{"fetch.wait.max.ms": 10})  # as eager as the feed
        c.assign([TopicPartition(topic, 0, day.offset)])
        try:
            while not raw_stop.is_set():
                first = c.poll(0.05)
                if first is None:
                    continue
                for msg in [first, *c.consume(999, 0)]:
                    if msg.error() is None:
                        t = sent.get((msg.key() or b"").decode())
                        if t is not None:
                            out.raw.append((time.perf_counter() - t) * 1000)
        finally:
            c.close()

    def produce(stop: threading.Event) -> None:
        period = 1.0 / LIVE_RATE
        t_next = time.perf_counter()
        end = t_next + opts.live_s
        while t_next < end and not stop.is_set():
            e = day.new_alarm(int(time.time() * 1000))
            sent[e.alarm_id] = time.perf_counter()
            day.change(e)
            day.producer.poll(0)
            out.produced += 1
            t_next += period
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        day.flush(10)

    async def main() -> None:
        service = AlarmService(FeedSettings(bootstrap, prefix="benchlive", timezone=TZ))

        def on_changed(changes: AlarmChanges) -> None:
            now = time.perf_counter()
            for aid in changes.added:
                t = sent.get(aid)
                if t is not None:
                    out.to_list.append((now - t) * 1000)

        service.changed.connect(on_changed)
        bridge: Any = None
        if qt is not None:
            # The window's path: the bridge merges changes per frame, the model inserts rows.
            model = qt.table_model(service.list)
            bridge = qt.bridge(service)
            bridge.changed.connect(model.apply)

            def on_rows(_parent: Any, first: int, last: int) -> None:
                now = time.perf_counter()
                for r in range(first, last + 1):
                    row = model.row_at(r)
                    t = sent.get(row.alarm_id) if row is not None else None
                    if t is not None:
                        out.to_row.append((now - t) * 1000)

            model.rowsInserted.connect(on_rows)
        service.start()
        async with asyncio.timeout(30):
            while service.status.state is not FeedState.LIVE:
                await asyncio.sleep(0.01)
        raw = threading.Thread(target=raw_reader, name="bench-raw-reader", daemon=True)
        raw.start()
        await asyncio.sleep(0.5)
        stop = threading.Event()
        producer = threading.Thread(target=produce, args=(stop,), name="bench-producer")
        producer.start()
        try:
            await asyncio.get_running_loop().run_in_executor(None, producer.join)
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            raw_stop.set()
            raw.join(5)
            if bridge is not None:
                bridge.close()
            await service.aclose()

    run_loop(qt, main)
    return out


# -- the run ------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def table(res: dict[str, Any]) -> str:
    to = res["live_measured_to"]
    rows = [
        ("", "ours", "baseline", "ratio", "target"),
        (
            "catch-up to a correct list (s)",
            f"{res['catchup_s']:.3f}",
            f"{res['full_replay_s']:.3f} replay from 0",
            f"{res['catchup_speedup']:.1f}x",
            ">= 10x, < 1 s",
        ),
        (
            "  locate newest snapshot / read to live (s)",
            f"{res['catchup_locate_s']:.3f} / {res['catchup_read_s']:.3f}",
            "",
            "",
            "",
        ),
        (
            "ingest (records/s)",
            f"{res['ingest_per_s']:.0f}",
            f"{res['raw_consume_per_s']:.0f} raw consume",
            f"{res['ingest_ratio']:.2f}",
            ">= 0.5",
        ),
        (
            "  vs consume + json.loads only",
            "",
            f"{res['json_only_consume_per_s']:.0f}",
            f"{res['ingest_ratio_vs_json_only']:.2f}",
            "",
        ),
        (
            "  per record: decode / list / table (us)",
            f"{res['ingest_decode_us']:.1f} / {res['ingest_apply_us']:.1f}"
            f" / {res['ingest_table_us']:.1f}",
            "",
            "",
            "",
        ),
        (
            f"live p50 / p99, produce -> {to} (ms)",
            f"{res['live_p50_ms']:.1f} / {res['live_p99_ms']:.1f}",
            f"{res['raw_live_p50_ms']:.1f} / {res['raw_live_p99_ms']:.1f} plain consumer",
            f"{res['live_p99_ratio_vs_raw']:.2f}" if res["live_p99_ratio_vs_raw"] else "",
            "p99 reported",
        ),
        (
            "  produce -> in the list p50 / p99 (ms)",
            f"{res['live_list_p50_ms']:.1f} / {res['live_list_p99_ms']:.1f}",
            "",
            "",
            "",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def run(argv: list[str]) -> dict[str, Any]:
    """The ``alarms`` benchmark: prints the table, returns the figures (see the module doc)."""
    opts = parse_args(argv)
    started = time.perf_counter()
    qt, no_qt = load_qt()
    model_kind = "decode + AlarmList + Qt table model" if qt else "decode + AlarmList (no Qt)"
    # Latency first, on a broker of its own and before this process holds a day of
    # records: collecting that garbage stalls every thread here, producer included.
    fresh = TansuProcess().start()
    try:
        lat = live(fresh.bootstrap, qt, opts)
    finally:
        fresh.stop()
    broker = TansuProcess().start()
    try:
        day, write_s = write_day(broker.bootstrap, opts)
        ours = catch_up_ours(broker.bootstrap, day)
        replay_s = full_replay(broker.bootstrap, day)
        ing = ingest(broker.bootstrap, day, qt, opts.ingest, opts.rounds)
    finally:
        broker.stop()
    to_row = bool(lat.to_row)
    headline = lat.to_row if to_row else lat.to_list
    p99 = pct(headline, 0.99)
    raw99 = pct(lat.raw, 0.99)
    res: dict[str, Any] = {
        "catchup_s": round(ours.seconds, 4),
        "catchup_locate_s": round(ours.locate_s, 4),
        "catchup_read_s": round(ours.seconds - ours.locate_s, 4),
        "catchup_records_read": ours.records,
        "catchup_start_offset": ours.start_offset,
        "newest_snapshot_offset": day.snapshot_offset,
        "changes_after_snapshot": opts.tail,
        "full_replay_s": round(replay_s, 3),
        "catchup_speedup": round(replay_s / ours.seconds, 1),
        "ingest_per_s": round(ing.ours),
        "raw_consume_per_s": round(ing.raw),
        "ingest_ratio": round(ing.ours / ing.raw, 3),
        "ingest_includes": model_kind,
        "json_only_consume_per_s": round(ing.json_only),
        "ingest_ratio_vs_json_only": round(ing.ours / ing.json_only, 3),
        "ingest_decode_us": round(ing.decode_us, 2),
        "ingest_apply_us": round(ing.apply_us, 2),
        "ingest_table_us": round(ing.table_us, 2),
        "live_measured_to": "table row" if to_row else "list",
        "live_p50_ms": round(pct(headline, 0.5), 2),
        "live_p99_ms": round(p99, 2),
        "live_list_p50_ms": round(pct(lat.to_list, 0.5), 2),
        "live_list_p99_ms": round(pct(lat.to_list, 0.99), 2),
        "raw_live_p50_ms": round(pct(lat.raw, 0.5), 2),
        "raw_live_p99_ms": round(raw99, 2),
        "live_p99_ratio_vs_raw": round(p99 / raw99, 2) if raw99 > 0 else None,
        "live_samples": len(headline),
        "live_produced": lat.produced,
    }
    print(
        f"alarms, tansu on loopback, Python {platform.python_version()} on {sys.platform}; a day"
        f" of {opts.changes} changes, a snapshot every {opts.snapshot_every}, {opts.tail} after"
        f" the newest ({day.offset} records, written in {write_s:.1f} s, offsets confirmed by"
        f" delivery reports), {len(day.rows)} alarms at the end"
    )
    print(table(res))
    print(
        f"the feed started at offset {ours.start_offset} (newest snapshot at"
        f" {day.snapshot_offset}; {day.offset} records) and read {ours.records} records;"
        f" ingest: {opts.rounds} interleaved rounds of {min(opts.ingest, day.offset - ing.start)}"
        f" records from the snapshot at {ing.start}; ours = {model_kind}"
        + (f" ({no_qt})" if no_qt else "")
        + f"; live: {lat.produced} alarms at {LIVE_RATE}/s, {len(lat.to_list)} seen in the list"
        + (f", {len(lat.to_row)} as table rows" if to_row else "")
    )
    res["config"] = {
        "changes": opts.changes,
        "active_at_end": len(day.rows),
        "records": day.offset,
        "snapshot_every": opts.snapshot_every,
        "tail": opts.tail,
        "ingest_records": opts.ingest,
        "rounds": opts.rounds,
        "live_s": opts.live_s,
        "live_rate": LIVE_RATE,
        "quick": opts.quick,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return res
