"""An incident clip: a time window of a recording as one file another workstation opens.

A clip is a black-box file (the same header and records, ``docs/replay.md``) that
starts with the recording's META and a keyframe made at the window's start (the
state rebuilt there), then every record of the window as it was recorded, and
ends with a :class:`ClipEnd`: the number of records before it and the SHA-256 of
every byte before it. :func:`open_clip` refuses a clip whose end is missing, whose
digest does not match or any of whose records fails its CRC: a clip is whole or
it is not opened.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from app.model.topology import Line
from app.replay.format import (
    HEADER,
    KIND_OF,
    ClipEnd,
    KeyframeBody,
    Kind,
    Meta,
    check_file_header,
    file_header,
    frame,
    scan,
)
from app.replay.player import Player
from app.replay.recorder import line_snapshot
from app.replay.store import Recording
from app.timetable.model import Timetable

CLIP_SUFFIX = ".dhclip"


class ClipError(ValueError):
    """A clip that is not whole: says which file and what."""


def export_clip(
    recording: Recording,
    line: Line,
    start_ms: int,
    end_ms: int,
    out: Path,
    *,
    timetable: Timetable | None = None,
) -> int:
    """Write the window [``start_ms``, ``end_ms``] of ``recording`` to ``out``; the
    number of records in it. Written beside and renamed: never half a clip."""
    if end_ms < start_ms:
        raise ValueError(f"the clip ends ({end_ms}) before it starts ({start_ms})")
    player = Player(line, recording, timetable=timetable)
    player.seek(start_ms)
    meta = player.meta or Meta(line.id, line.digest(), "", "", "", start_ms, line.timezone)
    feed = player.service
    keyframe = KeyframeBody(
        server=player.server,
        synchronised=player.state.synchronised,
        state=line_snapshot(player.state, start_ms),
        service_date=feed.service_date,
        service_ms=feed.told_ms,
        service_age_ms=feed.told_age_ms(),
        alarms=player.alarm_list.frame(),
        local=tuple(player.local.values()),
        links=player.links,
        master=player.master,
    )
    parts = [file_header(), frame(start_ms, meta), frame(start_ms, keyframe)]
    count = 2
    first = recording.first_at_or_after(start_ms + 1)
    last = recording.first_at_or_after(end_ms + 1)
    # the day's actuals so far are in no keyframe: the clip carries them from the start
    for i in recording.of_kinds((Kind.ACTUALS,)):
        if i >= first:
            break
        parts.append(_retimed(recording, i, start_ms))
        count += 1
    # a META in the window stays: the run that starts there is restored from its keyframe
    skip = {int(Kind.END), int(Kind.CLIP_END)}
    for i in range(first, last):
        k = recording.index.kinds[i]
        if k in skip:
            continue
        parts.append(recording.raw(i))
        count += 1
    data = b"".join(parts)
    digest = hashlib.sha256(data).hexdigest()
    data += frame(end_ms, ClipEnd(count, digest, start_ms, end_ms))
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    return count


def _retimed(recording: Recording, i: int, time_ms: int) -> bytes:
    """Record ``i`` again, made at ``time_ms`` (a day's actuals carried to a clip's start)."""
    body = recording.body(i)
    assert type(body) in KIND_OF
    return frame(time_ms, body)


def open_clip(path: Path) -> Recording:
    """A clip, checked whole: its end, its digest, every record's CRC."""
    data = path.read_bytes()
    where = str(path)
    try:
        start = check_file_header(data, where)
    except ValueError as exc:
        raise ClipError(str(exc)) from exc
    found = scan(data, start)
    if found.damage:
        raise ClipError(f"{where}: {found.damage}: the clip is damaged")
    cols = found.records
    if not len(cols) or cols.kinds[-1] != int(Kind.CLIP_END):
        raise ClipError(f"{where}: no clip end: the clip was cut short or is not a clip")
    rec = Recording.open([path])
    end: ClipEnd = rec.body(len(rec) - 1)
    body_start = cols.offsets[-1] - HEADER.size
    if hashlib.sha256(data[:body_start]).hexdigest() != end.sha256:
        raise ClipError(f"{where}: the digest does not match: the clip was altered")
    if end.records != len(cols) - 1:
        raise ClipError(f"{where}: {len(cols) - 1} records, the clip's end says {end.records}")
    return rec
