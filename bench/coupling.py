"""Coupling confirmation: 60 consists at 10 Hz through the UDP path into the model.

``python -m bench coupling [--quick] [--consists N] [--units U] [--hz F] [--rounds R]``
``[--round-s S]``

A sender thread sends, every cycle, one status datagram per unit (``--consists``
× ``--units``, 60 × 2 by default, at ``--hz`` 10) over loopback UDP to a
:class:`~app.comms.udp.UdpStatusReceiver` on this process's asyncio loop, which
decodes each into a ``TrainStatus`` in place and calls back:

ours
    the newer-only check per unit, then a :class:`~app.model.coupling.UnitReport`
    into the :class:`~app.model.coupling.CouplingTracker` (N = 3), and the
    tracker's lost-report check every cycle: what the session does per datagram.
baseline
    the same receiver, the newer-only check and a plain per-unit store of the
    record: the UDP path without the coupling model.

Rounds alternate the two (random order each round, same sender), each on a
fresh receiver and socket. The loop thread's own CPU time (``time.thread_time``;
the sender runs on another thread) over the round's wall time is the share of
one core the path takes. ``coupling_cpu_share`` is ours: the whole path, socket
to confirmed state (target < 0.05); ``coupling_model_share`` is ours minus the
baseline: what the model adds. ``per_report_us`` is CPU per datagram.
Every consist must end confirmed ``coupled`` (``consists_confirmed``).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.comms.udp import UdpStatusReceiver, status_pool
from app.model.coupling import ConsistState, CouplingTracker, UnitReport
from app.model.state import CabRole, CouplingState
from app.protocol.udp import CAB_ROLES, COUPLING_STATES, TrainStatus, encode_train_status


@dataclass(frozen=True, slots=True)
class Options:
    consists: int
    units: int
    hz: float
    rounds: int
    round_s: float


@dataclass(slots=True)
class RoundResult:
    variant: str
    cpu_s: float
    wall_s: float
    reports: int
    confirmed: int


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench coupling", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a short run (CI): 2 rounds of 1 s")
    p.add_argument("--consists", type=int, default=60)
    p.add_argument("--units", type=int, default=2, help="units per consist (default 2)")
    p.add_argument("--hz", type=float, default=10.0, help="report cycles per second")
    p.add_argument("--rounds", type=int, default=6, help="rounds per variant")
    p.add_argument("--round-s", type=float, default=3.0, help="seconds per round")
    a = p.parse_args(argv)
    if a.consists < 1 or not 1 <= a.units <= 255 or a.hz <= 0 or a.rounds < 1 or a.round_s <= 0:
        p.error("--consists >= 1, 1 <= --units <= 255, --hz > 0, --rounds >= 1, --round-s > 0")
    if a.quick:
        return Options(a.consists, a.units, a.hz, 2, 1.0)
    return Options(a.consists, a.units, a.hz, a.rounds, a.round_s)


def cycle_datagrams(opts: Options, seq: int) -> list[bytes]:
    """One cycle: every unit of every consist, coupled, the head unit's cab the master."""
    out = []
    now_ms = time.time_ns() // 1_000_000
    coupled = COUPLING_STATES.index(CouplingState.COUPLED.value)
    for c in range(opts.consists):
        consist = c * opts.units + 1
        for i in range(opts.units):
            unit = consist + i
            cab = CAB_ROLES.index((CabRole.MASTER if i == 0 else CabRole.SLAVE).value)
            rec = TrainStatus(
                seq, now_ms, unit, f"{unit:04d}", 0, 100 * i, 0, 0, coupled, cab,
                consist, i, opts.units,
            )  # fmt: skip
            out.append(encode_train_status(rec))
    return out


class Sender(threading.Thread):
    """Sends a cycle of datagrams every 1/hz s to ``target`` until stopped."""

    def __init__(self, opts: Options) -> None:
        super().__init__(name="bench-coupling-sender", daemon=True)
        self.opts = opts
        self.target: tuple[str, int] | None = None
        self.stop_event = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent = 0
        self.seq = 0

    def run(self) -> None:
        period = 1.0 / self.opts.hz
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            self.seq = (self.seq + 1) & 0xFFFFFFFF
            target = self.target
            if target is not None:
                for data in cycle_datagrams(self.opts, self.seq):
                    self.sock.sendto(data, target)
                    self.sent += 1
            next_at += period
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))
        self.sock.close()


