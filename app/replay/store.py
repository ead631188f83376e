"""The black box on disk: a folder per day, a file per recorder run, retention in days.

Layout (``docs/replay.md``, "On disk")::

    <root>/<YYYY-MM-DD>/<node>-<HHMMSS>-<pid>.dhbx

The day is the line's calendar day of the record's time. A recorder writes one
file at a time and holds an exclusive lock on it while it does; it starts a new
file at start and at midnight, and never appends to an old one. At start it
truncates the torn tail a kill left in the unlocked files of the last two days
(their whole records stay). Days older than the retention are deleted.

:class:`Writer` appends records; :meth:`Writer.flush` hands the buffered ones to
the OS (a killed process loses nothing handed over), :meth:`Writer.sync` makes
them durable (fsync). :class:`Recording` reads the files of a day (or a clip),
merged by time, with their index in columns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import logging
import mmap
import os
import re
import shutil
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec

from app.clock import zone
from app.replay.format import (
    FILE_HEADER,
    HEADER,
    Columns,
    Kind,
    RecordError,
    check_file_header,
    decode,
    file_header,
    frame,
    scan,
)

log = logging.getLogger(__name__)

SUFFIX = ".dhbx"
DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def day_of(time_ms: int, tz: str) -> dt.date:
    """The line's calendar day of ``time_ms``."""
    return dt.datetime.fromtimestamp(time_ms / 1000, zone(tz)).date()


def next_midnight_ms(time_ms: int, tz: str) -> int:
    day = day_of(time_ms, tz) + dt.timedelta(days=1)
    return int(dt.datetime.combine(day, dt.time(), zone(tz)).timestamp() * 1000)


def day_dir(root: Path, day: dt.date) -> Path:
    return root / day.isoformat()


def days(root: Path) -> list[dt.date]:
    """The days recorded under ``root``, oldest first."""
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        if p.is_dir() and DAY_DIR.match(p.name):
            with contextlib.suppress(ValueError):
                out.append(dt.date.fromisoformat(p.name))
    return sorted(out)


#: a file's name: the desk (workstation id), the time it started, the process, a number
FILE_NAME = re.compile(r"^(?P<desk>.+)-\d{6}-\d+(?:-\d+)?" + re.escape(SUFFIX) + "$")


def desk_of(path: Path) -> str:
    """The workstation that wrote ``path`` (from its name; "" when not one of ours)."""
    m = FILE_NAME.match(path.name)
    return m.group("desk") if m else ""


def day_files(root: Path, day: dt.date, desk: str | None = None) -> list[Path]:
    """The day's files, of one desk (``desk``) or of every desk (None)."""
    d = day_dir(root, day)
    files = sorted(d.glob(f"*{SUFFIX}")) if d.is_dir() else []
    return files if desk is None else [f for f in files if desk_of(f) == desk]


def desks(root: Path, day: dt.date) -> list[str]:
    """The workstations that recorded on ``day`` in ``root`` (one folder may hold several:
    two desks on one machine, or a shared folder)."""
    return sorted({desk_of(f) for f in day_files(root, day)} - {""})


def apply_retention(root: Path, today: dt.date, keep_days: int) -> list[dt.date]:
    """Delete the days older than ``keep_days`` (today counts as one); the days deleted."""
    gone = []
    recorded = days(root)
    newest = set(recorded[-keep_days:])  # kept whatever the clock says (a clock set ahead)
    for day in recorded:
        if (today - day).days >= keep_days and day not in newest:
            shutil.rmtree(day_dir(root, day), ignore_errors=True)
            gone.append(day)
    if gone:
        log.info("black box: %d days past the %d-day retention deleted", len(gone), keep_days)
    return gone


def disk_used(root: Path, day: dt.date) -> int:
    return sum(p.stat().st_size for p in day_files(root, day))


# -- the lock a writer holds on its file -------------------------------------------------


