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
    #: why the link last failed, as a code (:class:`LinkCause`) and its parameter; the
    #: views say it in their language, ``last_error`` is the log's English detail
    cause: str = ""
    cause_param: str = ""


class LinkCause(StrEnum):
    """Why a link last failed (:attr:`LinkInfo.cause`); the parameter in brackets."""

    NONE = ""
    CONNECTION_REFUSED = "connection_refused"  # nothing listens at the address
    TIMEOUT = "timeout"  # no answer in time (connecting, or the handshake)
    NETWORK = "network"  # another socket error (host or network unreachable...)
    REFUSED = "refused"  # the server refused the HELLO (its LinkRefusal code)
    HEARTBEAT = "heartbeat_timeout"  # no whole frame for too long (seconds)
    NOT_READING = "peer_not_reading"  # the peer stopped reading (bytes waiting)
    BAD_FRAME = "bad_frame"  # a frame that breaks the protocol
    INTEGRITY = "integrity"  # protection failures past the threshold (the last kind)
    WRONG_LINE = "wrong_line"  # the server serves another line (its line id)
    LOST = "connection_lost"  # the connection broke
    CLOSED = "closed_by_peer"  # the peer closed it


def cause_of(exc: BaseException) -> tuple[LinkCause, str]:
    """The cause of an exception that ended a connection attempt or a session."""
    code = getattr(exc, "code", None)
    if getattr(exc, "kind", None) == "refused" and isinstance(code, str):
        return LinkCause.REFUSED, code
    if isinstance(exc, ConnectionRefusedError):
        return LinkCause.CONNECTION_REFUSED, ""
    if isinstance(exc, TimeoutError):
        return LinkCause.TIMEOUT, ""
    if isinstance(exc, OSError):
        return LinkCause.NETWORK, exc.strerror or type(exc).__name__
    return LinkCause.BAD_FRAME, ""
