"""ISCS hand-off: N hand-offs to the reference program, each handled once, memory flat.

``python -m bench iscs [--handoffs N] [--quick]``

The HMI side (:class:`app.iscs.handoff.IscsHandoff`) runs in this process; the
reference program (``python -m app.iscs.stub``) is its child, journaling every
id it handles. Hand-offs are queued in bursts as fast as the outbox lets them
drain (the outbox never holds more than its capacity, so none is superseded).
After a warm-up (10 % of N) the resident memory of both processes is read
from ``/proc``; again at the end. ``lost`` and ``duplicated`` come from the
journal against the ids sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.iscs.handoff import IscsHandoff
from app.iscs.messages import HandoffKind


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(n: int, journal: Path) -> dict[str, Any]:
    h = IscsHandoff(
        sys.executable, ["-m", "app.iscs.stub", "--quiet", "--journal", str(journal)], capacity=64
    )
    await h.start()
    sent: list[str] = []
    kinds = list(HandoffKind)
    warm = max(1, n // 10)
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        while len(sent) < n:
            while len(h.outbox) < h.outbox.capacity and len(sent) < n:
                item = h.hand_off(kinds[len(sent) % 3], station="S01", device=f"W{len(sent)}")
                sent.append(item.id)
            await asyncio.sleep(0)
            if len(sent) >= warm and "hmi0" not in marks and h.delivered >= warm:
                proc = h._proc
                marks["hmi0"] = rss_mb()
                marks["iscs0"] = rss_mb(proc.pid) if proc is not None else float("nan")
        async with asyncio.timeout(120):
            while h.delivered < n:
                await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        proc = h._proc
        hmi1 = rss_mb()
        iscs1 = rss_mb(proc.pid) if proc is not None else float("nan")
    finally:
        await h.close()
    return {
        "sent": sent,
        "handoffs": n,
        "delivered": h.delivered,
        "superseded": h.superseded_count,
        "per_s": round(n / elapsed),
        "rss_hmi_mb": [round(marks.get("hmi0", float("nan")), 1), round(hmi1, 1)],
        "rss_iscs_mb": [round(marks.get("iscs0", float("nan")), 1), round(iscs1, 1)],
        "rss_growth_mb_hmi": round(hmi1 - marks.get("hmi0", hmi1), 2),
        "rss_growth_mb_iscs": round(iscs1 - marks.get("iscs0", iscs1), 2),
    }


def run(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench iscs", description=__doc__.split("\n")[0])
    p.add_argument("--handoffs", type=int, help="how many (100000)")
    p.add_argument("--quick", action="store_true", help="5000, for CI")
    a = p.parse_args(argv)
    n = a.handoffs or (5000 if a.quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "handled.txt"
        figures = asyncio.run(main(n, journal))
        handled = journal.read_text().split()
    sent = set(figures.pop("sent"))
    unique = set(handled)
    figures["lost"] = len(sent - unique)
    figures["duplicated"] = len(handled) - len(unique)
    print(
        f"{n} hand-offs at {figures['per_s']}/s: lost {figures['lost']}, "
        f"handled twice {figures['duplicated']}, superseded {figures['superseded']}"
    )
    print(
        f"resident memory after warm-up -> at the end (MB): HMI {figures['rss_hmi_mb'][0]} -> "
        f"{figures['rss_hmi_mb'][1]} ({figures['rss_growth_mb_hmi']:+}), ISCS "
        f"{figures['rss_iscs_mb'][0]} -> {figures['rss_iscs_mb'][1]} "
        f"({figures['rss_growth_mb_iscs']:+}); target growth < 1 MB each"
    )
    return figures
