"""The black box: what recording costs, how big a day is, how fast a seek and a replay are.

``python -m bench replay [--hours H] [--moments N] [--seed S]``

A real simulator pair runs the demo weekday at 60x (from 06:00) and a
:class:`DispatcherSession` follows it with a :class:`Recorder` (its default settings:
a keyframe every 30 s, trains sampled every second) writing into a temporary folder,
for ``H`` simulated hours (default 1: a wall minute at 60x; 24 records the whole
day), with a failover (SIGKILL of A) in the middle. Measured:

- ``recorder_cpu_share``: the CPU time spent in the recorder's hooks and its cycle
  (each bound method wrapped with a ``time.thread_time`` accumulator; the fsync
  it hands to a worker thread is not in it) over the wall time, as a share of one
  core (target < 0.02); beside it, the baseline ``session_cpu_share``: the rest
  of the process's CPU time (the session, its links, the loop), less what the
  bench's own live pictures took.
- ``bytes_per_day``: the bytes recorded, extrapolated to 24 simulated hours (target
  <= 200 MB); ``bytes_per_wall_hour`` the same per wall hour (the train samples
  and keyframes are per wall second, the deltas per simulated second: at 60x a
  real-time day would hold at most 24 times that).
- ``seek_p95_ms``: live pictures are taken at ``N`` random moments while recording
  (each right after ``recorder.sample_trains(now)``, as the black-box test does);
  then ``Player.seek`` to each, timed until it returns with the state rebuilt
  (target p95 <= 300 ms); ``state_mismatches``: moments where the rebuilt picture
  is not the live one (must be 0). Baseline ``baseline_seek_p95_ms``: the same
  moments rebuilt by applying every record from the start (no keyframes).
- ``replay_paint_ratio``: the recording replayed at 64x (``Player.advance`` by
  64 x 50 ms of recording per 50 ms frame) into the real schematic
  (:class:`ui.schematic.SchematicScene` ``apply``, then the view rendered offscreen
  to a 1920x1080 ``QImage``), each frame's apply and render timed; its p95 over the
  16.7 ms frame budget (target <= 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.config.line import load_line
from app.config.timetable import load_timetable
from app.counterparts.sim.launcher import SimulatorPair
from app.model.topology import Line
from app.paths import default_line_file
from app.replay.format import HEADER, Kind
from app.replay.player import Picture, Player, picture
from app.replay.recorder import Recorder, RecorderSettings
from app.replay.store import Recording, days
from app.session import DispatcherSession
from app.timetable.model import Timetable

ROOT = Path(__file__).resolve().parents[1]
DEMO_WEEKDAY = ROOT / "resources" / "timetables" / "demo-weekday.yaml"
TIME_SCALE = 60
BUDGET_MS = 16.7
FRAME_MS = 50
SPEED = 64
#: what comes per wall second whatever the time scale: keyframes and train samples (the
#: recorder's clock) and the links' states (their round trips and ages change on it)
WALL_KINDS = ("keyframe", "trains", "links")


@dataclass(frozen=True, slots=True)
class Options:
    hours: float
    moments: int
    seed: int
    baseline_moments: int


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench replay", description=__doc__)
    p.add_argument("--hours", type=float, default=1.0, help="simulated hours (at 60x)")
    p.add_argument("--moments", type=int, default=100, help="live pictures to seek to")
    p.add_argument(
        "--baseline-moments",
        type=int,
        default=100,
        help="of those, how many the no-keyframe baseline rebuilds (it is slow)",
    )
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args(argv)
    if a.hours <= 0 or a.moments < 1:
        p.error("--hours must be > 0 and --moments >= 1")
    return Options(a.hours, a.moments, a.seed, max(1, min(a.baseline_moments, a.moments)))


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


@dataclass
class CpuMeter:
    """CPU time (this thread's) spent inside the wrapped callables; nested calls once."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    calls: int = 0
    _depth: int = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu_s += time.thread_time() - c0
                self.wall_s += time.perf_counter() - w0
                self.calls += 1
                self._depth -= 1

        return timed


HOOKS = (
    "_on_applied",
    "_on_changes",
    "_on_local_alarm",
    "_on_links",
    "_on_master",
    "_on_delivered",
    "_on_list_local",
    "_on_command",
    "_cycle",
    "sample_trains",
)


def meter_recorder(recorder: Recorder, meter: CpuMeter) -> None:
    """Wrap the recorder's entry points (before ``start``: its hooks are connected then)."""
    for name in HOOKS:
        fn = getattr(recorder, name, None)
        if fn is not None:
            setattr(recorder, name, meter.wrap(fn))


@dataclass
class Recorded:
    root: Path
    wall_s: float
    process_cpu_s: float
    recorder: CpuMeter
    take_cpu_s: float
    bytes: int
    records: int
    failover_wall_s: float
    taken: list[tuple[int, Picture]] = field(default_factory=list)


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def record(line: Line, plan: Timetable, root: Path, o: Options) -> Recorded:
    duration_s = o.hours * 3600 / TIME_SCALE
    args = [
        "--legacy-commands",
        "--timetable",
        str(DEMO_WEEKDAY),
        "--service-start",
        "06:00",
        "--time-scale",
        str(TIME_SCALE),
        "--seed",
        str(o.seed),
    ]
    rng = random.Random(o.seed)
    meter = CpuMeter()
    taken: list[tuple[int, Picture]] = []
    out: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as journals,
        SimulatorPair(default_line_file(), args, journal_dir=journals) as pair,
    ):
        session = DispatcherSession(
            line,
            pair.endpoints,
            node="WS-BENCH",
            dispatcher="bench",
            role="dispatcher",
            timetable=plan,
            late_alarm_s=120,
        )
        recorder = Recorder(RecorderSettings(root), session)
        meter_recorder(recorder, meter)

        async def scenario() -> None:
            take_cpu = 0.0
            # as the HMI does: the recorder from the session's start (the day's actuals
            # so far come once, in the catch-up after the first snapshot, in no keyframe)
            t0, c0 = time.perf_counter(), time.process_time()
            session.start()
            recorder.start()
            await until(lambda: session.state.synchronised, 20)
            first = time.perf_counter() - t0 + 0.2
            offsets = sorted(rng.uniform(first, duration_s) for _ in range(o.moments))
            killed = False
            try:
                for off in offsets:
                    if not killed and off >= duration_s / 2:
                        await asyncio.sleep(max(0.0, t0 + duration_s / 2 - time.perf_counter()))
                        os.kill(pair.procs["A"].pid, signal.SIGKILL)
                        k0 = time.perf_counter()
                        await until(
                            lambda: session.master.server == "B" and session.state.synchronised,
                            30,
                        )
                        out["failover_s"] = time.perf_counter() - k0
                        killed = True
                    await asyncio.sleep(max(0.0, t0 + off - time.perf_counter()))
                    if not session.state.synchronised:
                        continue  # mid-failover: nothing to compare but staleness
                    tc = time.thread_time()
                    recorder.sample_trains(recorder.clock_ms())
                    now = recorder.clock_ms()
                    pic = picture(
                        session.state, None, session.local.active.values(), session.service
                    )
                    taken.append((now, pic))
                    take_cpu += time.thread_time() - tc
                await asyncio.sleep(max(0.0, t0 + duration_s - time.perf_counter()))
            finally:
                out["wall_s"] = time.perf_counter() - t0
                out["cpu_s"] = time.process_time() - c0
                out["take_cpu_s"] = take_cpu
                await recorder.aclose()
                await session.aclose()

        asyncio.run(scenario())
    return Recorded(
        root,
        out["wall_s"],
        out["cpu_s"],
        meter,
        out["take_cpu_s"],
        recorder.bytes,
        recorder.records,
        out.get("failover_s", float("nan")),
        taken,
    )


