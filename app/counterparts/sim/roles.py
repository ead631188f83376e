"""Master and standby between the two servers of a pair (``docs/comms.md``, "Redundancy").

Pure: :class:`RoleRules` is told what the partner says and what time it is, and
answers when this server must step down or take over:

- a standby that hears no master for the dead interval promotes itself, with an
  epoch one above the highest it has seen;
- a master that hears another master with a higher epoch (or the same epoch and a
  lower node id) demotes itself to standby.

Also the roles a HELLO may name, and which of them may command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

#: the roles the two servers of a pair give themselves
SERVER_ROLES: Final = ("master", "standby")
#: the roles a workstation logs in with (``app.model.roles.Role``)
HMI_ROLES: Final = ("dispatcher", "supervisor", "observer")
#: the roles whose sessions may command
COMMANDING_ROLES: Final = ("dispatcher", "supervisor")


@dataclass(slots=True)
class RoleRules:
    """Master/standby arbitration between the two servers, kept apart from the I/O."""

    node: str
    role: str
    epoch: int
    dead_after_s: float
    last_master_heard: float = field(default_factory=time.monotonic)
    highest_epoch_seen: int = 0

    def heard(self, node: str, role: str, epoch: int, now: float) -> str | None:
        """A peer said its role and epoch. Returns "demote" when this server must step down."""
        self.highest_epoch_seen = max(self.highest_epoch_seen, epoch)
        if role != "master" or node == self.node:
            return None
        self.last_master_heard = now
        if self.role == "master" and (epoch, self.node) > (self.epoch, node):
            self.role = "standby"
            return "demote"
        return None

    def tick(self, now: float) -> str | None:
        """Returns "promote" when a standby has heard no master for too long."""
        if self.role == "standby" and now - self.last_master_heard > self.dead_after_s:
            self.role = "master"
            self.epoch = max(self.epoch, self.highest_epoch_seen) + 1
            return "promote"
        return None
