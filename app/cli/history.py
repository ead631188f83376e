"""``dispatcher-cli history``: search a recorded day of the black box, or cut a clip of it.

Reads only the black box's files (``docs/replay.md``): no servers, no Redis. One JSON
object a line per event found (:mod:`app.replay.search`), in time order: ``time``
(ISO 8601 in the line's zone, from the recording's META), ``time_ms``, ``kind``,
``device``, ``station``, ``dispatcher``, ``text``. With ``--clip OUT``: the window
``--from``..``--to`` written as an incident clip (:mod:`app.replay.clip`) instead.

Exit status (``app/cli/codes.py``): 0 the search ran (whether or not it found
anything) or the clip was written; 1 no recording of that day (or none at all);
2 bad arguments, or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

from app.cli.codes import EXIT_NOT_EXECUTED, EXIT_OK, EXIT_USAGE
from app.clock import zone
from app.config import ConfigError, load_line, load_workstation
from app.model.topology import Line
from app.paths import blackbox_dir, default_workstation_file
from app.replay.clip import ClipError, export_clip
from app.replay.format import Kind, Meta, RecordError
from app.replay.search import HIT_KINDS, Hit, Query, check_kinds, search
from app.replay.store import Recording, days, desks

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class HistoryUsage(ValueError):
    """A bad argument: says which and what."""


def add_history_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        metavar="DIR",
        help=f"the black box's folder (default {blackbox_dir()}, i.e. "
        "<user data dir>/blackbox; the workstation's blackbox.folder if it sets one)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the day (default: the newest recorded)")
    p.add_argument(
        "--desk",
        metavar="ID",
        help="the workstation whose recording to read, when several recorded into the "
        "folder (default: this workstation's id if it is one of them, else the only one)",
    )
    p.add_argument(
        "--from", dest="start", metavar="HH:MM[:SS]", help="from this time of the day (included)"
    )
    p.add_argument(
        "--to",
        dest="end",
        metavar="HH:MM[:SS]",
        help="to this time of the day (its second included)",
    )
    p.add_argument("--device", default="", help="only this device (exact, any case)")
    p.add_argument("--station", default="", help="only this station (exact, any case)")
    p.add_argument(
        "--dispatcher",
        dest="who",
        default="",
        help="only this dispatcher's commands and acknowledgements (exact, any case)",
    )
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="K",
        help=f"only these kinds (repeatable): {', '.join(HIT_KINDS)}",
    )
    p.add_argument("--text", default="", help="text anywhere in the event (any case)")
    p.add_argument(
        "--line",
        metavar="FILE",
        help="the line file, to give commands their station and to cut a clip "
        "(default: the workstation's, from --config)",
    )
    p.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help=f"workstation file, for its line and black box folder (default "
        f"{default_workstation_file()})",
    )
    p.add_argument(
        "--clip",
        metavar="OUT",
        help="write the window --from..--to as an incident clip to OUT instead of searching",
    )


def parse_time_of_day(text: str, option: str) -> dt.time:
    m = _TIME.match(text.strip())
    if m is None:
        raise HistoryUsage(f"{option} {text!r}: expected HH:MM or HH:MM:SS")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if h > 23 or mi > 59 or s > 59:
        raise HistoryUsage(f"{option} {text!r}: not a time of day (00:00:00 to 23:59:59)")
    return dt.time(h, mi, s)


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HistoryUsage(f"--date {text!r}: expected YYYY-MM-DD") from None


def recording_meta(rec: Recording) -> Meta | None:
    for i in rec.of_kinds((Kind.META,)):
        body = rec.body(i)
        assert isinstance(body, Meta)
        return body
    return None


def hit_json(hit: Hit, tz: dt.tzinfo | None) -> dict[str, Any]:
    when = dt.datetime.fromtimestamp(hit.time_ms / 1000, tz)
    if tz is None:
        when = when.astimezone()  # the machine's own zone, with its offset said
    return {
        "time": when.isoformat(timespec="milliseconds"),
        "time_ms": hit.time_ms,
        "kind": hit.kind,
        "device": hit.device,
        "station": hit.station,
        "dispatcher": hit.dispatcher,
        "text": hit.text,
    }


def _root(args: argparse.Namespace) -> Path:
    if args.root:
        return Path(args.root)
    try:
        ws = load_workstation(args.config)
    except (ConfigError, OSError):
        return blackbox_dir()
    return Path(ws.blackbox.folder) if ws.blackbox.folder else blackbox_dir()


def _own_desk(args: argparse.Namespace, recorded_by: list[str]) -> str | None:
    """This workstation's id when it is among the desks that recorded; else the only one."""
    try:
        own = load_workstation(args.config).id
    except (ConfigError, OSError):
        own = ""
    if own in recorded_by:
        return own
    return recorded_by[0] if len(recorded_by) == 1 else None


