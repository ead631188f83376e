"""The simulator's alarms: sources, the manager (≤ 10000 active), and the Kafka producer.

- :class:`AlarmManager` (pure) keeps every alarm that is not back to normal,
  numbers each change (``seq``), and hands it to an ``emit`` callback. It
  answers acknowledgements (a COMMAND ``ack_alarm`` naming the alarm id).
- :class:`AlarmSources` (pure, seeded) raises realistic alarms from the line at
  configured rates and clears them after a while; ``flood`` raises many at once.
- :class:`AlarmPublisher` writes each change once, keyed by alarm id, to the
  topic of its day (``records.topic_for`` in the line's time zone), a full
  snapshot every ``snapshot_s``, an END record and a new day's snapshot at
  midnight. Every record carries the offset of the first part of the newest
  complete snapshot of its topic, learnt from the delivery reports.

Broker down: librdkafka queues (bounded) and retries; failures are counted and
logged once per outage; the simulator's tick never blocks on Kafka.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from app.alarms.records import (
    AlarmEvent,
    EndOfTopic,
    EventType,
    Priority,
    Record,
    RecordType,
    decode_event,
    encode_record,
    event_json,
    record_key,
    snapshot_records,
    topic_for,
)
from app.model.topology import Line

log = logging.getLogger(__name__)

MAX_ACTIVE = 10_000
MAX_SHELVE_MIN = 480  # a shift
TOPIC_CHECK_S = 2.0  # how often the producer checks that today's topic still exists


class AlarmRefused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AlarmKind:
    kind: str
    priority: Priority
    code: str
    text_zh: str  # "{d}": the device
    text_en: str
    per_hour: float  # mean raises per hour at rate 1
    mean_duration_s: float  # how long the condition lasts on average


KINDS: tuple[AlarmKind, ...] = (
    AlarmKind(
        "switch_lost",
        Priority.CRITICAL,
        "ALM-SW-001",
        "道岔{d}失去表示",
        "switch {d} lost its position",
        6,
        40,
    ),
    AlarmKind(
        "signal_lamp",
        Priority.HIGH,
        "ALM-SG-001",
        "信号机{d}灯丝断丝",
        "signal {d} lamp failure",
        12,
        120,
    ),
    AlarmKind(
        "section_fault",
        Priority.HIGH,
        "ALM-TC-001",
        "区段{d}故障占用",
        "track section {d} shows a fault occupancy",
        8,
        60,
    ),
    AlarmKind(
        "train_fault",
        Priority.MEDIUM,
        "ALM-TR-001",
        "列车{d}车载设备故障",
        "train {d} on-board fault",
        10,
        90,
    ),
    AlarmKind(
        "link_loss",
        Priority.LOW,
        "ALM-LK-001",
        "与{d}的通信中断",
        "communication with {d} lost",
        4,
        20,
    ),
    AlarmKind(
        "dual_master", Priority.CRITICAL, "ALM-SV-001", "服务器{d}双主", "dual master: {d}", 0, 15
    ),
)
KIND_BY_NAME = {k.kind: k for k in KINDS}


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


# -- the manager --------------------------------------------------------------------------


class AlarmManager:
    """Every alarm not back to normal, by id; each change numbered and emitted once."""

    def __init__(
        self,
        line: Line,
        *,
        server: str,
        emit: Callable[[int, AlarmEvent], None],
        clock_ms: Callable[[], int] = _wall_ms,
        max_active: int = MAX_ACTIVE,
    ) -> None:
        self.line = line
        self.server = server
        self.emit = emit
        self.clock_ms = clock_ms
        self.max_active = max_active
        self.seq = 0
        self.rows: dict[str, AlarmEvent] = {}  # current state; insertion order = age
        self._by_condition: dict[tuple[str, str], str] = {}  # (kind, device) -> active id
        self.overflow = 0
        self.shelved: dict[str, int] = {}  # alarm id -> shelved until (wall ms)
        self._stations = sorted(line.stations, key=lambda s: s.x)

    # where things are -----------------------------------------------------------------

    def _near_station(self, x: float) -> str:
        if not self._stations:
            return ""
        return min(self._stations, key=lambda s: abs(s.x - x)).id

    def place(self, kind: str, device: str) -> tuple[str, str]:
        """(station, zone) of a device for an alarm of ``kind``."""
        line = self.line
        if device in line.switch_by_id:
            sw = line.switch_by_id[device]
            return self._near_station(sw.x), sw.zone
        if device in line.signal_by_id:
            sig = line.signal_by_id[device]
            return self._near_station(sig.x), sig.zone or ""
        if device in line.section_by_id:
            sec = line.section_by_id[device]
            station = sec.station or self._near_station((sec.x0 + sec.x1) / 2)
            return station, line.zone_of_section(device) or ""
        return "", ""

    # changes --------------------------------------------------------------------------

    def _change(self, ev: AlarmEvent) -> AlarmEvent:
        self.seq += 1
        if ev.active or not ev.acked:
            self.rows[ev.alarm_id] = ev
        else:
            self.rows.pop(ev.alarm_id, None)
            self.shelved.pop(ev.alarm_id, None)
            self._by_condition.pop((ev.kind, ev.device), None)
        self.emit(self.seq, ev)
        return ev

    def raise_alarm(
        self,
        kind: str,
        device: str,
        *,
        station: str | None = None,
        zone: str | None = None,
        label: str | None = None,
    ) -> AlarmEvent | None:
        """Raise ``kind`` on ``device``; None if that condition is already active or no room."""
        k = KIND_BY_NAME[kind]
        existing = self._by_condition.get((kind, device))
        now = self.clock_ms()
        if existing is not None:
            row = self.rows.get(existing)
            if row is not None and row.active:
                return None
            if row is not None:  # returned to normal, not acknowledged: raised again
                return self._change(
                    replace(row, event=EventType.RAISE, event_ms=now, raised_ms=now, active=True)
                )
        if len(self.rows) >= self.max_active and not self._evict():
            self.overflow += 1
            if self.overflow == 1 or self.overflow % 1000 == 0:
                log.error(
                    "alarm store full (%d): %d raises dropped", self.max_active, self.overflow
                )
            return None
        placed_station, placed_zone = self.place(kind, device)
        name = label or device
        ev = AlarmEvent(
            alarm_id=f"{self.server}-{uuid.uuid4().hex[:12]}",
            event=EventType.RAISE,
            device=device,
            station=placed_station if station is None else station,
            zone=placed_zone if zone is None else zone,
            priority=k.priority,
            kind=kind,
            code=k.code,
            text_zh=k.text_zh.format(d=name),
            text_en=k.text_en.format(d=name),
            raised_ms=now,
            event_ms=now,
            active=True,
            acked=False,
        )
        self._by_condition[(kind, device)] = ev.alarm_id
        return self._change(ev)

    def _evict(self) -> bool:
        """Make room: the oldest alarm that returned to normal goes (it stays unacknowledged
        in the HMIs that have it, and leaves the server's set)."""
        for aid, row in self.rows.items():
            if not row.active:
                self._change(replace(row, event=EventType.ACK, acked=True, by="(store full)"))
                return aid not in self.rows
        return False

    def clear(self, alarm_id: str) -> AlarmEvent | None:
        row = self.rows.get(alarm_id)
        if row is None or not row.active:
            return None
        return self._change(
            replace(row, event=EventType.CLEAR, event_ms=self.clock_ms(), active=False, by="")
        )

    def clear_condition(self, kind: str, device: str) -> AlarmEvent | None:
        aid = self._by_condition.get((kind, device))
        return self.clear(aid) if aid is not None else None

    def ack(self, alarm_id: str, by: str) -> str:
        """Acknowledge; "" or a note on an executed no-op. Raises :class:`AlarmRefused`."""
        row = self.rows.get(alarm_id)
        if row is None:
            raise AlarmRefused("unknown_alarm", f"no alarm {alarm_id} is active or unacknowledged")
        if row.acked:
            return "alarm already acknowledged"
        self._change(replace(row, event=EventType.ACK, event_ms=self.clock_ms(), acked=True, by=by))
        return ""

    def shelve(self, alarm_id: str, by: str, minutes: int) -> str:
        """Shelve for ``minutes`` (1..480); the server unshelves it when the time is up."""
        row = self.rows.get(alarm_id)
        if row is None:
            raise AlarmRefused("unknown_alarm", f"no alarm {alarm_id} is active or unacknowledged")
        if not 1 <= minutes <= MAX_SHELVE_MIN:
            raise AlarmRefused(
                "bad_argument", f"shelve for 1..{MAX_SHELVE_MIN} minutes, not {minutes}"
            )
        now = self.clock_ms()
        until = now + minutes * 60_000
        self.shelved[alarm_id] = until
        self._change(
            replace(row, event=EventType.SHELVE, event_ms=now, by=by, shelved_until_ms=until)
        )
        return ""

    def unshelve_due(self) -> int:
        """Unshelve every alarm whose time is up; how many."""
        now = self.clock_ms()
        due = [aid for aid, until in self.shelved.items() if until <= now]
        for aid in due:
            del self.shelved[aid]
            row = self.rows.get(aid)
            if row is not None:
                self._change(
                    replace(row, event=EventType.UNSHELVE, event_ms=now, by="", shelved_until_ms=0)
                )
        return len(due)

    def snapshot(self) -> list[AlarmEvent]:
        """Every alarm not normal; a shelved one as its SHELVE (what hides it, and until)."""
        out = []
        for aid, row in self.rows.items():
            until = self.shelved.get(aid, 0)
            hidden = until > 0 and row.event is not EventType.SHELVE
            out.append(
                replace(row, event=EventType.SHELVE, shelved_until_ms=until) if hidden else row
            )
        return out

    # replication ----------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "rows": [event_json(r) for r in self.rows.values()],
            "shelved": dict(self.shelved),
        }

    def restore(self, doc: dict[str, Any]) -> None:
        self.seq = int(doc["seq"])
        self.shelved = {str(k): int(v) for k, v in doc.get("shelved", {}).items()}
        self.rows = {}
        self._by_condition = {}
        for d in doc["rows"]:
            ev = decode_event(d, "replica.alarms.rows")
            self.rows[ev.alarm_id] = ev
            self._by_condition[(ev.kind, ev.device)] = ev.alarm_id