#: where the writer's lock is taken on Windows: one byte far past any end, so that the
#: lock (mandatory there) keeps no reader from the records
LOCK_AT = 1 << 40

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        """An exclusive, non-blocking lock on an open file; False when another holds it."""
        here = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, LOCK_AT, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, here, os.SEEK_SET)
        return True

    def _unlock(fd: int) -> None:
        here = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, LOCK_AT, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.lseek(fd, here, os.SEEK_SET)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        """An exclusive, non-blocking lock on an open file; False when another holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class Repair:
    path: Path
    kept: int  # bytes of whole records kept
    cut: int  # bytes of the torn tail cut off
    damage: str


def repair(path: Path) -> Repair | None:
    """Truncate ``path``'s torn tail if no writer holds it; None when it is whole or held."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        if not _try_lock(fd):
            return None  # a recorder is writing it now
        size = os.fstat(fd).st_size
        if size < FILE_HEADER.size:  # killed before its header was down: nothing in it
            os.close(fd)
            fd = -1
            path.unlink()
            log.warning("black box %s: empty (%d bytes), deleted", path, size)
            return Repair(path, 0, size, "empty")
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as data:
            try:
                start = check_file_header(data[: FILE_HEADER.size], str(path))
            except RecordError:
                return None  # not ours to cut
            found = scan(data, start)
        if found.end >= size:
            return None
        os.ftruncate(fd, found.end)
        os.fsync(fd)
        log.warning(
            "black box %s: %s; the torn tail (%d bytes) cut, %d bytes kept",
            path,
            found.damage,
            size - found.end,
            found.end,
        )
        return Repair(path, found.end, size - found.end, found.damage)
    finally:
        if fd >= 0:
            os.close(fd)


def repair_recent(root: Path, today: dt.date) -> list[Repair]:
    """Cut the torn tails in the last two days' files no recorder holds."""
    out = []
    for day in (today - dt.timedelta(days=1), today):
        for path in day_files(root, day):
            try:
                r = repair(path)
            except OSError as exc:
                log.error("black box %s: not checked: %s", path, exc)
                continue
            if r is not None:
                out.append(r)
    return out


# -- writing -----------------------------------------------------------------------------


