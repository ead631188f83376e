"""The black box's records: how one is framed on disk, and what each kind holds.

Sans-I/O: bytes in, records out. A file is a header (:data:`MAGIC`, the format
version) followed by records, each::

    u32 length of body | u32 CRC-32 of (time, kind, body) | i64 time_ms | u8 kind | body

little-endian, the body msgpack (msgspec); a body over :data:`PACK_OVER` bytes is
stored deflated (zlib) when that is smaller, the kind's top bit (:data:`PACKED`)
set. ``time_ms`` is the workstation's wall clock when the record was made; records
of one file are in time order.

A record is whole or absent: :func:`scan` stops at the first record whose length
runs past the end or whose CRC does not match (the torn tail a kill leaves), and
says where the good part ends, so the writer can truncate there
(``docs/replay.md``, "On disk").
"""

from __future__ import annotations

import mmap
import struct
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import msgspec

from app.alarms.records import AlarmEvent
from app.alarms.rows import ListFrame
from app.comms.linkstate import LinkInfo
from app.control.pipeline import CommandRecord
from app.model.state import StateDelta, StateSnapshot, TrainState
from app.protocol.messages import Actuals
from app.session.election import MasterView
from app.session.health import LocalAlarm

MAGIC = b"DHBX"
#: the file format's version; a reader refuses a file of a version it does not know
VERSION = 1
FILE_HEADER = struct.Struct("<4sH")
HEADER = struct.Struct("<IIqB")
#: a body past this is refused as damage (a keyframe of a big line is ~100 kB)
MAX_BODY = 64 * 1024 * 1024
#: bodies longer than this are deflated (keyframes, train samples, busy deltas: their
#: field names repeat); shorter ones would not shrink enough to pay for it
PACK_OVER = 256
#: the kind byte's flag for a deflated body
PACKED = 0x80


class Kind(IntEnum):
    """What a record holds. The values are on disk: never reuse one."""

    META = 0  #: who recorded, which line, the sampling (first in every file)
    KEYFRAME = 1  #: everything the views show, whole: a seek starts here
    SNAPSHOT = 2  #: a server's SNAPSHOT as the session applied it
    DELTAS = 3  #: DELTAs the session applied, in order
    TRAINS = 4  #: the trains that moved since the last sample (sampled, ``train_sample_ms``)
    INVALID = 5  #: the session dropped its state (a gap, a failover): stale until a snapshot
    ACTUALS = 6  #: an ACTUALS message the session applied
    ALARM = 7  #: an alarm record as read from the day's topic (its Kafka bytes)
    LOCAL_ALARM = 8  #: an alarm the workstation raised or cleared itself
    LINKS = 9  #: the links whose state changed
    MASTER = 10  #: the followed server changed (a failover is a switchover marker)
    COMMAND = 11  #: a command's outcome, as audited
    END = 12  #: the recorder closed the file cleanly
    LOCAL_EVENT = 13  #: an event of a workstation's own alarm, into its alarm list
    CLIP_END = 14  #: a clip's last record: its size and digest (``app/replay/clip.py``)


class RecordError(ValueError):
    """A record or file that cannot be read: says where and what."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


# -- the bodies --------------------------------------------------------------------------


class Meta(msgspec.Struct, frozen=True):
    line: str
    digest: str
    node: str
    dispatcher: str
    role: str
    started_ms: int
    timezone: str
    timetable: str = ""
    train_sample_ms: int = 1000
    keyframe_ms: int = 30_000
    version: int = VERSION


class SnapshotBody(msgspec.Struct, frozen=True):
    server: str
    snapshot: StateSnapshot


class DeltasBody(msgspec.Struct, frozen=True):
    server: str
    deltas: tuple[StateDelta, ...]


class TrainsBody(msgspec.Struct, frozen=True):
    trains: tuple[TrainState, ...]


class InvalidBody(msgspec.Struct, frozen=True):
    server: str


class ActualsBody(msgspec.Struct, frozen=True):
    server: str
    actuals: Actuals


class AlarmBody(msgspec.Struct, frozen=True):
    """``record``: the topic's record exactly as read (``app.alarms.records``)."""

    topic: str
    offset: int
    record: bytes


