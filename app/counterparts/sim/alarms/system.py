"""Manager, sources and publisher together, as the server uses them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.alarms.records import SNAPSHOT_PART_SIZE, AlarmEvent
from app.clock import wall_ms
from app.counterparts.sim.alarms.kafka import ConfluentKafka, KafkaIO, Runner
from app.counterparts.sim.alarms.manager import AlarmManager
from app.counterparts.sim.alarms.publisher import AlarmPublisher, check_prefix
from app.counterparts.sim.alarms.sources import AlarmSources, Plant, TrainsNow
from app.model.topology import Line


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
        plant: Plant | None = None,
        clock_ms: Callable[[], int] = wall_ms,
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
            self.manager, rate=settings.rate, seed=settings.seed, trains=trains, plant=plant
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

    def mirrored(self) -> None:
        """This server mirrors a master's alarms: the start's flood was that master's (it is
        on the topic and in the mirror), so a takeover never raises it again."""
        self._flood_left = 0

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

    async def aclose(self) -> None:
        """Flush what the producer holds and stop it; a second call does nothing."""
        await self.publisher.aclose()
