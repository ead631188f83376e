"""Random alarm conditions on the line's devices, seeded: the same seed and the same
ticks give the same alarms; ``flood`` raises many at once."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from app.alarms.records import AlarmEvent
from app.counterparts.sim.alarms.catalogue import KINDS, AlarmKind
from app.counterparts.sim.alarms.manager import AlarmManager

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
