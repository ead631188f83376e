"""The session's values: a server's address, and what the line state took in."""

from __future__ import annotations

from dataclasses import dataclass

from app.model.state import StateDelta, StateSnapshot
from app.protocol.messages import Actuals


@dataclass(frozen=True, slots=True)
class Applied:
    """What the line state took in from ``server``: a snapshot, deltas in order, a day's
    actuals, or None when it dropped its state (stale until the next snapshot)."""

    server: str
    what: StateSnapshot | tuple[StateDelta, ...] | Actuals | None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One server address. ``check_id``: the server must say it is ``server`` (protected
    links); off for addresses given without a server id (``--server`` on the command line)."""

    server: str
    host: str
    port: int
    check_id: bool = True
