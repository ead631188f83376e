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
- ``replay_paint_ratio``: the real replay window (1920x1080, offscreen) playing the
  recording at 64x on its own timer (``Player.advance`` every 50 ms), each paint of
  the schematic timed from the viewport's paint event to the end of its foreground
  pass as ``bench render`` does; its p95 over the 16.7 ms frame budget (target <= 1),
  with the timer's step and the loop's lag. Baseline, interleaved in the same
  process: the same window whose player rebuilds each step's moment by a seek.

``--time-scale 1`` records in real time: the bytes per day are then measured
(``--hours 0.25``: a quarter of an hour, times 96).
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
    time_scale: float = 60.0
    paint_seconds: float = 5.0
    service_start: str = "06:00"


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
    p.add_argument(
        "--time-scale",
        type=float,
        default=60.0,
        help="the simulator's speed (default 60; 1: a real-time recording, whose bytes per "
        "day are then measured, not estimated)",
    )
    p.add_argument("--paint-seconds", type=float, default=5.0, help="per window and round")
    p.add_argument(
        "--service-start", default="06:00", help="the service time the run starts at (HH:MM)"
    )
    a = p.parse_args(argv)
    if a.hours <= 0 or a.moments < 1 or a.time_scale <= 0 or a.paint_seconds <= 0:
        p.error("--hours, --time-scale, --paint-seconds must be > 0 and --moments >= 1")
    return Options(
        a.hours,
        a.moments,
        a.seed,
        max(1, min(a.baseline_moments, a.moments)),
        a.time_scale,
        a.paint_seconds,
        a.service_start,
    )


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
    duration_s = o.hours * 3600 / o.time_scale
    args = [
        "--legacy-commands",
        "--timetable",
        str(DEMO_WEEKDAY),
        "--service-start",
        o.service_start,
        "--time-scale",
        f"{o.time_scale:g}",
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
                        session.state,
                        None,
                        session.local.active.values(),
                        session.service,
                        session.link_infos(),
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
        got = picture(player.state, None, player.local.values(), player.service, player.links)
        if got != live:
            mismatches += 1
    return ms, mismatches


def replay_paint(
    line: Line, plan: Timetable, rec: Recording, seconds: float, rounds: int = 2
) -> dict[str, Any]:
    """The real replay window (:func:`ui.replay.open_replay`, 1920x1080 offscreen) playing
    at 64x on its own timer, as a dispatcher would watch it; each paint of the schematic
    timed from the viewport's paint event to the end of its foreground pass, and the
    loop's lag, as ``bench render`` does. Baseline, interleaved: the same window with a
    player that rebuilds every frame's moment by a seek instead of playing on."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import ui.mainwindow
    from app.config import load_workstation
    from app.paths import default_workstation_file
    from bench.render import LagClock, PaintClock, spin, timed_scene_class
    from ui.replay import Replay, open_replay

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    clocks: dict[int, PaintClock] = {}
    scene_class = getattr(ui.mainwindow, "SchematicScene")  # noqa: B009 (patched back)
    setattr(ui.mainwindow, "SchematicScene", timed_scene_class(clocks))  # noqa: B010 (a patch)
    ws = load_workstation(default_workstation_file())
    tmp = tempfile.TemporaryDirectory()
    settings = QSettings(str(Path(tmp.name) / "bench.ini"), QSettings.Format.IniFormat)
    windows: dict[str, tuple[Replay, PaintClock, list[float]]] = {}
    try:
        for mode in ("ours", "baseline"):
            replay = open_replay(ws, line, rec, settings=settings, timetable=plan)
            w = replay.window
            w.resize(1920, 1080)
            w.show()
            paint = PaintClock()
            clocks[id(w.scene)] = paint
            w.view.viewport().installEventFilter(paint)
            ticks: list[float] = []
            player = replay.player
            step = player.seek if mode == "baseline" else player.advance
            setattr(player, "advance", _timed(step, ticks, paint))  # noqa: B010 (a patch)
            windows[mode] = (replay, paint, ticks)
        lag = LagClock()
        lag.timer.start()
        lags: dict[str, list[float]] = {m: [] for m in windows}
        for _ in range(rounds):
            for mode, (replay, paint, _ticks) in windows.items():
                driver = replay.driver
                replay.window.raise_()
                driver.seek(replay.player.start_ms)
                driver.play(SPEED)
                again = QTimer()
                again.setInterval(100)  # the end of the recording: from its start again

                def loop(d: Any = driver, r: Replay = replay) -> None:
                    if not d.clock.playing:
                        d.seek(r.player.start_ms)
                        d.play(SPEED)

                again.timeout.connect(loop)
                again.start()
                spin(app, 1.0)
                lag.samples = []
                lag.recording = paint.recording = True
                spin(app, seconds)
                lag.recording = paint.recording = False
                lags[mode].extend(lag.samples)
                again.stop()
                driver.pause()
        lag.timer.stop()
    finally:
        setattr(ui.mainwindow, "SchematicScene", scene_class)  # noqa: B010
        for replay, _p, _t in windows.values():
            asyncio.run(replay.aclose())
            replay.window.close()
            replay.window.deleteLater()
        app.processEvents()
        tmp.cleanup()
    ours, base = windows["ours"], windows["baseline"]
    paint_p95 = pct(ours[1].samples, 95)
    base_p95 = pct(base[1].samples, 95)
    return {
        "replay_speed": SPEED,
        "replay_paints": len(ours[1].samples),
        "replay_paint_p50_ms": pct(ours[1].samples, 50),
        "replay_paint_p95_ms": paint_p95,
        "replay_paint_cpu_p95_ms": pct(ours[1].cpu_samples, 95),
        "replay_tick_p95_ms": pct(ours[2], 95),
        "replay_loop_lag_p99_ms": pct(lags["ours"], 99),
        "replay_paint_ratio": paint_p95 / BUDGET_MS,
        "replay_lag_ratio": pct(lags["ours"], 99) / BUDGET_MS,
        "baseline_replay_paint_p95_ms": base_p95,
        "baseline_replay_tick_p95_ms": pct(base[2], 95),
        "baseline_replay_loop_lag_p99_ms": pct(lags["baseline"], 99),
        "replay_tick_vs_baseline": pct(ours[2], 95) / pct(base[2], 95) if base[2] else 0.0,
    }


def _timed(fn: Callable[[int], Any], into: list[float], paint: Any) -> Callable[[int], Any]:
    def timed(t: int) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(t)
        finally:
            if paint.recording:
                into.append((time.perf_counter() - t0) * 1000)

    return timed


def run(argv: list[str]) -> dict[str, Any]:
    o = parse_args(argv)
    line = load_line(default_line_file())
    plan = load_timetable(DEMO_WEEKDAY, line)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "blackbox"
        print(f"recording {o.hours:g} simulated hours at {o.time_scale:g}x, a failover midway ...")
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
        paint = replay_paint(line, plan, rec, o.paint_seconds)

    sim_hours = r.wall_s * o.time_scale / 3600
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
    print(f"  bytes per simulated day (24 h at {o.time_scale:g}x) {bytes_per_day / mb:.1f} MB "
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
    print(f"  the replay window at {SPEED}x: paint p95 {paint['replay_paint_p95_ms']:.1f} ms "
          f"over {paint['replay_paints']} paints, ratio to {BUDGET_MS} ms "
          f"{paint['replay_paint_ratio']:.2f} (target <= 1); its timer's step p95 "
          f"{paint['replay_tick_p95_ms']:.1f} ms, loop lag p99 "
          f"{paint['replay_loop_lag_p99_ms']:.1f} ms; baseline, a seek every frame: "
          f"paint p95 {paint['baseline_replay_paint_p95_ms']:.1f} ms, step p95 "
          f"{paint['baseline_replay_tick_p95_ms']:.1f} ms (ratio "
          f"{paint['replay_tick_vs_baseline']:.2f})")  # fmt: skip
    return out