# -- sources ------------------------------------------------------------------------------


class AlarmSources:
    """Random alarm conditions on the line's devices at ``rate`` × each kind's hourly rate."""

    def __init__(
        self,
        manager: AlarmManager,
        *,
        rate: float = 1.0,
        seed: int | None = None,
        trains: Callable[[], list[tuple[int, str]]] = list,
    ) -> None:
        self.manager = manager
        self.rate = rate
        self.rng = random.Random(seed)
        self.trains = trains
        line = manager.line
        self._devices: dict[str, list[str]] = {
            "switch_lost": sorted(line.switch_by_id),
            "signal_lamp": sorted(line.signal_by_id),
            "section_fault": sorted(line.section_by_id),
            "link_loss": ["HMI-WS-01", "HMI-WS-02", "ISCS", "PIS"],
        }
        self._clear_at: dict[str, float] = {}  # alarm id -> monotonic-like time (s)
        self._now_s = 0.0

    def _pick(self, kind: str) -> tuple[str, str | None]:
        if kind == "train_fault":
            trains = self.trains()
            if not trains:
                return "", None
            train_id, number = self.rng.choice(trains)
            return f"train:{train_id}", number
        devices = self._devices.get(kind, [])
        return (self.rng.choice(devices), None) if devices else ("", None)

    def tick(self, dt_s: float) -> None:
        self._now_s += dt_s
        for kind in KINDS:
            lam = kind.per_hour * self.rate * dt_s / 3600.0
            if lam <= 0:
                continue
            for _ in range(_poisson(self.rng, lam)):
                self._raise(kind)
        due = [aid for aid, t in self._clear_at.items() if t <= self._now_s]
        for aid in due:
            del self._clear_at[aid]
            self.manager.clear(aid)

    def _raise(self, kind: AlarmKind) -> AlarmEvent | None:
        device, label = self._pick(kind.kind)
        if not device:
            return None
        ev = self.manager.raise_alarm(kind.kind, device, label=label)
        if ev is not None:
            self._clear_at[ev.alarm_id] = self._now_s + self.rng.expovariate(
                1.0 / kind.mean_duration_s
            )
        return ev

    def flood(self, count: int) -> int:
        """Raise ``count`` alarms now (a cascade after, say, a power dip)."""
        raised = 0
        kinds = [k for k in KINDS if k.per_hour > 0]
        for _ in range(count * 3):
            if raised >= count:
                break
            if self._raise(self.rng.choice(kinds)) is not None:
                raised += 1
        return raised


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth; lam is small here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# -- the producer -------------------------------------------------------------------------


