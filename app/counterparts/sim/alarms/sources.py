"""Random alarm conditions on the line's devices, seeded: the same seed and the same
ticks give the same alarms; ``flood`` raises many at once.

A condition about a device's state (a switch that lost its position, a failed signal
lamp, a section's fault occupancy: :data:`PLANT_KINDS`) is a fault put on the
simulated device (the :class:`Plant`, the server's world), and its alarm is raised
from what the device then is, and cleared when the fault is gone: the alarm and the
state the server serves always agree (the switch's record says ``lost`` while
"switch W0602 lost its position" is active). Train faults and links to other systems
have no state in the world: their alarms are raised and cleared directly (as are all
alarms of a server given no plant: unit tests, tools).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Protocol

from app.alarms.records import AlarmEvent
from app.counterparts.sim.alarms.catalogue import KIND_BY_NAME, KINDS, AlarmKind
from app.counterparts.sim.alarms.manager import AlarmManager

#: Systems the server talks to besides the HMIs (whose links it watches itself).
OTHER_SYSTEMS = ("ISCS", "PIS", "SCADA", "CLOCK")
#: (train id, train number, section it occupies now)
TrainsNow = Callable[[], list[tuple[int, str, str]]]
#: Alarm kinds whose condition is a device's state in the plant.
PLANT_KINDS = frozenset({"switch_lost", "signal_lamp", "section_fault"})


class Plant(Protocol):
    """The simulated devices (the server's ``World``): faults are put on them, and read back."""

    def set_device_fault(self, kind: str, device: str, present: bool) -> None: ...

    def device_faults(self) -> set[tuple[str, str]]: ...


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
        plant: Plant | None = None,
    ) -> None:
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"alarm rate must be a finite number >= 0, got {rate}")
        self.manager = manager
        self.rate = rate
        self.rng = random.Random(seed)
        self.trains = trains
        self.plant = plant  # None: alarms raised and cleared directly (no world)
        line = manager.line
        self._devices: dict[str, list[str]] = {
            "switch_lost": sorted(line.switch_by_id),
            "signal_lamp": sorted(line.signal_by_id),
            "section_fault": sorted(line.section_by_id),
            "link_loss": list(OTHER_SYSTEMS),
        }
        self._clear_at: dict[tuple[str, str], float] = {}  # (kind, device) -> when (s)
        self._fault_ends: dict[tuple[str, str], float] = {}  # plant fault -> when it goes (s)
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
        self._end_timed()
        if self.plant is not None:
            self._end_faults(self.plant)
            self.detect()

    def _end_timed(self) -> None:
        """Clear the alarms without a plant fault whose time is up. One found active
        without an end (this server took over alarms the old master raised: a train
        fault, a lost link to another system) gets one now, or it would never clear."""
        kinds = frozenset(KIND_BY_NAME) - (PLANT_KINDS if self.plant is not None else set())
        active = self.manager.active_conditions(kinds)
        for key in sorted(active - self._clear_at.keys()):
            kind = KIND_BY_NAME[key[0]]
            self._clear_at[key] = self._now_s + self.rng.expovariate(1.0 / kind.mean_duration_s)
        for key, end in list(self._clear_at.items()):
            if key not in active:  # cleared otherwise
                del self._clear_at[key]
            elif end <= self._now_s:
                del self._clear_at[key]
                self.manager.clear_condition(*key)

    def _end_faults(self, plant: Plant) -> None:
        """Take away the faults whose time is up. A fault found without an end (this
        server took over a world that carried it) gets one now."""
        faults = plant.device_faults()
        for key in sorted(faults - self._fault_ends.keys()):
            kind = KIND_BY_NAME[key[0]]
            self._fault_ends[key] = self._now_s + self.rng.expovariate(1.0 / kind.mean_duration_s)
        for key, end in list(self._fault_ends.items()):
            if key not in faults:
                del self._fault_ends[key]
            elif end <= self._now_s:
                del self._fault_ends[key]
                plant.set_device_fault(*key, present=False)

    def detect(self) -> None:
        """Raise an alarm for every plant fault present, clear those whose fault has gone:
        the alarms about devices follow the devices' state, whoever changed it."""
        if self.plant is None:
            return
        faults = self.plant.device_faults()
        for kind, device in sorted(faults):
            self.manager.raise_alarm(kind, device)  # None when already active
        for kind, device in self.manager.active_conditions(PLANT_KINDS) - faults:
            self.manager.clear_condition(kind, device)

    def _raise(self, kind: AlarmKind) -> AlarmEvent | None:
        device, label, station, zone = self._pick(kind.kind)
        if not device:
            return None
        if self.plant is not None and kind.kind in PLANT_KINDS:
            return self._fault(self.plant, kind, device)
        ev = self.manager.raise_alarm(kind.kind, device, station=station, zone=zone, label=label)
        if ev is not None:
            self._clear_at[(kind.kind, device)] = self._now_s + self.rng.expovariate(
                1.0 / kind.mean_duration_s
            )
        return ev

    def _fault(self, plant: Plant, kind: AlarmKind, device: str) -> AlarmEvent | None:
        """Put ``kind`` of fault on ``device`` for a while and raise its alarm from it."""
        key = (kind.kind, device)
        if key in plant.device_faults():
            return None  # already faulty: its alarm stands
        plant.set_device_fault(kind.kind, device, present=True)
        self._fault_ends[key] = self._now_s + self.rng.expovariate(1.0 / kind.mean_duration_s)
        ev = self.manager.raise_alarm(kind.kind, device)
        if ev is None:  # no room for its alarm: no fault either (they always agree)
            plant.set_device_fault(kind.kind, device, present=False)
            del self._fault_ends[key]
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
