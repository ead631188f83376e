"""The simulator's alarms: sources, the manager (≤ 10000 active), and the Kafka producer.

- :class:`AlarmManager` (pure) keeps every alarm that is not back to normal,
  numbers each change (``seq``), and hands it to an ``emit`` callback. It
  answers acknowledgements (a COMMAND ``ack_alarm`` naming the alarm id) and
  shelves, by the same ISA-18.2 rules as the HMI's list (``app.alarms.states``):
  a shelve ends unacknowledged while the condition is present, normal once it
  has cleared; a shelved alarm cannot be acknowledged.
- :class:`AlarmSources` (pure, seeded) raises realistic alarms from the line at
  configured rates and clears them after a while; ``flood`` raises many at once.
- :class:`AlarmPublisher` writes each change once, keyed by alarm id, to the
  topic of its day (``records.topic_for`` in the line's time zone), a full
  snapshot every ``snapshot_s``, an END record and a new day's snapshot at
  midnight. Every record carries the offset of the first part of the newest
  complete snapshot of its topic, learnt from the delivery reports.

Nothing here blocks the simulator's loop: ``produce`` only queues (librdkafka,
bounded), delivery reports arrive through ``poll(0)``, and what must wait for
the broker (creating a topic, asking whether it still exists, disposing of a
replaced producer) runs on a worker thread whose results are picked up on the
next tick. Broker down: librdkafka queues and retries; failures are counted
and logged once per outage, and a snapshot follows once records flow again.
"""

from __future__ import annotations

import logging
import math
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from app.alarms.records import (
    MAX_SHELVE_MS,
    SNAPSHOT_PART_SIZE,
    AlarmEvent,
    EndOfTopic,
    EventType,
    Priority,
    Record,
    RecordType,
    decode_event,
    encode_record,
    event_json,
    next_midnight_ms,
    record_key,
    snapshot_records,
    topic_for,
)
from app.model.topology import Line

log = logging.getLogger(__name__)

