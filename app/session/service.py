"""The service day as the followed server tells it: its clock and the day's actuals.

At protocol level 2 (``docs/protocol.md``, "Levels") a server that runs to a timetable
puts its service clock in every SNAPSHOT and DELTA (``service_date``, ``service_ms``)
and sends each actual arrival and departure in ACTUALS, the day so far after each
SNAPSHOT. :class:`ServiceFeed` keeps them: the clock (read between messages by the
monotonic clock), and the day's actuals in an :class:`~app.timetable.actuals.ActualsStore`
for the workstation's own timetable. A record is idempotent (a slot per planned
stop), so the catch-up after a failover or a gap simply writes again what is there.

It also tells late trains as local alarms (``train_late:<unit>``), by the threshold
configured: raised when a unit's delay passes it, cleared when the unit is back
within it by a minute, or out of service.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.clock import ClockMs, mono_ms
from app.events import Event
from app.protocol.messages import Actuals
from app.session.health import AlarmPriority, HealthChange, LocalAlarms
from app.timetable.actuals import Actual, ActualsStore
from app.timetable.archive import ArchiveError, load_day, save_day
from app.timetable.delays import TrainDelay, train_delay
from app.timetable.model import Timetable

log = logging.getLogger("app.session")

#: The local alarm of a late train: ``train_late:<unit>``.
TRAIN_LATE = "train_late"
#: How often the day's actuals are written to the archive, at most
SAVE_EVERY_MS = 300_000
#: A late train's alarm clears when it is this much under the threshold (no chatter).
LATE_DEADBAND_S = 60


@dataclass(frozen=True, slots=True)
class ActualsNews:
    """What one ACTUALS message changed (the views redraw, the CLI prints)."""

    message: Actuals
    #: the records kept anew (not already kept at the same time: the copy from the
    #: other network, or a catch-up telling again what came live, is no news)
    fresh: tuple[Actual, ...]
    unplanned: int
    new_day: bool

    @property
    def recorded(self) -> int:
        return len(self.fresh)


class ServiceFeed:
    """The service clock and the day's actuals of the followed server."""

    def __init__(
        self,
        timetable: Timetable | None,
        *,
        late_alarm_s: float = 300.0,
        on_time_s: float = 60.0,
        alarms: LocalAlarms | None = None,
        clock_ms: ClockMs = mono_ms,
        archive_dir: Path | None = None,
    ) -> None:
        self.timetable = timetable
        self.store = ActualsStore(timetable) if timetable is not None else None
        self._name = timetable.label() if timetable is not None else ""
        self.late_alarm_s = late_alarm_s
        self.on_time_s = on_time_s  # within this either side a train is on time (views)
        self.alarms = alarms
        self.clock_ms = clock_ms
        self.service_date = ""
        self._service_ms = 0
        self._told_at = 0
        self.foreign = 0  # ACTUALS against another timetable than ours
        self.actuals_changed: Event[ActualsNews] = Event("actuals_changed")
        #: the units whose late alarm is up: the delay it rose with, and when
        self._late: dict[int, tuple[TrainDelay, int]] = {}
        #: where each day's actuals are kept (``archive.py``); None: nowhere
        self.archive_dir = archive_dir
        self._saved_at = 0
        self._saved_generation = -1
        self._saving = threading.Lock()

    @property
    def name(self) -> str:
        """The timetable as a server names it (``<id>@<digest>``); "" without one."""
        return self._name

    # -- the clock ----------------------------------------------------------------

    def told_clock(self, service_date: str, service_ms: int) -> None:
        """A SNAPSHOT or DELTA said the service time (0: the server runs no timetable)."""
        if not service_ms:
            return
        self.service_date = service_date
        self._service_ms = service_ms
        self._told_at = self.clock_ms()

    @property
    def told_ms(self) -> int:
        """The service-day time a server last told (0: none yet)."""
        return self._service_ms

    def told_age_ms(self) -> int:
        """How long ago (ms, by this feed's clock) a server last told the time."""
        return max(0, self.clock_ms() - self._told_at) if self._service_ms else 0

    def now_ms(self) -> int | None:
        """The service-day time now (ms), or None before a server told it."""
        if not self._service_ms:
            return None
        return self._service_ms + max(0, self.clock_ms() - self._told_at)

    # -- actuals ----------------------------------------------------------------------

    def told_actuals(self, msg: Actuals) -> ActualsNews | None:
        store = self.store
        if store is None:
            return None
        if not msg.timetable and not msg.records:
            return None  # a server that runs no timetable: its (empty) catch-up
        if msg.timetable != self.name:
            self.foreign += 1
            if self.foreign == 1 or self.foreign % 100 == 0:
                log.error(
                    "ACTUALS for timetable %r, ours is %r: not kept (%d so far)",
                    msg.timetable,
                    self.name,
                    self.foreign,
                )
            return None
        new_day = bool(msg.service_date) and msg.service_date != store.service_date
        if new_day:
            self.save()  # the day that ended, whole, before its slots are emptied
            store.clear(msg.service_date)
            self._restore()
        before_unplanned = store.unplanned
        fresh = tuple(a for a in msg.records if not store.has(a) and store.record(a) is not None)
        news = ActualsNews(msg, fresh, store.unplanned - before_unplanned, new_day)
        if news.unplanned:
            log.warning("ACTUALS: %d records for stops our timetable lacks", news.unplanned)
        if fresh or new_day or (msg.catch_up and msg.last):
            self.actuals_changed.emit(news)
        return news

    def _restore(self) -> None:
        """A day starting (or this HMI starting mid-day): what is kept of it on disk
        first, so that a partial catch-up never overwrites a fuller kept day."""
        if self.archive_dir is None or self.store is None:
            return
        try:
            n = load_day(self.store, self.archive_dir)
        except (OSError, ArchiveError) as exc:
            log.error("kept actuals of %s not read: %s", self.store.service_date, exc)
            return
        if n:
            log.info(
                "%d actuals of %s read back from %s", n, self.store.service_date, self.archive_dir
            )

    def save(self) -> Path | None:
        """Write the day's actuals to the archive, if there is one and they changed.
        One writer at a time: a save in a worker thread (:meth:`autosave`) is waited for."""
        store = self.store
        if self.archive_dir is None or store is None:
            return None
        with self._saving:
            generation = store.generation
            if generation == self._saved_generation:
                return None
            try:
                path = save_day(store, self.archive_dir)
            except (OSError, ArchiveError) as exc:
                log.error("actuals not saved to %s: %s", self.archive_dir, exc)
                return None
            self._saved_generation = generation
            return path

    def tick(self, units: Iterable[int], now_wall_ms: int) -> None:
        """Once a second: the late trains (``units``: those in service), the day on disk."""
        self.check_late(units, now_wall_ms)
        self.autosave()

    def autosave(self) -> None:
        """Every :data:`SAVE_EVERY_MS`: the day so far on disk (a crash loses at most
        that), written in a worker thread (some 70 ms and an fsync for a day: not on
        the loop). The store is only read there; a new day's save waits for it."""
        if self.clock_ms() - self._saved_at < SAVE_EVERY_MS:
            return
        self._saved_at = self.clock_ms()  # tried: not again before the next period
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save()
            return
        loop.run_in_executor(None, self.save)

    # -- late trains ----------------------------------------------------------------

    @property
    def late(self) -> list[int]:
        """The units whose late alarm is up."""
        return sorted(self._late)

    def delays(self, units: Iterable[int]) -> dict[int, TrainDelay]:
        """Each of ``units``' delay now (units without an actual are left out)."""
        now = self.now_ms()
        if self.store is None or now is None:
            return {}
        out = {}
        for unit in units:
            d = train_delay(self.store, unit, now)
            if d is not None:
                out[unit] = d
        return out

    def check_late(self, units: Iterable[int], now_wall_ms: int) -> None:
        """Raise or clear the late-train alarms of the units in service now."""
        if self.alarms is None or self.late_alarm_s <= 0:
            return
        delays = self.delays(units)
        for unit, d in delays.items():
            if unit not in self._late and d.delay_s > self.late_alarm_s:
                self._late[unit] = (d, now_wall_ms)
                self._tell(unit, d, True, now_wall_ms, now_wall_ms)
            elif unit in self._late and d.delay_s <= self.late_alarm_s - LATE_DEADBAND_S:
                _raised, since = self._late.pop(unit)
                self._tell(unit, d, False, now_wall_ms, since)
        for unit in [u for u in self._late if u not in delays]:
            raised, since = self._late.pop(unit)  # out of service
            self._tell(unit, raised, False, now_wall_ms, since)

    def _tell(self, unit: int, d: TrainDelay, active: bool, now_ms: int, since_ms: int) -> None:
        """``d``: the delay now (raised; back within the threshold) or when it rose (out
        of service); ``since_ms``: when the alarm rose."""
        assert self.alarms is not None
        minutes = int(d.delay_s // 60)
        change = HealthChange(
            f"{TRAIN_LATE}:{unit}",
            active,
            (
                ("trip", d.trip),
                ("unit", str(unit)),
                ("minutes", str(minutes)),
                ("threshold_min", str(int(self.late_alarm_s // 60))),
            ),
            since_ms,
            AlarmPriority.MEDIUM,
        )
        self.alarms.set(
            change.code,
            f"train {d.trip} (unit {unit}) {minutes} min late",
            active,
            change,
            now_ms,
        )
