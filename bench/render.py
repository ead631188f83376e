"""Render: the whole line with 60 trains at 10 Hz and 5 alarms/s, offscreen.

``python -m bench render [--quick] [--seconds S] [--rounds N] [--trains N]``

The real :class:`ui.mainwindow.MainWindow` (1920x1080, whole line in view,
alarm dock live) is fed the way the session feeds it: a train status record
per train every 100 ms (the UDP path: ``LineState.apply_train``), section
occupancy as numbered deltas when it changes, and 5 alarm changes a second
(raise, and later clear, on devices spread over the line) into its alarm
list. The trains run along the down and the up main line at a steady speed,
spaced evenly.

Measured per frame: the schematic's paint time (from the viewport's paint
event to the end of its foreground pass), p50 and p95, in wall time and in
the thread's CPU time (which a loaded, shared machine does not inflate); the event loop's lag
(a 10 ms precise timer's lateness), p99; both against the 16.7 ms frame
budget (``paint_ratio``, ``lag_ratio``; targets <= 1.0 and <= 3).

Baseline, interleaved with ours in the same process: the same window with
Qt's default scene index (BSP tree) and viewport update mode (minimal), the
textbook set-up, instead of ours (no index, suited to items that move every
frame; smart viewport updates).

``startup_s``: a fresh ``python`` process from spawn to the first painted
frame of the main window with the demo line (imports, configuration, window,
first paint; no server connection).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView

from app.alarms.consumer import FeedSettings
from app.alarms.records import AlarmEvent, EventType, Priority, Record, RecordType
from app.alarms.service import AlarmService
from app.comms.link import LinkInfo, LinkState
from app.config import load_line
from app.control.service import ControlService
from app.events import Event
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.state import (
    Changes,
    LineState,
    SectionState,
    StateDelta,
    StateSnapshot,
    TrainState,
)
from app.model.topology import Direction, Line, SwitchLeg
from app.model.track import TrackGraph
from app.paths import resource_dir
from app.session import LocalAlarm, MasterView
from app.wiring import offline_control

BUDGET_MS = 16.7
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Options:
    seconds: float
    rounds: int
    trains: int
    quick: bool


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench render", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="short run, for CI")
    p.add_argument("--seconds", type=float, help="seconds per variant per round (10)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (3)")
    p.add_argument("--trains", type=int, default=60, help="trains (60)")
    p.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.trains < 1:
        p.error("--trains must be >= 1")
    return Options(
        seconds=a.seconds or (2.0 if a.quick else 10.0),
        rounds=a.rounds or (1 if a.quick else 3),
        trains=a.trains,
        quick=bool(a.quick),
    )


# -- the feed ----------------------------------------------------------------------------


class BenchSession:
    """What the window needs of a session, fed by :class:`Traffic` instead of a server."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.state = LineState(line)
        self.node = "WS-BENCH"
        self.dispatcher = "bench"
        self.role = "dispatcher"
        self.state_changed: Event[Changes] = Event("state_changed")
        self.links_changed: Event[list[LinkInfo]] = Event("links_changed")
        self.command_finished: Event[CommandResult] = Event("command_finished")
        self.master_changed: Event[MasterView] = Event("master_changed")
        self.alarm: Event[LocalAlarm] = Event("alarm")
        self.master = MasterView("A", 1, (("A", 1),))
        self.alarms: dict[str, LocalAlarm] = {}
        self.links = [
            LinkInfo("A@127.0.0.1:7101", "A", "127.0.0.1", 7101, LinkState.UP, "master", 1, 0.4)
        ]

    def link_infos(self) -> list[LinkInfo]:
        return list(self.links)

    async def wait_commandable(self, timeout_s: float) -> bool:
        return True

    async def command(self, device: str, op: CommandOp, **_kw: Any) -> CommandResult:
        return CommandResult("bench", device, op, Outcome.REFUSED, "benchmark")


def bench_control(session: BenchSession) -> ControlService:
    """The window's control services as without Redis (the single-workstation lock)."""
    return offline_control(
        session, session.line, session.state, dispatcher=session.dispatcher, node=session.node
    )