class NoKeyframes(Recording):
    """The recording as if it held no keyframe: a seek applies every record from the start."""

    def last_keyframe_at_or_before(self, time_ms: int) -> int | None:
        return None


def seeks(
    line: Line, plan: Timetable, rec: Recording, taken: list[tuple[int, Picture]]
) -> tuple[list[float], int]:
    player = Player(line, rec, timetable=plan)
    ms: list[float] = []
    mismatches = 0
    for t, live in taken:
        t0 = time.perf_counter()
        player.seek(t)
        ms.append((time.perf_counter() - t0) * 1000)
        got = picture(player.state, None, player.local.values(), player.service)
        if got != live:
            mismatches += 1
    return ms, mismatches


def replay_paint(
    line: Line, plan: Timetable, rec: Recording, min_frames: int = 100
) -> dict[str, Any]:
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from ui.schematic import SchematicScene, SchematicView

    app = QApplication.instance() or QApplication([])
    scene = SchematicScene(line)
    view = SchematicView(scene)
    view.resize(1920, 1080)
    view.show()
    app.processEvents()
    image = QImage(1920, 1080, QImage.Format.Format_ARGB32_Premultiplied)
    player = Player(line, rec, timetable=plan)
    step = SPEED * FRAME_MS
    frames: list[float] = []
    applies: list[float] = []
    renders: list[float] = []
    while len(frames) < min_frames:
        moves = player.seek(player.start_ms)
        scene.apply(player.state, moves.state)
        t = player.start_ms
        while t < player.end_ms:
            t += step
            t0 = time.perf_counter()
            moves = player.advance(t)
            scene.apply(player.state, moves.state)
            t1 = time.perf_counter()
            painter = QPainter(image)
            view.render(painter)
            painter.end()
            t2 = time.perf_counter()
            app.processEvents()
            frames.append((t2 - t0) * 1000)
            applies.append((t1 - t0) * 1000)
            renders.append((t2 - t1) * 1000)
    view.close()
    return {
        "replay_frames": len(frames),
        "replay_frame_p95_ms": pct(frames, 95),
        "replay_frame_median_ms": statistics.median(frames),
        "replay_advance_apply_p95_ms": pct(applies, 95),
        "replay_render_p95_ms": pct(renders, 95),
        "replay_paint_ratio": pct(frames, 95) / BUDGET_MS,
    }


