"""ISCS hand-off: N hand-offs to the reference program, each handled once, memory flat.

``python -m bench iscs [--handoffs N] [--quick]``

The HMI side (:class:`app.iscs.handoff.IscsHandoff`) runs in this process; the
reference program (``python -m app.counterparts.iscs_program``) is its child, journaling every
id it handles. Hand-offs are queued in bursts as fast as the outbox lets them
drain (the outbox never holds more than its capacity, so none is superseded).
After a warm-up (10 % of N) the resident memory of both processes is read
from ``/proc``; again at the end. ``lost`` and ``duplicated`` come from the
journal against the ids sent.

Baseline: the same reference program fed by a bare sender on the same
channel and codec: every hand-off written as fast as the socket takes it,
fire and forget (no outbox, no resending, no pacing; acknowledgements only
counted), until the program has acknowledged all N. It is what a hand-off
without ownership rules costs; ``throughput_ratio`` is ours / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from app.iscs.connection import IscsConnection
from app.iscs.handoff import SECRET_ENV, IscsHandoff
from app.iscs.messages import Handoff, HandoffAck, HandoffKind


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(n: int, journal: Path) -> dict[str, Any]:
    h = IscsHandoff(
        sys.executable,
        ["-m", "app.counterparts.iscs_program", "--quiet", "--journal", str(journal)],
        capacity=64,
    )
    await h.start()
    # The ids sent, kept in a buffer sized up front: a list of 100000 strings
    # would itself grow this process by ~9 MB between the two readings.
    sent = bytearray(16 * n)
    count = 0
    kinds = list(HandoffKind)
    warm = max(1, n // 10)
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        while count < n:
            while len(h.outbox) < h.outbox.capacity and count < n:
                item = h.hand_off(kinds[count % 3], station="S01", device=f"W{count}")
                sent[16 * count : 16 * count + 16] = bytes.fromhex(item.id)
                count += 1
            await asyncio.sleep(0)
            if count >= warm and "hmi0" not in marks and h.delivered >= warm:
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
        await h.aclose()
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


async def baseline(n: int, journal: Path) -> float:
    """Hand-offs per second with a fire-and-forget sender (see the module's docstring)."""
    conn = IscsConnection("iscs")
    acked = 0
    done = asyncio.Event()
    ready: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
        asyncio.get_running_loop().create_future()
    )

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not ready.done():
            ready.set_result((reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    secret = uuid.uuid4().hex
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *[
            "-m",
            "app.counterparts.iscs_program",
            "--quiet",
            "--journal",
            str(journal),
            "--port",
            str(port),
        ],
        stdout=asyncio.subprocess.DEVNULL,
        env=dict(os.environ, **{SECRET_ENV: secret}),
    )
    try:
        reader, writer = await asyncio.wait_for(ready, 30)

        async def read_acks() -> None:
            nonlocal acked
            while data := await reader.read(65536):
                conn.receive_data(data)
                while (msg := conn.next_message()) is not None:
                    if isinstance(msg, HandoffAck):
                        acked += 1
                if acked >= n:
                    done.set()
                    return

        reading = asyncio.create_task(read_acks())
        kinds = list(HandoffKind)
        t0 = time.perf_counter()
        for i in range(n):
            item = Handoff(
                uuid.uuid4().hex, kinds[i % 3], station="S01", device=f"W{i}", dispatcher="bench"
            )
            writer.write(conn.send(item))
            if i % 64 == 63:
                await writer.drain()
        await writer.drain()
        async with asyncio.timeout(120):
            await done.wait()
        elapsed = time.perf_counter() - t0
        reading.cancel()
        writer.close()
    finally:
        server.close()
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    return n / elapsed


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
        base_journal = Path(tmp) / "baseline.txt"
        base_per_s = asyncio.run(baseline(n, base_journal))
    raw = figures.pop("sent")
    sent = {raw[i : i + 16].hex() for i in range(0, len(raw), 16)}
    unique = set(handled)
    figures["lost"] = len(sent - unique)
    figures["duplicated"] = len(handled) - len(unique)
    print(
        f"{n} hand-offs at {figures['per_s']}/s: lost {figures['lost']}, "
        f"handled twice {figures['duplicated']}, superseded {figures['superseded']}"
    )
    figures["baseline_per_s"] = round(base_per_s)
    figures["throughput_ratio"] = round(figures["per_s"] / base_per_s, 3)
    print(
        f"fire-and-forget baseline (no outbox, no resend): {figures['baseline_per_s']}/s; "
        f"ours / baseline = {figures['throughput_ratio']}"
    )
    print(
        f"resident memory after warm-up -> at the end (MB): HMI {figures['rss_hmi_mb'][0]} -> "
        f"{figures['rss_hmi_mb'][1]} ({figures['rss_growth_mb_hmi']:+}), ISCS "
        f"{figures['rss_iscs_mb'][0]} -> {figures['rss_iscs_mb'][1]} "
        f"({figures['rss_growth_mb_iscs']:+}); target growth < 1 MB each"
    )
    return figures