def main_line_paths(line: Line) -> list[tuple[Direction, list[tuple[str, int]]]]:
    """The down and the up main line as (section, entry end) in running order.

    Walked through the track graph with every switch normal, from each dead
    end; the longest walk is the down line, the longest disjoint one the up.
    """
    graph = TrackGraph(line)
    normal = {s.id: SwitchLeg.NORMAL for s in line.switches}
    walks: list[list[tuple[str, int]]] = []
    for sec in line.sections:
        for end in (0, 1):
            if not graph.is_dead_end(sec.id, end):
                continue
            path, seen, cur, entry = [(sec.id, end)], {sec.id}, sec.id, end
            while (join := graph.ahead(cur, 1 - entry, normal)) is not None:
                if join.section in seen:
                    break
                path.append((join.section, join.end))
                seen.add(join.section)
                cur, entry = join.section, join.end
            walks.append(path)
    walks.sort(key=len, reverse=True)
    first = walks[0]
    used = {s for s, _ in first}
    second = next(w for w in walks if not used & {s for s, _ in w})
    secs = line.section_by_id
    going_right = secs[first[0][0]].x0 < secs[first[-1][0]].x1
    down, up = (first, second) if going_right else (second, first)
    return [(Direction.DOWN, down), (Direction.UP, up)]


class Traffic:
    """Trains along the main lines and alarms, applied to a session as the server would."""

    def __init__(self, session: BenchSession, alarms: AlarmService, trains: int) -> None:
        self.session = session
        self.alarms = alarms
        line = session.line
        self.legs: list[tuple[Direction, list[tuple[str, float, int]]]] = []
        for direction, path in main_line_paths(line):
            self.legs.append(
                (direction, [(s, line.section_by_id[s].length_m, end) for s, end in path])
            )
        self.leg_length = [sum(length for _, length, _ in path) for _, path in self.legs]
        loop = sum(self.leg_length)
        self.positions = [loop * i / trains for i in range(trains)]
        self.loop = loop
        self.speed_m_per_tick = 80 / 3.6 * 0.1 * 6  # 80 km/h, six times real time
        self.occupied: set[str] = set()
        self.alarm_n = 0
        self.devices = [s.id for s in line.switches] + [s.id for s in line.signals]
        stations = line.stations
        self.station_of = {d: stations[i % len(stations)].id for i, d in enumerate(self.devices)}
        session.state.apply_snapshot(
            StateSnapshot(seq=1, sections=tuple(SectionState(s.id) for s in line.sections))
        )
        session.state_changed.emit(Changes(full=True))

    def where(self, distance: float) -> tuple[Direction, str, float]:
        d = distance % self.loop
        for (direction, path), total in zip(self.legs, self.leg_length, strict=True):
            if d < total:
                for sid, length, entry in path:
                    if d < length:
                        offset = d if entry == 0 else length - d
                        return direction, sid, offset
                    d -= length
            d -= total
        direction, path = self.legs[-1]
        return direction, path[-1][0], 0.0

    def tick(self) -> None:
        """One 100 ms status cycle: every train's record, then occupancy if it changed."""
        state = self.session.state
        changes = Changes()
        occupied: set[str] = set()
        now_ms = int(time.time() * 1000)
        for i in range(len(self.positions)):
            pos = self.positions[i] + self.speed_m_per_tick
            self.positions[i] = pos
            direction, sid, offset = self.where(pos)
            occupied.add(sid)
            number = f"{i + 1:02d}{int(pos // self.loop) % 100:02d}"
            train = TrainState(i + 1, number, sid, round(offset, 2), 80.0, direction)
            changes.merge(state.apply_train(train))
        if occupied != self.occupied:
            flipped = occupied ^ self.occupied
            seq = (state.seq or 0) + 1
            delta = StateDelta(
                seq=seq,
                sections=tuple(SectionState(s, s in occupied, since_ms=now_ms) for s in flipped),
                time_ms=now_ms,
            )
            changes.merge(state.apply_delta(delta))
            self.occupied = occupied
        self.session.state_changed.emit(changes)

    def alarm(self) -> None:
        """One alarm change: a new alarm, and every third change clears an old one."""
        self.alarm_n += 1
        n = self.alarm_n
        clear = n % 3 == 0 and n > 30
        k = n - 30 if clear else n
        device = self.devices[k % len(self.devices)]
        now_ms = int(time.time() * 1000)
        ev = AlarmEvent(
            alarm_id=f"B{k}",
            event=EventType.CLEAR if clear else EventType.RAISE,
            device=device,
            station=self.station_of[device],
            zone="",
            priority=Priority(k % 4 + 1),
            kind="switch_lost" if device.startswith("W") else "signal_lamp",
            code="ALM-BENCH",
            text_zh=f"{device} 故障",
            text_en=f"{device} fault",
            raised_ms=now_ms,
            event_ms=now_ms,
            active=not clear,
            acked=False,
        )
        rec = Record(RecordType.CHANGE, "bench", n, 1, -1, ev)
        self.alarms.changed.emit(self.alarms.list.apply(rec))