class LocalAlarmBody(msgspec.Struct, frozen=True):
    """The session's own alarm raised or cleared (its active set, the status bar)."""

    alarm: LocalAlarm


class LocalEventBody(msgspec.Struct, frozen=True):
    """An event the alarm list took in for one of the workstation's own alarms."""

    event: AlarmEvent


class LinksBody(msgspec.Struct, frozen=True):
    """The links whose state, peer, counters or cause changed (the others as they were;
    a keyframe holds them all, round trips and ages too)."""

    links: tuple[LinkInfo, ...]


class MasterBody(msgspec.Struct, frozen=True):
    """``failover``: the followed master was lost and another followed (a switchover);
    ``old``: the last server followed as master before this change ("" at first)."""

    old: str
    view: MasterView
    failover: bool


class CommandBody(msgspec.Struct, frozen=True):
    record: CommandRecord
    dispatcher: str
    node: str


class KeyframeBody(msgspec.Struct, frozen=True):
    """Everything the views show at ``time_ms``: a seek applies this, then what follows.

    ``state``: the line state as a snapshot (``synchronised`` False: shown stale);
    ``service``: the service day and time in it as last told, and how long before the
    keyframe it was told (empty and 0 without a plan).
    """

    server: str
    synchronised: bool
    state: StateSnapshot
    service_date: str
    service_ms: int  # as last told, ``service_age_ms`` before the keyframe
    service_age_ms: int
    alarms: ListFrame | None
    local: tuple[LocalAlarm, ...]
    links: tuple[LinkInfo, ...]
    master: MasterView


class EndBody(msgspec.Struct, frozen=True):
    records: int


class ClipEnd(msgspec.Struct, frozen=True):
    """``records`` before it; ``sha256`` (hex) of every byte of the clip before it."""

    records: int
    sha256: str
    start_ms: int
    end_ms: int


BODY_TYPES: dict[Kind, type[Any]] = {
    Kind.META: Meta,
    Kind.KEYFRAME: KeyframeBody,
    Kind.SNAPSHOT: SnapshotBody,
    Kind.DELTAS: DeltasBody,
    Kind.TRAINS: TrainsBody,
    Kind.INVALID: InvalidBody,
    Kind.ACTUALS: ActualsBody,
    Kind.ALARM: AlarmBody,
    Kind.LOCAL_ALARM: LocalAlarmBody,
    Kind.LINKS: LinksBody,
    Kind.MASTER: MasterBody,
    Kind.COMMAND: CommandBody,
    Kind.END: EndBody,
    Kind.LOCAL_EVENT: LocalEventBody,
    Kind.CLIP_END: ClipEnd,
}
KIND_OF: dict[type[Any], Kind] = {t: k for k, t in BODY_TYPES.items()}

_encoder = msgspec.msgpack.Encoder()
_decoders = {k: msgspec.msgpack.Decoder(t) for k, t in BODY_TYPES.items()}


# -- framing ------------------------------------------------------------------------------


def file_header() -> bytes:
    return FILE_HEADER.pack(MAGIC, VERSION)


def check_file_header(data: bytes, where: str) -> int:
    """The offset of the first record; RecordError when ``data`` is not a black-box file."""
    if len(data) < FILE_HEADER.size:
        raise RecordError(where, "shorter than the file header")
    magic, version = FILE_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise RecordError(where, f"not a black-box file (starts {magic!r})")
    if version != VERSION:
        raise RecordError(where, f"format version {version}; this program reads {VERSION}")
    return FILE_HEADER.size