class AlarmPublisher:
    """Each change once to its day's topic; snapshots; END and a new snapshot at midnight."""

    def __init__(
        self,
        bootstrap: str,
        *,
        prefix: str,
        timezone: str,
        server: str,
        snapshot: Callable[[], tuple[int, list[AlarmEvent]]],
        clock_ms: Callable[[], int] = _wall_ms,
        replication: int = 1,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.prefix = prefix
        self.timezone = timezone
        self.server = server
        self._snapshot = snapshot
        self.clock_ms = clock_ms
        self.replication = replication
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "queue.buffering.max.messages": 200_000,
            "message.timeout.ms": 300_000,
            "logger": logging.getLogger("librdkafka"),
        }
        conf.update(extra or {})
        self._producer = Producer(conf)
        self._admin = AdminClient({"bootstrap.servers": bootstrap})
        self.topic = ""
        self._ready: set[str] = set()  # topics known to exist
        self.snapshot_offset: dict[str, int] = {}
        # (topic, snapshot id) -> [offset of part 0 or -1, parts delivered, parts]
        self._pending: dict[tuple[str, str], list[int]] = {}
        self.produced = 0
        self.delivered = 0
        self.failed = 0
        self._failing = False

    # topics -----------------------------------------------------------------------------

    def _ensure(self, topic: str) -> bool:
        if topic in self._ready:
            return True
        try:
            futures = self._admin.create_topics(
                [NewTopic(topic, 1, self.replication)], operation_timeout=5, request_timeout=5
            )
            futures[topic].result(5)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                log.warning("cannot create alarm topic %s: %s", topic, exc)
                return False
        except Exception as exc:  # the futures may raise other errors (timeouts)
            log.warning("cannot create alarm topic %s: %s", topic, exc)
            return False
        self._ready.add(topic)
        self.snapshot_offset.setdefault(topic, -1)
        return True

    def roll(self) -> None:
        """Start today's topic if the day changed (END in the old one, a snapshot first)."""
        today = topic_for(self.prefix, self.clock_ms(), self.timezone)
        if today == self.topic:
            return
        if not self._ensure(today):
            return  # try again next tick; changes keep going to the old topic meanwhile
        old, self.topic = self.topic, today
        if old:
            seq, _ = self._snapshot()
            body = EndOfTopic(today)
            self._send(
                old, Record(RecordType.END, self.server, seq, self.clock_ms(), self._off(old), body)
            )
            log.info("alarm topic %s ended; continuing in %s", old, today)
        self.write_snapshot()

    def _off(self, topic: str) -> int:
        return self.snapshot_offset.get(topic, -1)

    def check_topic(self) -> None:
        """Is today's topic still there? A broker that lost it (restarted without its
        data) gets it again, starting with a snapshot, so consumers re-sync from it."""
        topic = self.topic
        if not topic:
            return
        try:
            meta = self._producer.list_topics(topic, timeout=0.5)
        except KafkaException:
            return  # the broker is down: nothing to tell yet
        info = meta.topics.get(topic)
        if info is not None and info.error is None and info.partitions:
            return
        log.warning("alarm topic %s is gone from the broker: creating it again", topic)
        self._ready.discard(topic)
        if self._ensure(topic):
            self.snapshot_offset[topic] = -1
            self.write_snapshot()

    # records ----------------------------------------------------------------------------

    def change(self, seq: int, ev: AlarmEvent) -> None:
        if not self.topic:
            self.roll()
        if not self.topic:
            self.failed += 1
            return
        rec = Record(RecordType.CHANGE, self.server, seq, ev.event_ms, self._off(self.topic), ev)
        self._send(self.topic, rec)

    def write_snapshot(self) -> None:
        if not self.topic:
            return
        seq, alarms = self._snapshot()
        sid = f"{self.server}-{seq}-{uuid.uuid4().hex[:8]}"
        parts = snapshot_records(
            alarms,
            snapshot_id=sid,
            server=self.server,
            seq=seq,
            ms=self.clock_ms(),
            snapshot_offset=self._off(self.topic),
        )
        self._pending[(self.topic, sid)] = [-1, 0, len(parts)]
        for part in parts:
            self._send(self.topic, part)

    def _send(self, topic: str, rec: Record) -> None:
        try:
            self._producer.produce(
                topic, key=record_key(rec), value=encode_record(rec), on_delivery=self._delivered
            )
            self.produced += 1
        except BufferError:
            self.failed += 1
            self._failure(f"local queue full ({self.failed} records dropped)")
        except KafkaException as exc:
            self.failed += 1
            self._failure(str(exc))
        self._producer.poll(0)

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed += 1
            self._failure(err.str())
            return
        self.delivered += 1
        if self._failing:
            log.info("alarm records are delivered again")
            self._failing = False
        key = msg.key() or b""
        if not key.startswith(b"snapshot:"):
            return
        topic = msg.topic() or ""
        sid = key[len(b"snapshot:") :].decode()
        pending = self._pending.get((topic, sid))
        offset = msg.offset()
        if pending is None or offset is None:
            return
        if pending[0] < 0 or offset < pending[0]:
            pending[0] = offset
        pending[1] += 1
        if pending[1] == pending[2]:
            del self._pending[(topic, sid)]
            if pending[0] > self._off(topic):
                self.snapshot_offset[topic] = pending[0]

    def _failure(self, reason: str) -> None:
        if not self._failing:
            log.warning("alarm records not delivered: %s", reason)
            self._failing = True

    def poll(self) -> None:
        self._producer.poll(0)

    def close(self, timeout_s: float = 5.0) -> None:
        left = self._producer.flush(timeout_s)
        if left:
            log.warning("%d alarm records not delivered at shutdown", left)


