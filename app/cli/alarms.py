"""``dispatcher-cli alarms``: catch up like the HMI, print the list, follow its changes."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from app.alarms.consumer import FeedState, FeedStatus
from app.alarms.model import AlarmChanges, AlarmRow
from app.alarms.service import AlarmService
from app.cli.codes import EXIT_NOT_EXECUTED, EXIT_OK
from app.lifetime import running


def alarm_json(row: AlarmRow) -> dict[str, Any]:
    e = row.event
    return {
        "alarm_id": e.alarm_id,
        "state": row.state.value,
        "priority": int(e.priority),
        "station": e.station,
        "zone": e.zone,
        "device": e.device,
        "kind": e.kind,
        "code": e.code,
        "text_zh": e.text_zh,
        "text_en": e.text_en,
        "raised_ms": e.raised_ms,
        "since_ms": row.since_ms,
        "by": e.by,
        "shelved_until_ms": row.shelved_until_ms,
    }


def alarm_list_json(service: AlarmService, *, reset: bool) -> dict[str, Any]:
    """The whole list: the first line, and again whenever a snapshot replaced it."""
    rows = sorted(service.list.active(), key=lambda r: (r.event.priority, -r.event.raised_ms))
    return {
        "reset": reset,
        "topic": service.status.topic,
        "seq": service.list.applied_seq,
        "count": len(rows),
        "alarms": [alarm_json(r) for r in rows],
    }


async def cmd_alarms(service: AlarmService, *, wait_s: float, follow: bool) -> int:
    """Catch up, print the list; with ``follow``, print changes until interrupted."""
    live = asyncio.Event()

    def on_status(status: FeedStatus) -> None:
        if status.state is FeedState.LIVE:
            live.set()

    service.status_changed.connect(on_status)
    async with running(service):
        try:
            async with asyncio.timeout(wait_s):
                await live.wait()
        except TimeoutError:
            st = service.status
            print(
                f"dispatcher-cli: alarm list not caught up within {wait_s:g} s "
                f"({st.state}: {st.reason or st.topic})",
                file=sys.stderr,
            )
            return EXIT_NOT_EXECUTED
        # No tick first: the list ends past shelves by its clock whenever it is read.
        print(json.dumps(alarm_list_json(service, reset=False), ensure_ascii=False), flush=True)
        if not follow:
            return EXIT_OK
        changes_q: asyncio.Queue[AlarmChanges] = asyncio.Queue()
        service.changed.connect(changes_q.put_nowait)
        while True:
            changes = await changes_q.get()
            if changes.reset:
                # a follower rebuilds from this line: the rows, not only their count
                line = alarm_list_json(service, reset=True)
                print(json.dumps(line, ensure_ascii=False), flush=True)
                continue
            for aid in sorted(changes.added | changes.updated):
                row = service.list.get(aid)
                if row is not None:
                    print(json.dumps(alarm_json(row), ensure_ascii=False), flush=True)
            for aid in sorted(changes.removed):
                print(json.dumps({"alarm_id": aid, "state": "normal"}), flush=True)