class Writer:
    """Appends records to one file it holds locked. Not thread-safe: one loop calls it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[bytes] = open(path, "xb", buffering=0)  # noqa: SIM115 (owned here)
        if not _try_lock(self._file.fileno()):
            self._file.close()
            raise OSError(f"{path}: held by another recorder")
        self._buffer = bytearray(file_header())
        self._syncing = threading.Lock()  # an fsync in a worker thread, and the close
        self.records = 0
        self.bytes = 0
        self.flushed = 0
        try:
            self.flush()  # the header down at once: a file is never without one
        except OSError:
            self._file.close()
            raise

    def append(self, time_ms: int, body: msgspec.Struct) -> int:
        """Buffer one record; its size in bytes."""
        data = frame(time_ms, body)
        self._buffer += data
        self.records += 1
        self.bytes += len(data)
        return len(data)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> None:
        """Hand what is buffered to the OS: a kill of this process cannot lose it now.
        A short write goes on from where it stopped; an error leaves the rest buffered
        (the file then ends inside a record: the next write goes on from there)."""
        buf = self._buffer
        while buf:
            n = self._file.write(buf)
            if not n:
                raise OSError(f"{self.path}: the write took nothing")
            del buf[:n]
            self.flushed += n

    def discard(self) -> int:
        """Drop what is buffered (the disk refuses it for too long); the bytes dropped.
        The file may end inside a record now: write no more to it (close it)."""
        n = len(self._buffer)
        self._buffer.clear()
        return n

    def sync(self) -> None:
        """Durable on disk (against a power cut); call off the loop, it may take a while."""
        with self._syncing:
            if not self._file.closed:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        """Flush, fsync, unlock, close (an fsync under way in a worker thread is waited
        for: it is one file's, a few ms)."""
        with self._syncing:
            if self._file.closed:
                return
            try:
                self.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:
                log.error("black box %s: closed with %d bytes unwritten: %s", self.path,
                          len(self._buffer), exc)  # fmt: skip
            finally:
                _unlock(self._file.fileno())
                self._file.close()


def new_file_path(root: Path, node: str, time_ms: int, tz: str) -> Path:
    """A name no file of the day has: ``<node>-<HHMMSS>-<pid>[-n].dhbx``."""
    when = dt.datetime.fromtimestamp(time_ms / 1000, zone(tz))
    stem = f"{node}-{when:%H%M%S}-{os.getpid()}"
    folder = day_dir(root, when.date())
    path = folder / f"{stem}{SUFFIX}"
    n = 0
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{SUFFIX}"
    return path


# -- reading -----------------------------------------------------------------------------


@dataclass(slots=True)
class Recording:
    """The records of some files (a day, or a clip) merged by time, and their index.

    ``index``: every record's time, kind, body offset and size; ``files[i]`` holds
    the record ``i`` (its number in :attr:`paths`). Ties in time keep file order.
    """

    paths: list[Path]
    index: Columns
    file_of: array[int]
    damage: list[str] = field(default_factory=list)
    _data: list[bytes] = field(default_factory=list)

    @classmethod
    def open(cls, paths: Sequence[Path]) -> Recording:
        """Read ``paths`` (whole records only; a torn tail is left out and said)."""
        datas: list[bytes] = []
        scans: list[Columns] = []
        damage: list[str] = []
        kept: list[Path] = []
        for path in paths:
            data = path.read_bytes()
            try:
                start = check_file_header(data, str(path))
            except RecordError as exc:
                if len(paths) == 1:
                    raise
                damage.append(f"{exc}; the file left out")  # the day's other files stand
                continue
            found = scan(data, start)
            if found.damage:
                damage.append(f"{path}: {found.damage}; {len(data) - found.end} bytes left out")
            datas.append(data)
            scans.append(found.records)
            kept.append(path)
        if not kept:
            raise RecordError(str(paths[0]) if paths else "-", "no black-box file to read")
        index, file_of = _merge(scans)
        return cls(kept, index, file_of, damage, datas)

    @classmethod
    def open_day(cls, root: Path, day: dt.date, desk: str | None = None) -> Recording:
        """One desk's day (``desk``; None: the only desk of the day, else ValueError)."""
        if desk is None:
            found = desks(root, day)
            if len(found) > 1:
                raise ValueError(
                    f"{day} in {root}: several desks recorded ({', '.join(found)}); choose one"
                )
        files = day_files(root, day, desk)
        if not files:
            raise FileNotFoundError(f"no recording of {day} in {root}")
        return cls.open(files)

    def __len__(self) -> int:
        return len(self.index)

    def body(self, i: int) -> Any:
        """Record ``i``'s body, decoded."""
        ix = self.index
        off, size = ix.offsets[i], ix.sizes[i]
        data = self._data[self.file_of[i]]
        where = f"{self.paths[self.file_of[i]]} @ {off}"
        view = memoryview(data)[off : off + size]
        return decode(Kind(ix.kinds[i]), view, where, packed=bool(ix.packed[i]))

    def raw(self, i: int) -> bytes:
        """Record ``i`` whole, framed as on disk (a clip copies it)."""
        ix = self.index
        off, size = ix.offsets[i], ix.sizes[i]
        return self._data[self.file_of[i]][off - HEADER.size : off + size]

    def kind(self, i: int) -> Kind:
        return Kind(self.index.kinds[i])

    def time(self, i: int) -> int:
        return self.index.times[i]

    def first_at_or_after(self, time_ms: int) -> int:
        """The number of the first record at or after ``time_ms`` (len: none)."""
        times = self.index.times
        lo, hi = 0, len(times)
        while lo < hi:
            mid = (lo + hi) // 2
            if times[mid] < time_ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def last_keyframe_at_or_before(self, time_ms: int) -> int | None:
        """The newest keyframe at or before ``time_ms``, or None."""
        i = self.first_at_or_after(time_ms + 1) - 1
        kinds = self.index.kinds
        kf = int(Kind.KEYFRAME)
        while i >= 0:
            if kinds[i] == kf:
                return i
            i -= 1
        return None

    def of_kinds(self, kinds: Iterable[Kind], start: int = 0) -> Iterator[int]:
        """The numbers of the records of ``kinds`` from ``start`` on."""
        wanted = frozenset(int(k) for k in kinds)
        ks = self.index.kinds
        for i in range(start, len(ks)):
            if ks[i] in wanted:
                yield i


def _merge(scans: list[Columns]) -> tuple[Columns, array[int]]:
    if len(scans) == 1:
        return scans[0], array("H", bytes(2 * len(scans[0])))
    out = Columns()
    file_of = array("H")
    streams = [_stream(f, cols) for f, cols in enumerate(scans)]
    for _t, f, i in heapq.merge(*streams):
        cols = scans[f]
        out.times.append(cols.times[i])
        out.kinds.append(cols.kinds[i])
        out.offsets.append(cols.offsets[i])
        out.sizes.append(cols.sizes[i])
        out.packed.append(cols.packed[i])
        file_of.append(f)
    return out, file_of


def _stream(f: int, cols: Columns) -> Iterator[tuple[int, int, int]]:
    for i, t in enumerate(cols.times):
        yield t, f, i
