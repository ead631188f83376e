"""What a link is and says, apart from its I/O: its states and their table, its
timings, what it reports (:mod:`app.comms.link` does the I/O, and tells a
:class:`~app.comms.link.LinkHandler`).

The link's life is a table-driven state machine (``TRANSITIONS``)::

    DOWN -connect-> CONNECTING -connected-> HANDSHAKE -hello-> UP
                        |                       |              |
                       lost                 fail/lost      fail/lost
                        v                       v              v
                      DOWN <-----drained---- DRAINING <--------+
    any -close-> CLOSED
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.backoff import Backoff

__all__ = [
    "TRANSITIONS",
    "LinkDown",
    "LinkEvent",
    "LinkInfo",
    "LinkState",
    "LinkTimings",
]


class LinkState(StrEnum):
    DOWN = "down"
    CONNECTING = "connecting"
    HANDSHAKE = "handshake"
    UP = "up"
    DRAINING = "draining"
    CLOSED = "closed"


class LinkEvent(StrEnum):
    CONNECT = "connect"
    CONNECTED = "connected"
    HELLO = "hello"
    FAIL = "fail"
    DRAINED = "drained"
    LOST = "lost"
    CLOSE = "close"


_S, _E = LinkState, LinkEvent
TRANSITIONS: dict[LinkState, dict[LinkEvent, LinkState]] = {
    _S.DOWN: {_E.CONNECT: _S.CONNECTING, _E.LOST: _S.DOWN, _E.CLOSE: _S.CLOSED},
    _S.CONNECTING: {_E.CONNECTED: _S.HANDSHAKE, _E.LOST: _S.DOWN, _E.CLOSE: _S.CLOSED},
    _S.HANDSHAKE: {
        _E.HELLO: _S.UP,
        _E.FAIL: _S.DRAINING,
        _E.LOST: _S.DOWN,
        _E.CLOSE: _S.CLOSED,
    },
    _S.UP: {_E.FAIL: _S.DRAINING, _E.LOST: _S.DOWN, _E.CLOSE: _S.CLOSED},
    _S.DRAINING: {_E.DRAINED: _S.DOWN, _E.LOST: _S.DOWN, _E.CLOSE: _S.CLOSED},
    _S.CLOSED: {_E.CLOSE: _S.CLOSED, _E.LOST: _S.CLOSED, _E.DRAINED: _S.CLOSED},
}


class LinkDown(ConnectionError):
    """The link is not up: the message was not sent, or its answer will never come."""


@dataclass(frozen=True, slots=True)
class LinkTimings:
    heartbeat_s: float = 0.5
    missed: int = 3
    connect_timeout_s: float = 2.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 5.0
    drain_s: float = 0.5
    max_backlog: int = 1 << 20

    @property
    def dead_after_s(self) -> float:
        return self.heartbeat_s * self.missed

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.reconnect_min_s, self.reconnect_max_s)


@dataclass(frozen=True, slots=True)
class LinkInfo:
    name: str
    server: str
    host: str
    port: int
    state: LinkState
    peer_role: str = ""
    peer_epoch: int = 0
    rtt_ms: float | None = None
    last_rx_age_s: float | None = None
    reconnects: int = 0
    bad_frames: int = 0
    bad_datagrams: int = 0
    last_error: str = ""
    protected: bool = False
    integrity_failures: int = 0