def make_handler(
    variant: str, tracker: CouplingTracker, clock: Callable[[], int]
) -> tuple[Callable[[TrainStatus], None], list[int]]:
    last_seq: dict[int, int] = {}
    store: dict[int, TrainStatus] = {}
    count = [0]

    def newer(rec: TrainStatus) -> bool:
        last = last_seq.get(rec.train_id)
        if last is not None and not 0 < ((rec.seq - last) & 0xFFFFFFFF) < 0x80000000:
            return False
        last_seq[rec.train_id] = rec.seq
        return True

    def baseline(rec: TrainStatus) -> None:
        count[0] += 1
        if newer(rec):
            store[rec.train_id] = rec

    def ours(rec: TrainStatus) -> None:
        count[0] += 1
        if not newer(rec):
            return
        store[rec.train_id] = rec
        consist, index, units = rec.consist_fields()
        tracker.report(
            UnitReport(
                rec.train_id,
                rec.number,
                rec.seq,
                consist,
                index,
                units,
                CouplingState(COUPLING_STATES[rec.coupling]),
                CabRole(CAB_ROLES[rec.cab]),
            ),
            clock(),
        )

    return (ours if variant == "ours" else baseline), count


async def one_round(variant: str, opts: Options, sender: Sender) -> RoundResult:
    loop = asyncio.get_running_loop()

    def clock() -> int:
        return time.monotonic_ns() // 1_000_000

    tracker = CouplingTracker(confirm=3)
    handler, count = make_handler(variant, tracker, clock)
    receiver = UdpStatusReceiver(
        ("127.0.0.1", 0), status_pool(1024), handler, strategy="reader", rcvbuf=1 << 20
    )
    receiver.start()
    period = 1.0 / opts.hz

    async def watch() -> None:  # the session's lost-report check, every cycle
        while True:
            await asyncio.sleep(period)
            if variant == "ours":
                tracker.tick(clock())

    watcher = loop.create_task(watch())
    sender.target = receiver.local_address[:2]
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    await asyncio.sleep(opts.round_s)
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
    sender.target = None
    await asyncio.sleep(0.05)  # what was on its way
    watcher.cancel()
    receiver.close()
    confirmed = sum(v.state is ConsistState.COUPLED and v.confirmed for v in tracker.consists())
    return RoundResult(variant, cpu, wall, count[0], confirmed)


async def measure(opts: Options) -> list[RoundResult]:
    sender = Sender(opts)
    sender.start()
    results = []
    try:
        for _ in range(opts.rounds):
            order = ["ours", "baseline"]
            random.shuffle(order)
            for variant in order:
                results.append(await one_round(variant, opts, sender))
    finally:
        sender.stop_event.set()
        sender.join(2)
    return results


def run(argv: list[str]) -> dict[str, Any]:
    opts = parse(argv)
    units = opts.consists * opts.units
    print(
        f"coupling: {opts.consists} consists x {opts.units} units at {opts.hz:g} Hz "
        f"= {units * opts.hz:.0f} datagrams/s over loopback UDP; "
        f"{opts.rounds} rounds x {opts.round_s:g} s per variant "
        f"(Python {platform.python_version()}, {sys.platform})"
    )
    results = asyncio.run(measure(opts))

    def figures(variant: str) -> tuple[float, float, int, int]:
        rs = [r for r in results if r.variant == variant]
        share = statistics.median(r.cpu_s / r.wall_s for r in rs)
        reports = sum(r.reports for r in rs)
        per_report = sum(r.cpu_s for r in rs) / max(1, reports) * 1e6
        return share, per_report, reports, min(r.confirmed for r in rs)

    ours_share, ours_us, ours_n, confirmed = figures("ours")
    base_share, base_us, base_n, _ = figures("baseline")
    ratio = ours_us / base_us if base_us else float("inf")
    print(f"{'':<10}{'share of a core':>18}{'CPU per report':>18}{'reports':>10}")
    print(f"{'ours':<10}{ours_share:>17.2%} {ours_us:>14.1f} us{ours_n:>10}")
    print(f"{'baseline':<10}{base_share:>17.2%} {base_us:>14.1f} us{base_n:>10}")
    print(
        f"ratio ours/baseline per report: {ratio:.2f}; the model adds "
        f"{max(0.0, ours_share - base_share):.2%} of a core; "
        f"consists confirmed coupled: {confirmed}/{opts.consists} (target share < 5%)"
    )
    return {
        "consists": opts.consists,
        "units": units,
        "hz": opts.hz,
        "coupling_cpu_share": round(ours_share, 5),
        "baseline_cpu_share": round(base_share, 5),
        "coupling_model_share": round(max(0.0, ours_share - base_share), 5),
        "per_report_us": round(ours_us, 3),
        "baseline_per_report_us": round(base_us, 3),
        "per_report_ratio": round(ratio, 3),
        "reports": ours_n,
        "consists_confirmed": confirmed,
        "target_share": 0.05,
    }