# -- the measurements ---------------------------------------------------------------------


class PaintClock(QObject):
    """Times each paint of the schematic's viewport (start: its paint event)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0.0
        self.started_cpu = 0.0
        self.samples: list[float] = []
        self.cpu_samples: list[float] = []  # the thread's CPU time: blind to other processes
        self.recording = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.started = time.perf_counter()
            self.started_cpu = time.thread_time()
        return False

    def painted(self) -> None:
        if self.recording and self.started:
            self.samples.append((time.perf_counter() - self.started) * 1000)
            self.cpu_samples.append((time.thread_time() - self.started_cpu) * 1000)
        self.started = 0.0


def timed_scene_class(clock_of: dict[int, PaintClock]) -> type:
    """The window's scene class, ending a paint's timing after its foreground pass."""
    from ui.schematic import SchematicScene

    class TimedScene(SchematicScene):
        def drawForeground(self, painter: QPainter, rect: Any) -> None:
            super().drawForeground(painter, rect)
            clock = clock_of.get(id(self))
            if clock is not None:
                clock.painted()

    return TimedScene


class LagClock:
    """How late a 10 ms precise timer fires: the event loop's lag."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.recording = False
        self._last = 0.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._fire)

    def _fire(self) -> None:
        now = time.perf_counter()
        if self.recording and self._last:
            self.samples.append(max(0.0, (now - self._last) * 1000 - 10))
        self._last = now


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Variant:
    name: str
    window: Any
    traffic: Traffic
    paint: PaintClock
    lag: list[float]


def build_variant(name: str, line: Line, trains: int, clocks: dict[int, PaintClock]) -> Variant:
    from ui.mainwindow import MainWindow

    session = BenchSession(line)
    alarms = AlarmService(FeedSettings("127.0.0.1:1"), sender=None, ack_op=None)
    window = MainWindow(session, bench_control(session), alarms)
    if name == "baseline":
        window.scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        window.view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
    window.resize(1920, 1080)
    window.show()
    clock = PaintClock()
    clocks[id(window.scene)] = clock
    window.view.viewport().installEventFilter(clock)
    traffic = Traffic(session, alarms, trains)
    return Variant(name, window, traffic, clock, [])


def spin(app: QApplication, seconds: float) -> None:
    """Run Qt's event loop for ``seconds`` (a real loop: timers, posted events, paints)."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def measure(app: QApplication, v: Variant, lag: LagClock, seconds: float) -> None:
    trains = QTimer()
    trains.setTimerType(Qt.TimerType.PreciseTimer)
    trains.setInterval(100)
    trains.timeout.connect(v.traffic.tick)
    alarms = QTimer()
    alarms.setInterval(200)
    alarms.timeout.connect(v.traffic.alarm)
    v.window.raise_()
    trains.start()
    alarms.start()
    spin(app, 1.0)  # settle: the first frames after a switch of window are not the steady state
    lag.samples = []
    lag.recording = v.paint.recording = True
    spin(app, seconds)
    lag.recording = v.paint.recording = False
    v.lag.extend(lag.samples)
    trains.stop()
    alarms.stop()


def startup_child() -> int:
    """Build the main window with the demo line and exit at its first painted frame."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    clocks: dict[int, PaintClock] = {}
    import ui.mainwindow

    setattr(ui.mainwindow, "SchematicScene", timed_scene_class(clocks))  # noqa: B010 (a patch)
    line = load_line(resource_dir() / "lines" / "demo-line.yaml")
    v = build_variant("ours", line, 20, clocks)
    done = {"yes": False}

    def first() -> None:
        if not done["yes"]:
            done["yes"] = True
            print("first-frame", flush=True)
            QTimer.singleShot(0, app.quit)

    v.paint.recording = True
    v.paint.painted = first  # type: ignore[method-assign]
    app.exec()
    return 0


