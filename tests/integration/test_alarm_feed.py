"""The HMI's alarm feed against a real Kafka-protocol broker (tansu).

A small producer written here from the record format stands in for the
server, so these tests check the feed alone: where it starts, what it skips,
how it crosses midnight, what it does while the broker is paused.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from app.alarms.consumer import AlarmFeed, BadRecord, Delivered, FeedSettings, FeedState, FeedStatus
from app.alarms.records import (
    AlarmEvent,
    EndOfTopic,
    EventType,
    Priority,
    Record,
    RecordType,
    SnapshotPart,
    encode_record,
    next_midnight_ms,
    record_key,
    snapshot_records,
    topic_for,
)
from app.alarms.service import AlarmService
from app.counterparts.services import TansuProcess

pytestmark = pytest.mark.integration

TZ = "Asia/Shanghai"
NOON_MS = 1795838400000  # 2026-11-28 08:00 in Shanghai: well inside a day


def event(n: int, kind: EventType = EventType.RAISE, *, active: bool = True) -> AlarmEvent:
    return AlarmEvent(
        alarm_id=f"A{n}",
        event=kind,
        device=f"W{n:04d}",
        station="S01",
        zone="Z1",
        priority=Priority((n % 4) + 1),
        kind="switch_lost",
        code="ALM-SW-001",
        text_zh="道岔失表",
        text_en="switch lost its position",
        raised_ms=NOON_MS,
        event_ms=NOON_MS + n,
        active=active,
        acked=kind is EventType.ACK,
    )


_TEXT_EN = b'"text_en":"switch lost its position"'
#: Ways a record's text can be unwritable yet pass a lenient ``json.loads(bytes)``.
BAD_TEXT: dict[str, Callable[[bytes], bytes]] = {
    "escape": lambda raw: raw.replace(_TEXT_EN, b'"text_en":"switch \\ud800 lost"'),
    "bytes": lambda raw: raw.replace(_TEXT_EN, b'"text_en":"switch \xed\xa0\x80 lost"'),
    "utf16": lambda raw: raw.decode("utf-8").encode("utf-16"),
}


class ServerStandIn:
    """Writes records the way the server does: seq, snapshot parts, snapshot_offset."""

    def __init__(self, broker: TansuProcess, prefix: str = "alarms") -> None:
        self.bootstrap = broker.bootstrap
        self.prefix = prefix
        self.producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 2})
        self.admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        self.seq = 0
        self.active: dict[str, AlarmEvent] = {}
        self.snapshot_offset: dict[str, int] = {}
        self.next_offset: dict[str, int] = {}

    def create(self, topic: str) -> None:
        futures = self.admin.create_topics([NewTopic(topic, 1, 1)])
        for f in futures.values():
            f.result(10)
        self.next_offset[topic] = 0
        self.snapshot_offset[topic] = -1

    def send(self, topic: str, rec: Record) -> int:
        offset = self.next_offset[topic]
        self.producer.produce(topic, key=record_key(rec), value=encode_record(rec))
        self.producer.flush(10)
        self.next_offset[topic] = offset + 1
        return offset

    def send_raw(self, topic: str, value: bytes, key: bytes = b"junk") -> None:
        self.producer.produce(topic, key=key, value=value)
        self.producer.flush(10)
        self.next_offset[topic] += 1

    def bad_text_change(self, topic: str, e: AlarmEvent, how: str) -> None:
        """A change numbered like any other whose text no encoder can write (``BAD_TEXT``)."""
        self.seq += 1
        rec = Record(RecordType.CHANGE, "A", self.seq, e.event_ms, self.snapshot_offset[topic], e)
        self.send_raw(topic, BAD_TEXT[how](encode_record(rec)), record_key(rec))

    def change(self, topic: str, e: AlarmEvent) -> None:
        self.seq += 1
        if e.active or not e.acked:
            self.active[e.alarm_id] = e
        else:
            self.active.pop(e.alarm_id, None)
        rec = Record(RecordType.CHANGE, "A", self.seq, e.event_ms, self.snapshot_offset[topic], e)
        self.send(topic, rec)

    def snapshot(self, topic: str, server: str = "A") -> None:
        parts = snapshot_records(
            list(self.active.values()),
            snapshot_id=f"s{self.seq}-{topic}-{server}",
            server=server,
            seq=self.seq,
            ms=NOON_MS,
            snapshot_offset=self.snapshot_offset[topic],
            part_size=3,
        )
        first = None
        for part in parts:
            offset = self.send(topic, part)
            first = offset if first is None else first
        assert first is not None
        self.snapshot_offset[topic] = first

    def end(self, topic: str, next_topic: str) -> None:
        body = EndOfTopic(next_topic)
        self.send(
            topic,
            Record(RecordType.END, "A", self.seq, NOON_MS, self.snapshot_offset[topic], body),
        )

    def close(self) -> None:
        self.producer.flush(10)


@dataclass
class Collected:
    records: list[Delivered] = field(default_factory=list)
    statuses: list[FeedStatus] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fold(self) -> dict[str, AlarmEvent]:
        """The active set the records describe (a minimal stand-in for the alarm list)."""
        out: dict[str, AlarmEvent] = {}
        pending: dict[str, list[SnapshotPart]] = {}
        applied = -1
        with self.lock:
            records = list(self.records)
        for d in records:
            body = d.record.body
            if isinstance(body, SnapshotPart):
                parts = pending.setdefault(body.snapshot_id, [])
                parts.append(body)
                if len(parts) == body.parts:
                    out = {a.alarm_id: a for p in parts for a in p.alarms}
                    applied = d.record.seq
            elif isinstance(body, AlarmEvent) and d.record.seq > applied:
                applied = d.record.seq
                if body.active or not body.acked:
                    out[body.alarm_id] = body
                else:
                    out.pop(body.alarm_id, None)
        return out

    def seqs(self) -> list[int]:
        with self.lock:
            return [d.record.seq for d in self.records if d.record.type is RecordType.CHANGE]


@pytest.fixture
def broker(broker_factory: Callable[[], TansuProcess]) -> TansuProcess:
    return broker_factory()


@pytest.fixture
def feed_factory(
    broker: TansuProcess,
) -> Iterator[Callable[..., tuple[AlarmFeed, Collected]]]:
    feeds: list[AlarmFeed] = []

    def make(
        clock_ms: Callable[[], int] = lambda: NOON_MS, **kw: float
    ) -> tuple[AlarmFeed, Collected]:
        got = Collected()

        def deliver(batch: list[Delivered]) -> None:
            with got.lock:
                got.records.extend(batch)

        feed = AlarmFeed(
            FeedSettings(broker.bootstrap, timezone=TZ, **kw),  # type: ignore[arg-type]
            deliver=deliver,
            status=got.statuses.append,
            bad=got.bad.append,
            clock_ms=clock_ms,
        )
        feeds.append(feed)
        feed.start()
        return feed, got

    yield make
    for feed in feeds:
        feed.close()


def wait(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_catch_up_starts_at_the_newest_snapshot_and_rebuilds_the_active_set(
    broker: TansuProcess, feed_factory: Callable[..., tuple[AlarmFeed, Collected]]
) -> None:
    server = ServerStandIn(broker)
    topic = topic_for("alarms", NOON_MS, TZ)
    server.create(topic)
    server.snapshot(topic)  # empty day start
    for n in range(20):
        server.change(topic, event(n))
    server.change(topic, event(3, EventType.ACK))
    server.change(topic, event(4, EventType.CLEAR, active=False))
    server.snapshot(topic)
    newest = server.snapshot_offset[topic]
    for n in range(20, 26):
        server.change(topic, event(n))
    server.change(topic, event(5, EventType.ACK, active=True))
    expected = dict(server.active)

    feed, got = feed_factory()
    wait(lambda: feed.status.state is FeedState.LIVE)
    wait(lambda: got.fold() == expected)
    # It did not replay the day: the first record it read is the newest snapshot
    # (or an older one, when the broker's high watermark lags; never offset 0 here).
    first = got.records[0]
    assert first.record.type is RecordType.SNAPSHOT
    assert first.offset in (0, newest)
    print(f"feed started at offset {first.offset} (newest snapshot at {newest})")
    # ... and it follows live changes.
    server.change(topic, event(99))
    wait(lambda: "A99" in got.fold())
    assert feed.status.bad_records == 0


def test_malformed_records_are_counted_and_skipped(
    broker: TansuProcess, feed_factory: Callable[..., tuple[AlarmFeed, Collected]]
) -> None:
    server = ServerStandIn(broker)
    topic = topic_for("alarms", NOON_MS, TZ)
    server.create(topic)
    server.snapshot(topic)
    feed, got = feed_factory()
    wait(lambda: feed.status.state is FeedState.LIVE)
    server.change(topic, event(1))
    server.send_raw(topic, b"{not json")
    server.send_raw(topic, b'{"v": 99, "type": "change"}')
    server.send_raw(
        topic,
        encode_record(Record(RecordType.CHANGE, "A", 1000, 1, -1, event(2))).replace(
            b'"device"', b'"devize"'
        ),
    )
    server.change(topic, event(3))
    wait(lambda: "A3" in got.fold())
    assert set(got.fold()) == {"A1", "A3"}
    assert feed.status.bad_records == 3
    errors = [b.error for b in got.bad]
    assert "not JSON" in errors[0]
    assert ".v: unknown schema version 99" in errors[1]
    assert errors[2].endswith(".body.device: missing")
    assert all(b.topic == topic and b.offset > 0 for b in got.bad)


def test_midnight_moves_to_the_next_topic_with_no_gap_and_no_duplicate(
    broker: TansuProcess, feed_factory: Callable[..., tuple[AlarmFeed, Collected]]
) -> None:
    midnight = next_midnight_ms(NOON_MS, TZ)
    now = [midnight - 2000]
    server = ServerStandIn(broker)
    day1 = topic_for("alarms", now[0], TZ)
    day2 = topic_for("alarms", midnight, TZ)
    assert day1 != day2
    server.create(day1)
    server.snapshot(day1)
    server.change(day1, event(1))
    server.change(day1, event(2))
    feed, got = feed_factory(clock_ms=lambda: now[0])
    wait(lambda: set(got.fold()) == {"A1", "A2"})
    # Midnight: the server ends day 1, starts day 2 with a snapshot, goes on there.
    now[0] = midnight + 10
    server.create(day2)
    server.change(day1, event(3))
    server.end(day1, day2)
    server.snapshot(day2)
    server.change(day2, event(4))
    server.change(day2, event(1, EventType.ACK))
    wait(lambda: feed.status.topic == day2 and "A4" in got.fold())
    assert got.fold() == server.active
    seqs = got.seqs()
    assert seqs == sorted(set(seqs)), "a change was delivered twice"
    assert seqs == list(range(1, server.seq + 1)), "a change was missed"


def test_a_paused_broker_marks_the_feed_stale_and_nothing_is_lost_after(
    broker: TansuProcess, feed_factory: Callable[..., tuple[AlarmFeed, Collected]]
) -> None:
    server = ServerStandIn(broker)
    topic = topic_for("alarms", NOON_MS, TZ)
    server.create(topic)
    server.snapshot(topic)
    server.change(topic, event(1))
    feed, got = feed_factory()
    wait(lambda: feed.status.state is FeedState.LIVE)
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        wait(lambda: feed.status.state is FeedState.STALE, timeout=60)
        stale = feed.status
        assert stale.reason
        assert stale.cause.broker, stale  # the value the back-to-live rule reads
    finally:
        os.kill(broker.pid, signal.SIGCONT)
    for n in range(2, 12):
        server.change(topic, event(n))
    wait(lambda: set(got.fold()) == set(server.active), timeout=60)
    wait(lambda: feed.status.state is FeedState.LIVE, timeout=30)
    seqs = got.seqs()
    assert seqs == list(range(1, server.seq + 1))


def test_cli_alarms_prints_the_active_set_then_follows(broker: TansuProcess) -> None:
    server = ServerStandIn(broker)
    topic = topic_for("alarms", int(time.time() * 1000), TZ)  # the CLI reads today's topic
    server.create(topic)
    server.snapshot(topic)
    for n in range(5):
        server.change(topic, event(n))
    server.change(topic, event(2, EventType.ACK))
    server.change(topic, event(2, EventType.CLEAR, active=False))
    cmd = [sys.executable, "-m", "app.cli", "alarms", "--kafka", broker.bootstrap]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["topic"] == topic
    assert {a["alarm_id"] for a in out["alarms"]} == {"A0", "A1", "A3", "A4"}
    assert all(a["state"] == "unack_active" for a in out["alarms"]), out["alarms"]

    follow = subprocess.Popen(
        [*cmd, "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert follow.stdout is not None
        first = json.loads(follow.stdout.readline())
        assert len(first["alarms"]) == 4
        server.change(topic, event(7))
        line = json.loads(follow.stdout.readline())
        assert (line["alarm_id"], line["state"]) == ("A7", "unack_active")
    finally:
        follow.kill()
        follow.communicate(timeout=10)


def test_cli_alarms_without_a_broker_says_so() -> None:
    cmd = [sys.executable, "-m", "app.cli", "alarms", "--kafka", "127.0.0.1:1", "--timeout", "2"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 1
    assert "alarm list not caught up within 2 s" in res.stderr


# -- text that cannot be written (issue 16, defect 7) ----------------------------------------


def test_the_hmis_service_refuses_and_counts_records_whose_text_cannot_be_written(
    broker: TansuProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """The path the HMI uses (feed thread → AlarmService → AlarmList): a record whose
    text holds a lone surrogate, or that is not UTF-8, never reaches the list (and so
    never the table, where Qt would silently drop the surrogate); it is counted, kept
    for the diagnostics view and logged, and the records around it are applied."""
    server = ServerStandIn(broker)
    topic = topic_for("alarms", NOON_MS, TZ)
    server.create(topic)
    server.snapshot(topic)
    server.change(topic, event(1))
    for n, how in enumerate(BAD_TEXT, start=2):
        server.bad_text_change(topic, event(n), how)
    server.change(topic, event(9))
    bad: list[BadRecord] = []

    async def scenario() -> AlarmService:
        service = AlarmService(
            FeedSettings(broker.bootstrap, timezone=TZ), clock_ms=lambda: NOON_MS
        )
        service.bad_record.connect(bad.append)
        service.start()
        try:
            async with asyncio.timeout(30):
                while "A9" not in service.list or len(bad) < len(BAD_TEXT):
                    await asyncio.sleep(0.02)
            assert service.feed is not None and service.feed.bad_count == len(BAD_TEXT)
        finally:
            await service.aclose()
        return service

    service = asyncio.run(scenario())
    assert {r.alarm_id for r in service.list.active()} == {"A1", "A9"}
    assert service.list.stats.gaps == 1  # the three skipped changes, seen as one gap
    errors = [b.error for b in bad]
    surrogate = "text holds a lone surrogate U+D800 at character 7"
    assert errors[0] == f"{topic}@{bad[0].offset}.body.text_en: {surrogate}"
    assert errors[1].startswith(f"{topic}@{bad[1].offset}: not UTF-8: byte 0xED")
    assert errors[2].startswith(f"{topic}@{bad[2].offset}: not UTF-8")
    logged = [r.getMessage() for r in caplog.records if "alarm record skipped" in r.getMessage()]
    assert len(logged) == len(BAD_TEXT)


def cli_alarms(broker: TansuProcess, *more: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", "alarms", "--kafka", broker.bootstrap, *more]


def test_cli_alarms_skips_text_it_could_not_print_and_prints_the_list(
    broker: TansuProcess,
) -> None:
    server = ServerStandIn(broker)
    topic = topic_for("alarms", int(time.time() * 1000), TZ)
    server.create(topic)
    server.snapshot(topic)
    server.change(topic, event(1))
    server.bad_text_change(topic, event(2), "escape")
    server.bad_text_change(topic, event(3), "bytes")
    server.change(topic, event(4))
    res = subprocess.run(
        cli_alarms(broker), capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {a["alarm_id"] for a in out["alarms"]} == {"A1", "A4"}
    assert res.stderr.count("alarm record skipped") == 2, res.stderr

    # One such change while following ends nothing: the next good one is printed.
    follow = subprocess.Popen(
        cli_alarms(broker, "--follow"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert follow.stdout is not None
        assert len(json.loads(follow.stdout.readline())["alarms"]) == 2
        server.bad_text_change(topic, event(5), "escape")
        server.change(topic, event(6))
        line = json.loads(follow.stdout.readline())
        assert (line["alarm_id"], line["state"]) == ("A6", "unack_active")
        assert follow.poll() is None
    finally:
        follow.kill()
        follow.communicate(timeout=10)


# -- shelves past their end, and --follow after a reset (issue 16, defect 8) -----------------


def test_cli_alarms_never_prints_a_shelve_past_its_end(broker: TansuProcess) -> None:
    now = int(time.time() * 1000)
    hour = 3_600_000
    server = ServerStandIn(broker)
    topic = topic_for("alarms", now, TZ)
    server.create(topic)

    def shelved(n: int, *, active: bool, acked: bool, until: int) -> AlarmEvent:
        return replace(
            event(n),
            event=EventType.SHELVE,
            event_ms=now - 2 * hour,
            active=active,
            acked=acked,
            shelved_until_ms=until,
        )

    # A snapshot nobody has unshelved since (the server stopped, say).
    for e in (
        shelved(1, active=True, acked=True, until=now - hour),  # ended, still active
        shelved(2, active=False, acked=False, until=now - 60_000),  # ended, cleared
        shelved(3, active=True, acked=False, until=now + hour),  # still shelved
    ):
        server.active[e.alarm_id] = e
    server.snapshot(topic)
    res = subprocess.run(
        cli_alarms(broker), capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    rows = {a["alarm_id"]: a for a in json.loads(res.stdout)["alarms"]}
    assert set(rows) == {"A1", "A3"}
    assert rows["A1"]["state"] == "unack_active"  # ISA-18.2: back unacknowledged
    assert (rows["A3"]["state"], rows["A3"]["shelved_until_ms"]) == ("shelved", now + hour)


def test_cli_alarms_follow_prints_the_whole_list_when_a_snapshot_replaces_it(
    broker: TansuProcess,
) -> None:
    server = ServerStandIn(broker)
    topic = topic_for("alarms", int(time.time() * 1000), TZ)
    server.create(topic)
    server.snapshot(topic)
    server.change(topic, event(0))
    server.change(topic, event(1))
    follow = subprocess.Popen(
        cli_alarms(broker, "--follow"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert follow.stdout is not None
        first = json.loads(follow.stdout.readline())
        assert (first["reset"], first["count"], first["topic"]) == (False, 2, topic)
        # The standby takes over: its own snapshot replaces every HMI's list.
        del server.active["A0"]
        server.active["A5"] = event(5)
        server.snapshot(topic, server="B")
        line = json.loads(follow.stdout.readline())
        assert (line["reset"], line["count"], line["seq"]) == (True, 2, server.seq)
        assert {a["alarm_id"] for a in line["alarms"]} == {"A1", "A5"}
    finally:
        follow.kill()
        follow.communicate(timeout=10)


def test_cli_alarms_writes_utf8_whatever_the_consoles_code_page(broker: TansuProcess) -> None:
    """On a pipe in another code page (Windows' cp1252, say) 道岔失表 could not be
    written and the CLI died: its JSON is UTF-8, as JSON is."""
    server = ServerStandIn(broker)
    topic = topic_for("alarms", int(time.time() * 1000), TZ)
    server.create(topic)
    server.snapshot(topic)
    server.change(topic, event(1))
    env = dict(os.environ, PYTHONIOENCODING="cp1252")
    res = subprocess.run(cli_alarms(broker), capture_output=True, timeout=60, check=False, env=env)
    assert res.returncode == 0, res.stderr.decode("utf-8", "replace")
    [row] = json.loads(res.stdout.decode("utf-8"))["alarms"]
    assert row["text_zh"] == "道岔失表"
