"""Which server the workstation follows (``docs/comms.md``, "Redundancy"), decided from
what its links know: whether each is up, and the role and epoch its server last claimed.

Pure: :func:`choose_master` reads the links' claims, :func:`elect` compares the new
choice with the one before and says what follows from it (:class:`MasterChange`: the
state to rebuild, a failover to count, the dual-master alarm to raise or clear).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

#: The local alarm raised while two servers claim master at once (双主, split brain).
DUAL_MASTER: Final = "dual_master"


class LinkClaim(Protocol):
    """What the election needs of a link (:class:`app.comms.link.ServerLink` has it)."""

    @property
    def server(self) -> str: ...

    @property
    def peer_role(self) -> str: ...

    @property
    def peer_epoch(self) -> int: ...

    def is_up(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class MasterView:
    """Which server the line state comes from, and what it claims to be.

    ``role`` is ``master`` normally. When no master is reachable on any network
    but a standby is, the standby's mirrored state is shown (``role`` is
    ``standby``) and commands are refused until a master is back.
    """

    server: str | None
    epoch: int
    claimants: tuple[tuple[str, int], ...]
    role: str = "master"

    @property
    def split_brain(self) -> bool:
        return len(self.claimants) > 1

    @property
    def can_command(self) -> bool:
        return self.server is not None and self.role == "master"

    def follows(self, server: str) -> bool:
        """Whether state and datagrams from ``server`` are taken: only the followed one's."""
        return self.server is not None and server == self.server


#: Nobody followed: before any link is up, or with every server gone.
NO_MASTER: Final = MasterView(None, 0, ())


def choose_master(links: Sequence[LinkClaim], current: str | None) -> MasterView:
    """The server to follow: the master with the highest epoch among links that are up.

    Equal epochs from two servers (should never happen) keep the current one, else
    the lower server id, so the choice never flaps between them. With no master
    reachable, the best reachable standby, for its state only.
    """
    for role in ("master", "standby"):
        epochs: dict[str, int] = {}
        for link in links:
            if link.is_up() and link.peer_role == role:
                epochs[link.server] = max(epochs.get(link.server, 0), link.peer_epoch)
        if epochs:
            ranked = sorted(epochs.items(), key=lambda kv: (-kv[1], kv[0] != current, kv[0]))
            server, epoch = ranked[0]
            claimants = tuple(sorted(epochs.items())) if role == "master" else ()
            return MasterView(server, epoch, claimants, role)
    return NO_MASTER


@dataclass(frozen=True, slots=True)
class MasterChange:
    """The choice before (``old``) and now (``new``), and what follows from it."""

    old: MasterView
    new: MasterView

    @property
    def changed(self) -> bool:
        """Anything about the followed server differs: listeners are told."""
        return self.new != self.old

    @property
    def switched(self) -> bool:
        """Another server followed, or the same one in another role: the state shown is
        no longer current, consists confirmed from the old one no longer count, and a
        snapshot must be asked of the new one."""
        return (self.new.server, self.new.role) != (self.old.server, self.old.role)

    @property
    def failover(self) -> bool:
        """A master was followed before and another (or none) is now."""
        return self.switched and self.old.server is not None

    @property
    def dual_master(self) -> tuple[bool, str] | None:
        """(active, text) of the dual-master alarm when split brain began or ended."""
        new = self.new
        if new.split_brain == self.old.split_brain:
            return None
        if not new.split_brain:
            return False, "dual master cleared"
        names = ", ".join(f"{s} (epoch {e})" for s, e in new.claimants)
        return True, f"dual master: {names} all claim master; following {new.server}"


def elect(links: Sequence[LinkClaim], old: MasterView) -> MasterChange:
    """Choose again from ``links``, the current choice being ``old``."""
    return MasterChange(old, choose_master(links, old.server))