def _line(args: argparse.Namespace, required: bool) -> Line | None:
    """The line file given, else the workstation's; None when neither loads and none
    is required."""
    try:
        if args.line:
            return load_line(args.line)
        return load_line(load_workstation(args.config).line)
    except (ConfigError, OSError) as exc:
        if args.line or required:
            where = "--line" if args.line else f"--config {args.config}"
            raise HistoryUsage(f"{where}: {exc}") from None
        return None


def run_history(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except HistoryUsage as exc:
        print(f"dispatcher-cli history: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (RecordError, ClipError, OSError) as exc:
        print(f"dispatcher-cli history: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    try:
        check_kinds(args.kind)
    except ValueError as exc:
        raise HistoryUsage(f"--kind: {exc}") from None
    start_t = parse_time_of_day(args.start, "--from") if args.start else None
    end_t = parse_time_of_day(args.end, "--to") if args.end else None
    if start_t is not None and end_t is not None and end_t < start_t:
        raise HistoryUsage(f"--to {args.end} is before --from {args.start}")
    if args.clip and (start_t is None or end_t is None):
        raise HistoryUsage("--clip needs --from and --to (the window to cut)")
    root = _root(args)
    if args.date:
        day = parse_date(args.date)
    else:
        recorded = days(root)
        if not recorded:
            print(f"dispatcher-cli history: no recording in {root}", file=sys.stderr)
            return EXIT_NOT_EXECUTED
        day = recorded[-1]
    recorded_by = desks(root, day)
    desk = args.desk or _own_desk(args, recorded_by)
    if args.desk and args.desk not in recorded_by:
        raise HistoryUsage(
            f"--desk {args.desk}: it recorded nothing on {day} in {root} "
            f"(recorded: {', '.join(recorded_by) or 'none'})"
        )
    if desk is None and len(recorded_by) > 1:
        raise HistoryUsage(
            f"several desks recorded on {day} in {root} ({', '.join(recorded_by)}): "
            "choose one with --desk"
        )
    try:
        rec = Recording.open_day(root, day, desk)
    except FileNotFoundError as exc:
        print(f"dispatcher-cli history: {exc}", file=sys.stderr)
        return EXIT_NOT_EXECUTED
    for damage in rec.damage:
        print(f"dispatcher-cli history: {damage}", file=sys.stderr)
    meta = recording_meta(rec)
    tz = zone(meta.timezone) if meta is not None else None

    def at(t: dt.time | None, extra_ms: int) -> int | None:
        if t is None:
            return None
        when = dt.datetime.combine(day, t, tz)
        if tz is None:
            when = when.astimezone()
        return int(when.timestamp() * 1000) + extra_ms

    start_ms, end_ms = at(start_t, 0), at(end_t, 999)
    if args.clip:
        assert start_ms is not None and end_ms is not None
        line = _line(args, required=True)
        assert line is not None
        out = Path(args.clip)
        count = export_clip(rec, line, start_ms, end_ms, out)
        print(
            json.dumps({"clip": str(out), "records": count, "from_ms": start_ms, "to_ms": end_ms})
        )
        return EXIT_OK
    query = Query(
        start_ms=start_ms,
        end_ms=end_ms,
        device=args.device,
        station=args.station,
        dispatcher=args.who,
        kinds=frozenset(args.kind),
        text=args.text,
    )
    line = _line(args, required=False)
    for hit in search(rec, query, line=line):
        sys.stdout.write(json.dumps(hit_json(hit, tz), ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return EXIT_OK
