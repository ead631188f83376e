"""Train status datagrams from the followed server, to train records and unit reports.

Pure: :class:`TrainFeed` takes one decoded record and what the state knew of its
train, and answers with the train's new record and the unit's coupling report, or
nothing: a record whose section index the line does not have is counted and advances
nothing; one not newer than the last taken for its train (the copy from the other
network, or one UDP reordered) is dropped (``docs/protocol.md``, "UDP train status").
The conversion itself is the protocol's (:mod:`app.protocol.train_status`).
"""

from __future__ import annotations

from app.model.coupling import UnitReport
from app.model.state import TrainState
from app.model.topology import Line
from app.protocol.train_status import (
    NewerOnly,
    section_known,
    train_from_status,
    unit_report_from_status,
)
from app.protocol.udp import TrainStatus


class TrainFeed:
    """The train status of one followed server; :meth:`clear` whenever the state is
    invalidated (another server's sequence numbers mean nothing next to these)."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.newer = NewerOnly()
        #: records naming a section index the line does not have
        self.bad_records = 0

    def take(
        self, rec: TrainStatus, old: TrainState | None
    ) -> tuple[TrainState, UnitReport] | None:
        """The train's record and the unit's report from ``rec`` (``old``: the train's
        record in the state now, if any), or None when ``rec`` is dropped."""
        if not section_known(rec, self.line):
            self.bad_records += 1  # before the sequence: a bad record advances nothing
            return None
        if not self.newer.accept(rec.train_id, rec.seq):
            return None
        return train_from_status(rec, self.line, old), unit_report_from_status(rec)

    def clear(self) -> None:
        self.newer.clear()
