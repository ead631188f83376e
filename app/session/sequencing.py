"""The order of the followed server's deltas, as they arrive over two networks
(``docs/protocol.md``, "Session", item 3).

Every delta comes once per network, numbered by the server. :class:`DeltaSequencer`
decides what each one means against the state's sequence number: the next one (apply
it, with any held behind it), a repeat (the copy from the other network), or one
ahead of its predecessor, which is held for up to :data:`REORDER_WINDOW_S` (at most
:data:`REORDER_MAX`) waiting for that predecessor from the other network; only then
is it a gap, answered by a snapshot request.

Pure: time is passed in (``now``, any monotonic seconds) and the window's end is
acted on only when the owner calls :meth:`DeltaSequencer.expire`, at or after
:attr:`DeltaSequencer.deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from app.model.state import SequenceGap, StateDelta

#: How long an out-of-order delta may wait for the one before it (from the other network).
REORDER_WINDOW_S: Final = 0.5
#: How many deltas may wait at most; one more is a gap at once.
REORDER_MAX: Final = 64


@dataclass(frozen=True, slots=True)
class NotSynchronised:
    """No snapshot applied yet: deltas mean nothing until one is."""


@dataclass(frozen=True, slots=True)
class Stale:
    """Not above the state's sequence number: a repeat (count it, apply nothing)."""


@dataclass(frozen=True, slots=True)
class Held:
    """Ahead of its predecessor: held. ``started``: the window began with it (the owner
    must call :meth:`DeltaSequencer.expire` at :attr:`DeltaSequencer.deadline`)."""

    started: bool


@dataclass(frozen=True, slots=True)
class Gap:
    """A delta is lost: the state must be invalidated and a snapshot asked for."""

    gap: SequenceGap


@dataclass(frozen=True, slots=True)
class Apply:
    """Apply these, in order: the delta offered, then those held right behind it."""

    deltas: tuple[StateDelta, ...]


Verdict = NotSynchronised | Stale | Held | Gap | Apply


class DeltaSequencer:
    """The reorder window over one server's deltas; see the module's docstring."""

    def __init__(self, window_s: float = REORDER_WINDOW_S, max_held: int = REORDER_MAX) -> None:
        self.window_s = window_s
        self.max_held = max_held
        self.held: dict[int, StateDelta] = {}
        #: when the wait for the oldest missing delta ends (None: nothing is held)
        self.deadline: float | None = None

    @staticmethod
    def snapshot_is_news(state_seq: int | None, snapshot_seq: int) -> bool:
        """Whether a snapshot is to be applied: always while the state is not
        synchronised; otherwise only when it is newer (one not newer is the greeting on
        the server's other network, with nothing new in it)."""
        return state_seq is None or snapshot_seq > state_seq

    def offer(self, state_seq: int | None, delta: StateDelta, now: float) -> Verdict:
        """What ``delta`` means, the state standing at ``state_seq`` (None: no snapshot)."""
        if state_seq is None:
            return NotSynchronised()
        if delta.seq <= state_seq:
            return Stale()
        if delta.seq > state_seq + 1:
            # Maybe the one before it is still on its way over the other network.
            self.held[delta.seq] = delta
            if len(self.held) > self.max_held:
                self.clear()
                return Gap(SequenceGap(state_seq + 1, delta.seq))
            if self.deadline is None:
                self.deadline = now + self.window_s
                return Held(started=True)
            return Held(started=False)
        run = [delta]
        while (nxt := self.held.pop(run[-1].seq + 1, None)) is not None:
            run.append(nxt)
        last = run[-1].seq
        self.held = {s: d for s, d in self.held.items() if s > last}
        if not self.held:
            self.deadline = None
        return Apply(tuple(run))

    def expire(self, state_seq: int | None, now: float) -> Gap | None:
        """The window's end: a delta still held means the one before it is lost (a gap).

        None before :attr:`deadline` (the owner's timer fired early: call again at
        :attr:`deadline`, which is unchanged) and when nothing waits.
        """
        if self.deadline is None or now < self.deadline:
            return None
        self.deadline = None
        if not self.held or state_seq is None:
            self.held.clear()
            return None
        gap = Gap(SequenceGap(state_seq + 1, min(self.held)))
        self.clear()
        return gap

    def clear(self) -> None:
        """Forget what is held (a snapshot came, or the state was invalidated)."""
        self.held.clear()
        self.deadline = None