def startup_s() -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.render", "--startup-child"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    assert proc.stdout is not None
    for out in proc.stdout:
        if out.strip() == "first-frame":
            elapsed = time.perf_counter() - t0
            break
    else:
        elapsed = float("nan")
    proc.wait(timeout=60)
    return elapsed


def run(argv: list[str]) -> dict[str, Any]:
    opts = parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    import ui.mainwindow

    clocks: dict[int, PaintClock] = {}
    setattr(ui.mainwindow, "SchematicScene", timed_scene_class(clocks))  # noqa: B010 (a patch)
    line = load_line(resource_dir() / "lines" / "demo-line.yaml")
    variants = [build_variant(n, line, opts.trains, clocks) for n in ("ours", "baseline")]
    lag = LagClock()
    lag.timer.start()
    for _ in range(opts.rounds):
        for v in variants:
            measure(app, v, lag, opts.seconds)
    lag.timer.stop()
    for v in variants:
        v.window.close()
    start = startup_s()

    figures: dict[str, Any] = {
        "trains": opts.trains,
        "train_hz": 10,
        "alarms_per_s": 5,
        "budget_ms": BUDGET_MS,
    }
    rows = []
    for v in variants:
        p50, p95 = pct(v.paint.samples, 50), pct(v.paint.samples, 95)
        lag99 = pct(v.lag, 99)
        frames_per_s = len(v.paint.samples) / (opts.seconds * opts.rounds)
        rows.append((v.name, p50, p95, lag99, frames_per_s))
        prefix = "" if v.name == "ours" else "baseline_"
        figures[f"{prefix}paint_p50_ms"] = round(p50, 2)
        figures[f"{prefix}paint_p95_ms"] = round(p95, 2)
        figures[f"{prefix}paint_cpu_p95_ms"] = round(pct(v.paint.cpu_samples, 95), 2)
        figures[f"{prefix}loop_lag_p99_ms"] = round(lag99, 2)
        figures[f"{prefix}frames_per_s"] = round(frames_per_s, 1)
    figures["paint_ratio"] = round(figures["paint_p95_ms"] / BUDGET_MS, 3)
    figures["paint_cpu_ratio"] = round(figures["paint_cpu_p95_ms"] / BUDGET_MS, 3)
    figures["lag_ratio"] = round(figures["loop_lag_p99_ms"] / BUDGET_MS, 3)
    figures["paint_p95_vs_baseline"] = round(
        figures["paint_p95_ms"] / figures["baseline_paint_p95_ms"], 3
    )
    figures["startup_s"] = round(start, 2)

    print(
        f"{opts.trains} trains at 10 Hz, 5 alarms/s, whole line at 1920x1080 offscreen, "
        f"{opts.rounds} x {opts.seconds:g} s each"
    )
    print(
        f"{'':<10}{'paint p50':>11}{'paint p95':>11}{'cpu p95':>10}{'lag p99':>10}{'frames/s':>10}"
    )
    for name, p50, p95, lag99, fps in rows:
        cpu = figures["paint_cpu_p95_ms" if name == "ours" else "baseline_paint_cpu_p95_ms"]
        print(f"{name:<10}{p50:>9.2f}ms{p95:>9.2f}ms{cpu:>8.2f}ms{lag99:>8.2f}ms{fps:>10.1f}")
    print(
        f"budget {BUDGET_MS} ms: paint_ratio {figures['paint_ratio']} (target <= 1.0), "
        f"lag_ratio {figures['lag_ratio']} (target <= 3); paint_cpu_ratio "
        f"{figures['paint_cpu_ratio']} (the paint thread's CPU time, blind to other "
        "processes' load); ours / baseline paint p95 "
        f"{figures['paint_p95_vs_baseline']}"
    )
    print(f"cold start to first painted frame: {figures['startup_s']} s")
    return figures


if __name__ == "__main__":
    if "--startup-child" in sys.argv:
        sys.exit(startup_child())
    import json

    print(json.dumps(run(sys.argv[1:]), sort_keys=True))