# -- the whole, for the server ------------------------------------------------------------


@dataclass
class AlarmSettings:
    bootstrap: str
    prefix: str = "alarms"
    rate: float = 1.0
    snapshot_s: float = 30.0
    flood: int = 0  # raise this many at start
    seed: int | None = None
    replication: int = 1


class AlarmSystem:
    """Manager, sources and publisher together; the server calls :meth:`tick` as master."""

    def __init__(
        self,
        line: Line,
        settings: AlarmSettings,
        *,
        server: str,
        trains: Callable[[], list[tuple[int, str]]] = list,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self.settings = settings
        self.clock_ms = clock_ms
        self.publisher = AlarmPublisher(
            settings.bootstrap,
            prefix=settings.prefix,
            timezone=line.timezone,
            server=server,
            snapshot=self._state,
            clock_ms=clock_ms,
            replication=settings.replication,
        )
        self.manager = AlarmManager(
            line, server=server, emit=self.publisher.change, clock_ms=clock_ms
        )
        self.sources = AlarmSources(
            self.manager, rate=settings.rate, seed=settings.seed, trains=trains
        )
        self._last_snapshot_ms = 0
        self._last_check_ms = 0
        self._flood_left = settings.flood

    def _state(self) -> tuple[int, list[AlarmEvent]]:
        return self.manager.seq, self.manager.snapshot()

    def tick(self, dt_s: float) -> None:
        pub = self.publisher
        pub.roll()
        now = self.clock_ms()
        if pub.topic and now - self._last_snapshot_ms >= self.settings.snapshot_s * 1000:
            if self._last_snapshot_ms:  # roll() wrote the first one
                pub.write_snapshot()
            self._last_snapshot_ms = now
        if pub.topic and now - self._last_check_ms >= TOPIC_CHECK_S * 1000:
            self._last_check_ms = now
            pub.check_topic()
        if self._flood_left and pub.topic:
            self.sources.flood(self._flood_left)
            self._flood_left = 0
        self.sources.tick(dt_s)
        self.manager.unshelve_due()
        pub.poll()

    def promoted(self) -> None:
        """This server just became master: a snapshot of its own before any change.

        HMIs apply a snapshot from a different server even at a lower ``seq``, so
        the list they show is this server's from here on.
        """
        self.publisher.roll()
        self.publisher.write_snapshot()
        self._last_snapshot_ms = self.clock_ms()

    def close(self) -> None:
        self.publisher.close()
