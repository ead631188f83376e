"""``dispatcher-cli actuals``: the day's actual arrivals and departures as JSON lines.

Without ``--date``: from the servers, as the HMI gets them (the catch-up after the
snapshot, then, with ``--follow``, each one as it happens). With ``--date D``: the day
the HMI kept on disk (``actuals-D.csv`` in its data folder, or ``--archive DIR``).
One JSON object a line: service date, trip, stop order, station, platform, kind
(``arrive``/``depart``), the time and the planned time (service-day ``HH:MM:SS``),
the delay in seconds (docs/timetable.md, "Records").
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.codes import EXIT_NOT_EXECUTED, EXIT_OK, EXIT_USAGE
from app.lifetime import running
from app.session import DispatcherSession
from app.session.service import ActualsNews
from app.timetable.actuals import Actual
from app.timetable.archive import ArchiveError, day_path, read_day
from app.timetable.times import format_service_time


def actual_json(service_date: str, a: Actual) -> dict[str, Any]:
    return {
        "service_date": service_date,
        "trip": a.trip,
        "order": a.order,
        "station": a.station,
        "platform": a.platform,
        "kind": a.kind.value,
        "at": format_service_time(a.at_ms // 1000),
        "planned": format_service_time(a.planned_ms // 1000),
        "delay_s": round(a.delay_ms / 1000),
        "unit": a.unit,
    }


def print_day(folder: Path, service_date: str) -> int:
    """A kept day, from the archive."""
    try:
        path = day_path(folder, service_date)
        for rec in read_day(path):
            print(json.dumps(rec, ensure_ascii=False), flush=True)
    except FileNotFoundError:
        print(f"dispatcher-cli: no actuals kept for {service_date} in {folder}", file=sys.stderr)
        return EXIT_NOT_EXECUTED
    except (ArchiveError, OSError) as exc:
        print(f"dispatcher-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


async def cmd_actuals(session: DispatcherSession, *, wait_s: float, follow: bool) -> int:
    """The day so far from the servers; with ``follow``, each new one until interrupted."""
    feed = session.service
    if feed.store is None:
        print(
            "dispatcher-cli: no timetable configured (workstation timetable.file, "
            "docs/configuration.md)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    caught_up = asyncio.Event()
    live: asyncio.Queue[ActualsNews] = asyncio.Queue()

    def on_news(news: ActualsNews) -> None:
        # after the first catch-up, whatever is new (live, or told by a later catch-up
        # after a failover or a gap); copies from the other network are no news
        if caught_up.is_set():
            if news.fresh:
                live.put_nowait(news)
        elif news.message.catch_up and news.message.last:
            caught_up.set()

    feed.actuals_changed.connect(on_news)
    async with running(session):
        try:
            async with asyncio.timeout(wait_s):
                await caught_up.wait()
        except TimeoutError:
            if feed.foreign:
                why = f"the servers run another timetable than ours ({feed.name})"
            else:
                why = "is the server running a timetable, at protocol level 2?"
            print(f"dispatcher-cli: no actuals within {wait_s:g} s ({why})", file=sys.stderr)
            return EXIT_NOT_EXECUTED
        for a in feed.store.actuals():
            print(json.dumps(actual_json(feed.store.service_date, a), ensure_ascii=False))
        sys.stdout.flush()
        while follow:
            news = await live.get()
            for a in news.fresh:
                line = actual_json(news.message.service_date, a)
                print(json.dumps(line, ensure_ascii=False), flush=True)
    return EXIT_OK
