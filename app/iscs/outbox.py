"""The HMI's outbox of hand-offs: kept until the ISCS program acknowledges each id.

Ownership: the outbox owns a hand-off from :meth:`put` until the child's ACK
of its id (:meth:`acked`); the child owns what it decoded. Delivery is at least
once (after a reconnect or a relaunch, everything unacknowledged is sent
again: :meth:`rewind`, then :meth:`unsent`; the writer marks what it wrote
with :meth:`mark_sent`); the child drops an id it has already handled, so
each is handled once.

Bounded: at most ``capacity`` hand-offs. When full, the oldest one of the same
kind is replaced (a newer "show station" supersedes an older one), else the
oldest of any kind; either way the caller is told what was dropped, so the
dispatcher can be. Never unbounded growth.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from app.iscs.messages import Handoff

CAPACITY = 64


@dataclass(frozen=True, slots=True)
class PutResult:
    handoff: Handoff
    superseded: Handoff | None = None  # dropped to make room (the dispatcher is told)


class Outbox:
    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._items: OrderedDict[str, Handoff] = OrderedDict()  # id -> hand-off, oldest first
        self._sent: set[str] = set()  # ids written on the current connection
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, handoff_id: object) -> bool:
        return handoff_id in self._items

    def put(self, handoff: Handoff) -> PutResult:
        if handoff.id in self._items:
            return PutResult(handoff)
        superseded = None
        if len(self._items) >= self.capacity:
            same = next((h for h in self._items.values() if h.kind is handoff.kind), None)
            victim = same or next(iter(self._items.values()))
            del self._items[victim.id]
            self._sent.discard(victim.id)
            self.dropped += 1
            superseded = victim
        self._items[handoff.id] = handoff
        return PutResult(handoff, superseded)

    def unsent(self) -> list[Handoff]:
        """Hand-offs not yet written on the current connection, oldest first."""
        return [h for hid, h in self._items.items() if hid not in self._sent]

    def mark_sent(self, handoff_id: str) -> None:
        if handoff_id in self._items:
            self._sent.add(handoff_id)

    def rewind(self) -> None:
        """A new connection (or a relaunched program): everything unacknowledged goes again."""
        self._sent.clear()

    def acked(self, handoff_id: str) -> Handoff | None:
        """The child has it: the outbox lets go. None for an id it no longer holds."""
        self._sent.discard(handoff_id)
        return self._items.pop(handoff_id, None)

    def pending(self) -> list[Handoff]:
        return list(self._items.values())
