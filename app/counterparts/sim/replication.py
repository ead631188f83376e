"""The master's world, commands and alarms to its standby (REPLICA, every tick), and the
standby's mirror of them (``docs/comms.md``, "Redundancy").

The world goes whole every tick. The command guard's results and the alarms go as the
changes since the last replica, and whole after the partner (re)connects; the alarms
also whole every :data:`ALARMS_FULL_EVERY` ticks, so a standby out of step catches up.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.counterparts.sim.alarms import AlarmSystem
from app.counterparts.sim.guard import CommandGuard
from app.counterparts.sim.world import World
from app.protocol.messages import Replica

# The name the server's log lines have always had.
log = logging.getLogger("app.counterparts.sim.server")

ALARMS_FULL_EVERY = 50  # ticks between full alarm replicas (5 s at the default tick)
#: ticks between replicas with the day's actuals whole (between them: the new ones only)
ACTUALS_FULL_EVERY = 600


class Replicator:
    """One server's side of replication: the replica it sends as master, the mirror it
    keeps as standby."""

    def __init__(self, world: World, guard: CommandGuard, alarms: AlarmSystem | None) -> None:
        self.world = world
        self.guard = guard
        self.alarms = alarms
        self.ticks = 0
        self.full_next = True  # the partner gets everything with the next replica
        self.actuals_sent = 0  # the day's actuals the partner has (the next replica's start)

    def partner_connected(self) -> None:
        """A partner that (re)connects may have missed anything: send it all next time."""
        self.full_next = True

    def replica(self, node: str, epoch: int) -> Replica:
        """This tick's replica, from master ``node`` in ``epoch``."""
        whole = self.full_next or self.ticks % ACTUALS_FULL_EVERY == 0
        service = self.world.service
        body: dict[str, Any] = {
            "world": self.world.export(actuals_from=0 if whole else self.actuals_sent),
            "commands": self.guard.export(full=self.full_next),
        }
        self.ticks += 1
        if self.alarms is not None:
            # Like the guard: the changes every tick, all of them after a (re)connect and
            # every ALARMS_FULL_EVERY ticks (a standby out of step catches up there).
            full = self.full_next or self.ticks % ALARMS_FULL_EVERY == 0
            body["alarms"] = self.alarms.manager.export(full=full)
        self.full_next = False
        self.actuals_sent = len(service.order) if service is not None else 0
        return Replica(node, epoch, self.world.seq, json.dumps(body))

    def mirror(self, msg: Replica) -> None:
        """Become what the master's replica describes (only a standby does)."""
        body = json.loads(msg.body)
        self.world.restore(body["world"])
        self.guard.merge(body["commands"])
        if self.alarms is not None and "alarms" in body:
            try:
                self.alarms.manager.restore(body["alarms"])
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("replica from %s: alarms not mirrored: %s", msg.node, exc)
            else:
                self.alarms.mirrored()  # a takeover raises no start flood of its own
