"""Train status to the HMIs: one UDP datagram per unit per tick (``docs/protocol.md``,
"UDP train status"), and the server's own reading of its units' coupling reports.

Every tick has one sequence number, the same on every link and network, so that an
HMI can drop the copy that arrives second. A datagram is tagged with the key of the
session it goes to on a protected link. From the same records the server confirms
its consists, as an HMI does (``app.model.coupling``): a consist's cab faults (two
masters, no master) go to the alarm topic like any other alarm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from app.clock import wall_ms
from app.counterparts.sim.alarms import AlarmSystem
from app.counterparts.sim.world import World
from app.model.commands import train_device
from app.model.coupling import CouplingChanges, CouplingTracker
from app.protocol.security import MacKey
from app.protocol.train_status import SEQ_MODULUS, status_from_train, unit_report_from_status
from app.protocol.udp import TrainStatus, encode_train_status


class StatusTarget(Protocol):
    """An HMI's link as the sender sees it (a client link)."""

    @property
    def udp_target(self) -> tuple[str, int] | None: ...

    @property
    def udp_key(self) -> MacKey | None: ...


class DatagramSink(Protocol):
    def sendto(self, data: bytes, addr: tuple[str, int]) -> None: ...


class StatusSender:
    """Each tick's train status, to every HMI that named a UDP port.

    ``udp`` is the socket they go out on (None: not listening yet; the consists are
    still watched). ``is_master`` tells whether this server raises the alarms.
    """

    def __init__(
        self, world: World, alarms: AlarmSystem | None, is_master: Callable[[], bool]
    ) -> None:
        self.world = world
        self.alarms = alarms
        self._is_master = is_master
        self.seq = 0
        self.consists = CouplingTracker()  # the server's view of its units' reports
        self.udp: DatagramSink | None = None

    def records(self) -> list[TrainStatus]:
        """This tick's record of every unit that reports (the next sequence number)."""
        self.seq = (self.seq + 1) % SEQ_MODULUS
        now_ms = wall_ms()
        line = self.world.line
        return [
            status_from_train(
                rep.train,
                line,
                seq=self.seq,
                timestamp_ms=now_ms,
                coupling=rep.coupling,
                cab=rep.cab,
                consist=rep.consist,
                unit_index=rep.index,
                unit_count=rep.count,
            )
            for rep in self.world.unit_reports()
        ]

    def send(self, clients: Sequence[StatusTarget]) -> None:
        """One tick: the records, the consists watched, the datagrams sent."""
        records = self.records()
        self.watch_consists(records)
        if self.udp is None:
            return
        plain: list[bytes] | None = None
        for c in clients:
            if c.udp_target is None:
                continue
            key = c.udp_key
            if key is not None:  # a protected link: tagged with its session's key
                datagrams = [encode_train_status(rec, key) for rec in records]
            else:
                if plain is None:
                    plain = [encode_train_status(rec) for rec in records]
                datagrams = plain
            for data in datagrams:
                self.udp.sendto(data, c.udp_target)

    def watch_consists(self, records: Sequence[TrainStatus]) -> None:
        """The server's own confirmation of what its units report: consist cab faults
        (two masters, no master) go to the alarm topic, like any other alarm."""
        world = self.world
        now_ms = int(world.now * 1000)
        tracker = self.consists
        ch = CouplingChanges()
        for rec in records:
            ch.merge(tracker.report(unit_report_from_status(rec), now_ms))
        ch.merge(tracker.tick(now_ms))
        ch.merge(tracker.forget_units(tracker.units() - set(world.trains)))
        if self.alarms is None or not self._is_master():
            return
        manager = self.alarms.manager
        for alarm in ch.alarms:
            kind = f"consist_{alarm.kind.value}"
            device = train_device(alarm.consist)
            if not alarm.active:
                manager.clear_condition(kind, device)
                continue
            view = tracker.get(alarm.consist)
            label = "+".join(u.number for u in view.ordered_units()) if view else device
            station, zone = "", ""
            unit = world.trains.get(alarm.consist)
            if unit is not None:
                section = world.train_state(unit).section
                station, zone = manager.place("section_fault", section)
            manager.raise_alarm(kind, device, station=station, zone=zone, label=label)