def frame(time_ms: int, body: msgspec.Struct) -> bytes:
    """One record, whole: header and body (deflated when long and it pays)."""
    kind = int(KIND_OF[type(body)])
    data = _encoder.encode(body)
    if len(data) > PACK_OVER:
        packed = zlib.compress(data, 1)
        if len(packed) < len(data):
            data, kind = packed, kind | PACKED
    head = struct.pack("<qB", time_ms, kind)
    crc = zlib.crc32(data, zlib.crc32(head))
    return struct.pack("<II", len(data), crc) + head + data


@dataclass(slots=True)
class Columns:
    """Where records are, one column per field (a day holds about a million):
    their times, kinds, body offsets and sizes, in the order found."""

    times: array[int] = field(default_factory=lambda: array("q"))
    kinds: array[int] = field(default_factory=lambda: array("B"))  # without PACKED
    packed: array[int] = field(default_factory=lambda: array("B"))  # 1: the body is deflated
    offsets: array[int] = field(default_factory=lambda: array("q"))
    sizes: array[int] = field(default_factory=lambda: array("I"))

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True, slots=True)
class Scan:
    """What :func:`scan` found: the whole records, where the good part ends, and why it
    ended there ("" at the end of the data; else the damage, with its offset)."""

    records: Columns
    end: int
    damage: str


_KINDS = frozenset(int(k) for k in Kind)


def scan(data: bytes | memoryview | mmap.mmap, start: int) -> Scan:
    """Every whole record of ``data`` from ``start``; stops at the first torn one."""
    cols = Columns()
    times, kinds, offsets, sizes, packed = (
        cols.times,
        cols.kinds,
        cols.offsets,
        cols.sizes,
        cols.packed,
    )
    pos = start
    n = len(data)
    unpack = HEADER.unpack_from
    size = HEADER.size
    crc32 = zlib.crc32
    view = memoryview(data)
    damage = ""
    while pos < n:
        if n - pos < size:
            damage = f"a torn header at byte {pos}"
            break
        length, crc, time_ms, kind = unpack(view, pos)
        body_at = pos + size
        if length > MAX_BODY or body_at + length > n:
            damage = f"a record at byte {pos} runs past the end ({length} bytes)"
            break
        if crc32(view[body_at : body_at + length], crc32(view[pos + 8 : body_at])) != crc:
            damage = f"a record at byte {pos} fails its CRC"
            break
        if kind & ~PACKED not in _KINDS:
            damage = f"a record at byte {pos} has an unknown kind {kind}"
            break
        times.append(time_ms)
        kinds.append(kind & ~PACKED)
        packed.append(kind >> 7)
        offsets.append(body_at)
        sizes.append(length)
        pos = body_at + length
    view.release()
    return Scan(cols, pos, damage)


def decode(kind: Kind, data: bytes | memoryview, where: str, *, packed: bool = False) -> Any:
    """A record's body as its type (``packed``: deflated on disk); RecordError naming
    ``where`` when it does not decode."""
    try:
        if packed:  # at most MAX_BODY out (a crafted clip must not exhaust memory)
            inflate = zlib.decompressobj()
            data = inflate.decompress(data, MAX_BODY)
            if inflate.unconsumed_tail:
                raise ValueError(f"a deflated body inflates past {MAX_BODY} bytes")
        return _decoders[kind].decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
        raise RecordError(where, f"{kind.name.lower()}: {exc}") from exc
    except zlib.error as exc:
        raise RecordError(where, f"{kind.name.lower()}: not deflated as marked: {exc}") from exc


def iter_records(data: bytes, where: str) -> Iterator[tuple[int, Kind, Any]]:
    """Each whole record of a file's bytes, decoded (the torn tail left out):
    its time, its kind and its body."""
    start = check_file_header(data, where)
    cols = scan(data, start).records
    view = memoryview(data)
    rows = zip(cols.times, cols.kinds, cols.offsets, cols.sizes, cols.packed, strict=True)
    for t, k, off, size, packed in rows:
        kind = Kind(k)
        yield t, kind, decode(kind, view[off : off + size], where, packed=bool(packed))