MAX_ACTIVE = 10_000
MAX_SHELVE_MIN = MAX_SHELVE_MS // 60_000  # a shift; longer requests are refused
TOPIC_CHECK_S = 2.0  # how often the producer checks that today's topic still exists
#: Records waiting this long while the broker answers metadata requests: the producer is
#: stuck (an idempotent producer whose id a restarted broker forgot) and is replaced.
STALL_S = 10.0
RETRY_CREATE_S = 1.0  # a topic that could not be created is tried again after this
PRECREATE_S = 60.0  # tomorrow's topic is created this long before midnight
#: A server that takes over numbers on from the seq it mirrored plus this, so that a
#: topic never holds the same seq twice although the old master may have produced a
#: few changes (at most a tick's) that never reached the standby.
PROMOTION_SEQ_GAP = 1000


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
        4,  # links to other systems at random; a dropped HMI link from the server
        20,
    ),
    AlarmKind(
        "dual_master", Priority.CRITICAL, "ALM-SV-001", "服务器{d}双主", "dual master: {d}", 0, 15
    ),
    # raised by the server from its units' coupling reports, never at random
    AlarmKind(
        "consist_dual_master",
        Priority.HIGH,
        "ALM-CP-001",
        "列车{d}重联双主",
        "consist {d}: two master cabs",
        0,
        30,
    ),
    AlarmKind(
        "consist_no_master",
        Priority.HIGH,
        "ALM-CP-002",
        "列车{d}重联无主",
        "consist {d}: no master cab",
        0,
        30,
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
        self.overflow = 0  # raises dropped: the store was full of active alarms
        self.retired = 0  # returned-to-normal alarms retired unacknowledged to make room
        self.shelved: dict[str, int] = {}  # alarm id -> shelved until (wall ms)
        self._stations = sorted(line.stations, key=lambda s: s.x)
        # replication to the standby: what changed since the last export
        self._dirty: dict[str, None] = {}  # ordered: new rows keep their age order
        self._removed: set[str] = set()
        self._exported_seq = 0
        self._full_next = True

    # where things are -----------------------------------------------------------------

    def _near_station(self, x: float) -> str:
        if not self._stations:
            return ""
        return min(self._stations, key=lambda s: abs(s.x - x)).id

    def place(self, kind: str, device: str) -> tuple[str, str]:
        """(station, zone) of a device for an alarm of ``kind``; ("", "") when it has none
        on the line (a link, a server: the caller may name them)."""
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
        # a shelved alarm stays until its shelve ends, even once cleared (not one-shot)
        if ev.active or not ev.acked or ev.alarm_id in self.shelved:
            self.rows[ev.alarm_id] = ev
            self._dirty[ev.alarm_id] = None
            self._removed.discard(ev.alarm_id)
        else:
            self.rows.pop(ev.alarm_id, None)
            self.shelved.pop(ev.alarm_id, None)
            if self._by_condition.get((ev.kind, ev.device)) == ev.alarm_id:
                del self._by_condition[(ev.kind, ev.device)]
            self._dirty.pop(ev.alarm_id, None)
            self._removed.add(ev.alarm_id)
        if len(self._dirty) + len(self._removed) > self.max_active:
            # Nobody has exported for long (no standby): send everything next time.
            self._dirty.clear()
            self._removed.clear()
            self._full_next = True
        self.emit(self.seq, ev)
        return ev

    def jump_seq(self, gap: int = PROMOTION_SEQ_GAP) -> None:
        """This server takes over: number on from well past what the old master may
        have produced after its last replica (see :data:`PROMOTION_SEQ_GAP`)."""
        if gap < 0:
            raise ValueError(f"seq gap must be >= 0, got {gap}")
        self.seq += gap
        self._full_next = True  # the partner gets everything from the new master

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
            if row is not None:  # returned to normal (unacknowledged, or shelved): raised again
                return self._change(
                    replace(
                        row,
                        event=EventType.RAISE,
                        event_ms=now,
                        raised_ms=now,
                        active=True,
                        acked=False,
                    )
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
        """Make room for a raise when the store is full.

        Alarms back to normal *and* acknowledged are never kept, so the store holds
        only active or unacknowledged ones. The oldest that returned to normal is
        retired: an ACK record by ``(store full)`` (every HMI sees why it went), counted
        and logged. Active alarms are never retired: then the raise is dropped.
        """
        for aid, row in self.rows.items():
            if not row.active and aid not in self.shelved:  # a shelved one waits for its end
                self._change(
                    replace(
                        row,
                        event=EventType.ACK,
                        event_ms=self.clock_ms(),
                        acked=True,
                        by="(store full)",
                    )
                )
                self.retired += 1
                if self.retired == 1 or self.retired % 1000 == 0:
                    log.warning(
                        "alarm store full (%d): %d alarms back to normal retired unacknowledged",
                        self.max_active,
                        self.retired,
                    )
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
        if alarm_id in self.shelved:
            # nobody sees it, and it comes back unacknowledged anyway (ISA-18.2)
            raise AlarmRefused("alarm_shelved", f"alarm {alarm_id} is shelved")
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
        """Unshelve every alarm whose time is up; how many.

        ISA-18.2: back unacknowledged while the condition is present (nobody has
        seen it since it was shelved), normal (gone from the set) once it cleared.
        """
        now = self.clock_ms()
        due = [aid for aid, until in self.shelved.items() if until <= now]
        for aid in due:
            del self.shelved[aid]
            row = self.rows.get(aid)
            if row is not None:
                self._change(
                    replace(
                        row,
                        event=EventType.UNSHELVE,
                        event_ms=now,
                        acked=not row.active,  # (active, unacked) or (cleared, acked: normal)
                        by="",
                        shelved_until_ms=0,
                    )
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

    def export(self, full: bool = True) -> dict[str, Any]:
        """For the standby: every alarm (``full``), or what changed since the last export.

        Like the command guard's results, the master sends the changes every tick
        and everything when the partner (re)connects and now and then; a change
        document names the ``seq`` it starts from (``base``), and a standby that
        does not stand there waits for the next full one.
        """
        full = full or self._full_next
        doc: dict[str, Any] = {"full": full, "base": self._exported_seq, "seq": self.seq}
        if full:
            doc["rows"] = [event_json(r) for r in self.rows.values()]
            doc["shelved"] = dict(self.shelved)
        else:
            changed = [aid for aid in self._dirty if aid in self.rows]
            doc["rows"] = [event_json(self.rows[aid]) for aid in changed]
            doc["removed"] = sorted(self._removed)
            doc["shelved"] = {aid: self.shelved[aid] for aid in changed if aid in self.shelved}
        self._dirty.clear()
        self._removed.clear()
        self._full_next = False
        self._exported_seq = self.seq
        return doc

    def restore(self, doc: dict[str, Any]) -> bool:
        """Mirror the master's export; False (nothing changed) when a change document
        does not start where this copy stands: it then waits for the next full one.

        A document without ``full`` is a full one (the form before changes were sent).
        """
        where = "replica.alarms"
        seq = doc.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError(f"{where}.seq: expected an int >= 0, got {seq!r}")
        shelved_doc = doc.get("shelved", {})
        if not isinstance(shelved_doc, dict):
            raise ValueError(f"{where}.shelved: expected an object")
        shelved = {str(k): int(v) for k, v in shelved_doc.items()}
        rows = [decode_event(d, f"{where}.rows") for d in doc["rows"]]
        if doc.get("full", True):
            self.rows = {}
            self._by_condition = {}
            self.shelved = shelved
        else:
            if doc.get("base") != self.seq:
                return False
            for aid in doc.get("removed", []):
                row = self.rows.pop(str(aid), None)
                self.shelved.pop(str(aid), None)
                if row is not None and self._by_condition.get((row.kind, row.device)) == aid:
                    del self._by_condition[(row.kind, row.device)]
            for ev in rows:
                if ev.alarm_id in shelved:
                    self.shelved[ev.alarm_id] = shelved[ev.alarm_id]
                else:
                    self.shelved.pop(ev.alarm_id, None)
        for ev in rows:
            self.rows[ev.alarm_id] = ev
            self._by_condition[(ev.kind, ev.device)] = ev.alarm_id
        self.seq = seq
        return True


# -- sources ------------------------------------------------------------------------------


#: Systems the server talks to besides the HMIs (whose links it watches itself).
OTHER_SYSTEMS = ("ISCS", "PIS", "SCADA", "CLOCK")
#: (train id, train number, section it occupies now)
TrainsNow = Callable[[], list[tuple[int, str, str]]]


class AlarmSources:
    """Random alarm conditions on the line's devices at ``rate`` × each kind's hourly rate.

    All randomness (which kind, which device, how long) comes from one generator
    seeded with ``seed``: the same seed and the same ticks give the same alarms.
    """

    def __init__(
        self,
        manager: AlarmManager,
        *,
        rate: float = 1.0,
        seed: int | None = None,
        trains: TrainsNow = list,
    ) -> None:
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"alarm rate must be a finite number >= 0, got {rate}")
        self.manager = manager
        self.rate = rate
        self.rng = random.Random(seed)
        self.trains = trains
        line = manager.line
        self._devices: dict[str, list[str]] = {
            "switch_lost": sorted(line.switch_by_id),
            "signal_lamp": sorted(line.signal_by_id),
            "section_fault": sorted(line.section_by_id),
            "link_loss": list(OTHER_SYSTEMS),
        }
        self._clear_at: dict[str, float] = {}  # alarm id -> monotonic-like time (s)
        self._now_s = 0.0

    def _pick(self, kind: str) -> tuple[str, str | None, str | None, str | None]:
        """(device, label, station, zone); station and zone None: from the line."""
        if kind == "train_fault":
            trains = sorted(self.trains())
            if not trains:
                return "", None, None, None
            train_id, number, section = self.rng.choice(trains)
            # A train's zone and station: those of the section it stands in now.
            station, zone = self.manager.place("section_fault", section)
            return f"train:{train_id}", number, station, zone
        devices = self._devices.get(kind, [])
        if not devices:
            return "", None, None, None
        device = self.rng.choice(devices)
        if kind == "link_loss":
            return device, None, "", ""  # another system: no station, no zone
        return device, None, None, None

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
        device, label, station, zone = self._pick(kind.kind)
        if not device:
            return None
        ev = self.manager.raise_alarm(kind.kind, device, station=station, zone=zone, label=label)
        if ev is not None:
            self._clear_at[ev.alarm_id] = self._now_s + self.rng.expovariate(
                1.0 / kind.mean_duration_s
            )
        return ev

    def flood(self, count: int) -> int:
        """Raise ``count`` alarms now (a cascade after, say, a power dip); how many rose
        (fewer when the line has too few devices free of an active alarm)."""
        if count < 0:
            raise ValueError(f"flood size must be >= 0, got {count}")
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


# -- Kafka, behind a small interface -------------------------------------------------------

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

    def close(self, timeout_s: float = 2.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)


# -- the producer -------------------------------------------------------------------------


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
        clock_ms: Callable[[], int] = _wall_ms,
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

    def close(self, timeout_s: float = 5.0) -> None:
        left = self.kafka.flush(timeout_s)
        if left:
            log.warning("%d alarm records not delivered at shutdown", left)
        if self._worker is not None:
            self._worker.close()

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
    idempotence: bool = True

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if not (math.isfinite(self.rate) and self.rate >= 0):
            raise ValueError(f"alarm rate must be a finite number >= 0, got {self.rate}")
        if not (math.isfinite(self.snapshot_s) and self.snapshot_s > 0):
            raise ValueError(f"snapshot period must be > 0 s, got {self.snapshot_s}")
        if self.flood < 0:
            raise ValueError(f"flood size must be >= 0, got {self.flood}")
        if self.replication < 1:
            raise ValueError(f"replication must be >= 1, got {self.replication}")


class AlarmSystem:
    """Manager, sources and publisher together; the server calls :meth:`tick` as master
    and :meth:`standby_tick` as standby."""

    def __init__(
        self,
        line: Line,
        settings: AlarmSettings,
        *,
        server: str,
        trains: TrainsNow = list,
        clock_ms: Callable[[], int] = _wall_ms,
        kafka: KafkaIO | None = None,
        run: Runner | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        part_size: int = SNAPSHOT_PART_SIZE,
    ) -> None:
        self.settings = settings
        self.clock_ms = clock_ms
        if kafka is None:
            kafka = ConfluentKafka(
                settings.bootstrap,
                replication=settings.replication,
                idempotence=settings.idempotence,
            )
        self.publisher = AlarmPublisher(
            kafka,
            prefix=settings.prefix,
            timezone=line.timezone,
            server=server,
            snapshot=self._state,
            clock_ms=clock_ms,
            monotonic=monotonic,
            run=run,
            part_size=part_size,
        )
        self.manager = AlarmManager(
            line, server=server, emit=self.publisher.change, clock_ms=clock_ms
        )
        self.sources = AlarmSources(
            self.manager, rate=settings.rate, seed=settings.seed, trains=trains
        )
        self._flood_left = settings.flood

    def _state(self) -> tuple[int, list[AlarmEvent]]:
        return self.manager.seq, self.manager.snapshot()

    def tick(self, dt_s: float) -> None:
        pub = self.publisher
        pub.service()
        now = self.clock_ms()
        if (
            pub.topic
            and now - pub.last_snapshot_ms >= self.settings.snapshot_s * 1000
            and not pub.snapshot_in_flight()  # one at a time: a broker down queues no pile
        ):
            pub.write_snapshot()
        if self._flood_left and pub.topic:
            self.sources.flood(self._flood_left)
            self._flood_left = 0
        self.sources.tick(dt_s)
        self.manager.unshelve_due()

    def standby_tick(self) -> None:
        self.publisher.prepare()

    def promoted(self) -> None:
        """This server just became master: a snapshot of its own before any change.

        Its ``seq`` jumps by :data:`PROMOTION_SEQ_GAP` first, so it never repeats one
        the old master used; HMIs apply a snapshot from a different server whatever
        its ``seq`` anyway, so the list they show is this server's from here on.
        """
        self.manager.jump_seq()
        pub = self.publisher
        if not pub.roll() and pub.topic:
            pub.write_snapshot()

    def link_lost(self, node: str, where: str) -> None:
        """A workstation's link to this server dropped (``where``: this server's address)."""
        self.manager.raise_alarm(
            "link_loss", f"{node}@{where}", station="", zone="", label=f"{node} ({where})"
        )

    def link_back(self, node: str, where: str) -> None:
        self.manager.clear_condition("link_loss", f"{node}@{where}")

    def close(self) -> None:
        self.publisher.close()
