"""Train status both ways: a unit's model state and its UDP record (``docs/protocol.md``,
"UDP train status"). The simulator builds records with :func:`status_from_train`; the
workstation reads them back with :func:`train_from_status` and
:func:`unit_report_from_status`, keeping only newer ones (:class:`NewerOnly`).

Units on the wire: offsets in whole centimetres, speeds in whole 0.1 km/h (rounded to
the nearest), enums as their index in :data:`~app.protocol.udp.DIRECTIONS`,
:data:`~app.protocol.udp.COUPLING_STATES` and :data:`~app.protocol.udp.CAB_ROLES`, the
section as its position in the line file. The record has no room for ``held`` (扣车),
and its timestamp is when it was sent, not when the train entered its section: the
receiver takes both from the state it already has (:func:`train_from_status`).
"""

from __future__ import annotations

from typing import Final

from app.model.coupling import UnitReport
from app.model.state import CabRole, CouplingState, TrainState
from app.model.topology import Direction, Line
from app.protocol.udp import CAB_ROLES, COUPLING_STATES, DIRECTIONS, TrainStatus

#: Status sequence numbers are 32 bits: they wrap around to 0 after 2**32 - 1.
SEQ_MODULUS: Final = 1 << 32
_HALF: Final = SEQ_MODULUS >> 1


class UnknownSection(LookupError):
    """A record's section index is past the end of the line's sections."""


def seq_newer(seq: int, last: int) -> bool:
    """Whether ``seq`` comes after ``last``: ``0 < (seq - last) mod 2**32 < 2**31``."""
    return 0 < (seq - last) % SEQ_MODULUS < _HALF


class NewerOnly:
    """The newer-only rule, per train: the last sequence number accepted for each train.

    The same record arrives once per network, and UDP may reorder or repeat: only a
    record newer than the last one accepted for its train is taken (the first one for a
    train always is). :meth:`clear` forgets every train (the state was invalidated).
    """

    def __init__(self) -> None:
        self.last: dict[int, int] = {}

    def accept(self, train_id: int, seq: int) -> bool:
        """Take ``seq`` for ``train_id`` if it is newer; False (nothing changes) if not."""
        last = self.last.get(train_id)
        if last is not None and not seq_newer(seq, last):
            return False
        self.last[train_id] = seq
        return True

    def clear(self) -> None:
        self.last.clear()


# -- model -> wire (the server) -----------------------------------------------------------


def status_from_train(
    train: TrainState,
    line: Line,
    *,
    seq: int,
    timestamp_ms: int,
    coupling: CouplingState | None = None,
    cab: CabRole | None = None,
    consist: int = 0,
    unit_index: int = 0,
    unit_count: int = 0,
) -> TrainStatus:
    """The record a server sends for ``train`` in status cycle ``seq``.

    ``coupling`` and ``cab`` are what the unit reports (the train's own by default; a
    simulated fault may make a unit report something else). The consist fields are
    all 0 for "not given" (a unit alone). Raises :class:`UnknownSection` when ``line``
    has no section ``train.section``.
    """
    index = line.section_index.get(train.section)
    if index is None:
        raise UnknownSection(f"section {train.section!r} is not in line {line.id}")
    return TrainStatus(
        seq % SEQ_MODULUS,
        timestamp_ms,
        train.id,
        train.number,
        index,
        round(train.offset_m * 100),
        round(train.speed_kmh * 10),
        DIRECTIONS.index(train.direction.value),
        COUPLING_STATES.index((train.coupling if coupling is None else coupling).value),
        CAB_ROLES.index((train.cab if cab is None else cab).value),
        consist,
        unit_index,
        unit_count,
    )


# -- wire -> model (the workstation) ------------------------------------------------------


def section_known(rec: TrainStatus, line: Line) -> bool:
    """Whether ``line`` has a section at the record's index."""
    return rec.section_index < len(line.sections)


def train_from_status(rec: TrainStatus, line: Line, old: TrainState | None = None) -> TrainState:
    """The train ``rec`` describes, given what was known of it before (``old``).

    ``since_ms`` is when the train entered its section: kept from ``old`` while the
    train is in the same section running the same way, else the record's timestamp.
    ``held`` is kept from ``old`` (False for a train not known yet). Raises
    :class:`UnknownSection` when ``line`` has no section at the record's index.
    """
    if not section_known(rec, line):
        raise UnknownSection(
            f"section index {rec.section_index} is not in line {line.id} "
            f"({len(line.sections)} sections)"
        )
    section = line.sections[rec.section_index].id
    direction = Direction(DIRECTIONS[rec.direction])
    same_place = old is not None and (old.section, old.direction) == (section, direction)
    return TrainState(
        rec.train_id,
        rec.number,
        section,
        rec.offset_cm / 100,
        rec.speed_dkmh / 10,
        direction,
        CouplingState(COUPLING_STATES[rec.coupling]),
        CabRole(CAB_ROLES[rec.cab]),
        old.since_ms if old is not None and same_place else rec.timestamp_ms,
        old.held if old is not None else False,
    )


def unit_report_from_status(rec: TrainStatus) -> UnitReport:
    """The unit's coupling report in ``rec`` (a unit alone: its own consist, 0 of 1)."""
    consist, index, count = rec.consist_fields()
    return UnitReport(
        rec.train_id,
        rec.number,
        rec.seq,
        consist,
        index,
        count,
        CouplingState(COUPLING_STATES[rec.coupling]),
        CabRole(CAB_ROLES[rec.cab]),
    )
