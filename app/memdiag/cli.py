"""The command lines: ``dispatcher-hmi --diagnose-memory`` and ``dispatcher-cli
diagnose FILE`` (no Qt imported here: ``--check-config`` stays Qt-free)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from app.memdiag.growth import report
from app.memdiag.kafka import KafkaStats
from app.memdiag.record import read_records


def add_program_arguments(p: argparse.ArgumentParser) -> None:
    """``--diagnose-memory [--diagnose-every MIN] [--diagnose-file PATH]`` for
    ``dispatcher-hmi`` (no Qt imported here: ``--check-config`` stays Qt-free)."""
    g = p.add_argument_group("memory diagnostics (docs/operations.md)")
    g.add_argument(
        "--diagnose-memory",
        action="store_true",
        help="record memory (RSS, Python heap by site, Qt objects by class, librdkafka, the "
        "C allocator) to a file every --diagnose-every minutes; read it with "
        "'dispatcher-cli diagnose FILE'",
    )
    g.add_argument(
        "--diagnose-every",
        type=float,
        default=10.0,
        metavar="MIN",
        help="with --diagnose-memory: minutes between records (default 10)",
    )
    g.add_argument(
        "--diagnose-file",
        default=None,
        metavar="PATH",
        help="with --diagnose-memory: the record file (default "
        "<user data>/logs/memory-<date>-<time>.jsonl)",
    )
    g.add_argument(
        "--diagnose-tracemalloc",
        type=int,
        default=1,
        metavar="FRAMES",
        help="with --diagnose-memory: frames per Python allocation site (default 1; 0: off)",
    )


def kafka_statistics_from_args(args: Any, alarms: Any) -> KafkaStats | None:
    """With ``--diagnose-memory``: ask the alarm feed's librdkafka client for its
    statistics (into ``alarms.settings.extra``), before the feed starts; None otherwise
    (or without an alarm feed). Statistics come every minute at most."""
    if not getattr(args, "diagnose_memory", False):
        return None
    extra = getattr(getattr(alarms, "settings", None), "extra", None)
    if not isinstance(extra, dict):
        return None
    every_min = float(getattr(args, "diagnose_every", 10.0))
    kafka = KafkaStats()
    kafka.attach(extra, int(min(60.0, every_min * 60) * 1000))
    return kafka


def diagnose_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """``dispatcher-cli diagnose FILE``: say what grew. Exit 0; 2 for a file not read."""
    p = argparse.ArgumentParser(prog="dispatcher-cli diagnose", description=report.__doc__)
    add_diagnose_arguments(p)
    args = p.parse_args(argv)
    return run_diagnose(args, out)


def add_diagnose_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a record file written by --diagnose-memory")
    p.add_argument(
        "--warmup",
        type=float,
        default=0.25,
        help="leave out the start: below 1 a share of the span, else minutes (default 0.25)",
    )
    p.add_argument("--top", type=int, default=12, help="rows per section (default 12)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def run_diagnose(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    try:
        records = read_records(args.file)
    except OSError as exc:
        print(f"diagnose: {args.file}: {exc}", file=sys.stderr)
        return 2
    warmup = args.warmup if args.warmup < 1 else args.warmup * 60
    text, data = report(records, warmup, args.top)
    if args.json:
        out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
    else:
        out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(diagnose_main())
