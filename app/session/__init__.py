"""The dispatcher's session: links to the server pair, the line state, and commands.

:class:`DispatcherSession` (``dispatcher.py``) composes the pure parts around the links:

- ``election.py``: which server to follow (:func:`choose_master`, :class:`MasterView`);
- ``sequencing.py``: the followed server's deltas in order over two networks;
- ``trains.py``: its train status datagrams, newer only, to train records;
- ``commands.py``: what a command sends, and the outcomes given without an answer;
- ``health.py``: redundancy and networks told as local alarms (a table of conditions).
"""

from app.session.dispatcher import (
    COUPLING_WATCH_S,
    SNAPSHOT_RETRY_S,
    DispatcherSession,
)
from app.session.election import MasterView, choose_master
from app.session.health import Condition, FailoverCause, LocalAlarm
from app.session.sequencing import REORDER_MAX, REORDER_WINDOW_S
from app.session.values import Applied, Endpoint

__all__ = [
    "COUPLING_WATCH_S",
    "REORDER_MAX",
    "REORDER_WINDOW_S",
    "SNAPSHOT_RETRY_S",
    "Applied",
    "Condition",
    "DispatcherSession",
    "Endpoint",
    "FailoverCause",
    "LocalAlarm",
    "MasterView",
    "choose_master",
]