def run(argv: list[str]) -> dict[str, Any]:
    o = parse_args(argv)
    line = load_line(default_line_file())
    plan = load_timetable(DEMO_WEEKDAY, line)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "blackbox"
        print(f"recording {o.hours:g} simulated hours at {TIME_SCALE}x, a failover midway ...")
        r = record(line, plan, root, o)
        (day, *more) = days(root)
        recs = [Recording.open_day(root, d) for d in (day, *more)]
        rec = recs[0] if not more else Recording.open([p for x in recs for p in x.paths])
        disk = sum(p.stat().st_size for p in rec.paths)
        by_kind: dict[str, int] = {}
        for k, size in zip(rec.index.kinds, rec.index.sizes, strict=True):
            name = Kind(k).name.lower()
            by_kind[name] = by_kind.get(name, 0) + size + HEADER.size
        ms, mismatches = seeks(line, plan, rec, r.taken)
        nk = NoKeyframes(rec.paths, rec.index, rec.file_of, rec.damage, rec._data)
        base_taken = r.taken[:: max(1, len(r.taken) // o.baseline_moments)][: o.baseline_moments]
        base_ms, base_mismatches = seeks(line, plan, nk, base_taken)
        paint = replay_paint(line, plan, rec)

    sim_hours = r.wall_s * TIME_SCALE / 3600
    wall_hours = r.wall_s / 3600
    rec_share = r.recorder.cpu_s / r.wall_s
    session_share = max(0.0, r.process_cpu_s - r.recorder.cpu_s - r.take_cpu_s) / r.wall_s
    bytes_per_day = r.bytes / sim_hours * 24
    bytes_per_wall_hour = r.bytes / wall_hours
    # at 1x, what is made per wall second (keyframes, train samples, links) stays, what
    # the server sends per simulated second (deltas, actuals, alarms) is 60 times rarer
    per_wall = sum(by_kind.get(k, 0) for k in WALL_KINDS)
    realtime_day = per_wall / wall_hours * 24 + (r.bytes - per_wall) / sim_hours * 24
    out: dict[str, Any] = {
        "hours": o.hours,
        "wall_s": round(r.wall_s, 2),
        "failover_s": round(r.failover_wall_s, 3),
        "records": r.records,
        "bytes": r.bytes,
        "disk_bytes": disk,
        "recorder_cpu_share": rec_share,
        "recorder_cpu_s": r.recorder.cpu_s,
        "recorder_calls": r.recorder.calls,
        "session_cpu_share": session_share,
        "recorder_vs_session": rec_share / session_share if session_share else float("nan"),
        "bytes_per_day": round(bytes_per_day),
        "bytes_per_wall_hour": round(bytes_per_wall_hour),
        "bytes_per_realtime_day_upper": round(bytes_per_wall_hour * 24),
        "bytes_per_realtime_day_estimate": round(realtime_day),
        "bytes_by_kind": by_kind,
        "moments": len(r.taken),
        "seek_p95_ms": pct(ms, 95),
        "seek_median_ms": statistics.median(ms) if ms else 0.0,
        "state_mismatches": mismatches,
        "baseline_moments": len(base_taken),
        "baseline_seek_p95_ms": pct(base_ms, 95),
        "baseline_state_mismatches": base_mismatches,
        "seek_p95_vs_baseline": pct(ms, 95) / pct(base_ms, 95) if base_ms else float("nan"),
        **paint,
    }
    mb = 1e6
    print(f"  recorded {r.records} records, {r.bytes / mb:.2f} MB in {r.wall_s:.1f} s wall "
          f"({sim_hours:.2f} simulated h); failover took {r.failover_wall_s:.2f} s")  # fmt: skip
    print(f"  recorder CPU {rec_share:.4f} of a core (target < 0.02); "
          f"baseline: the session itself {session_share:.4f}")  # fmt: skip
    print(f"  bytes per simulated day (24 h at {TIME_SCALE}x) {bytes_per_day / mb:.1f} MB "
          f"(target <= 200 MB); per wall hour {bytes_per_wall_hour / mb:.1f} MB "
          f"(train samples and keyframes are per wall second: a real-time day <= "
          f"{bytes_per_wall_hour * 24 / mb:.0f} MB)")  # fmt: skip
    print(f"  a real-time day, keyframes, train samples and links per wall hour, the rest per "
          f"simulated hour: about {realtime_day / mb:.0f} MB; by kind: "
          + ", ".join(f"{k} {v / mb:.2f} MB" for k, v in sorted(by_kind.items())))  # fmt: skip
    print(f"  seek p95 {out['seek_p95_ms']:.1f} ms over {len(ms)} moments (target <= 300); "
          f"baseline, every record from the start: {out['baseline_seek_p95_ms']:.1f} ms over "
          f"{len(base_ms)}; ratio {out['seek_p95_vs_baseline']:.3f}")  # fmt: skip
    print(f"  state mismatches {mismatches} (must be 0); baseline {base_mismatches}")
    print(f"  replay at {SPEED}x into the schematic: frame p95 "
          f"{paint['replay_frame_p95_ms']:.1f} ms "
          f"over {paint['replay_frames']} frames, ratio to {BUDGET_MS} ms "
          f"{paint['replay_paint_ratio']:.2f} (target <= 1)")  # fmt: skip
    return out
