"""Soak: the HMI core against the simulator pair at ten times normal traffic.

``--program``: the whole program instead, as a dispatcher runs it for a shift:
``python -m ui.main --demo`` offscreen as a child process (the window, the
alarm feed from a real tansu broker, zone control in a real redis-server, the
simulator pair with protected links), with simulated time ten times faster;
its resident set size and CPU time are read from ``/proc/PID`` every few
seconds, and after a warm-up the same least-squares line gives the growth.

The core's links are protected with the MAC, as in production, unless
``--unprotected``; its figures include the integrity failures (expected 0).

Normal traffic is 20 trains reported every 100 ms, with deltas each 100 ms
tick. The soak runs 40 trains on a 20 ms tick (2 x 5 = 10x the datagrams and
delta frames) with simulated time 10x faster, so routes, switches and
sections change ten times as often too. The HMI core (links, line state, no
Qt) runs in this process; its resident set size (``/proc/self/statm``) and
tracemalloc's traced memory are sampled every few seconds. After a warm-up,
a least-squares line through the samples gives the growth in MB per hour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Any

from app import memdiag
from app.config import load_line
from app.counterparts.sim.launcher import SimulatorPair, demo_link_keys
from app.memdiag import slope_per_hour
from app.paths import default_line_file
from app.protocol.security import LinkKeys, LinkPolicy
from app.session import DispatcherSession

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
FLOOR_WINDOW_S = 300.0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


async def _soak(
    pair: SimulatorPair, seconds: float, every: float, keys: LinkKeys | None
) -> dict[str, Any]:
    line = load_line(default_line_file())
    session = DispatcherSession(
        line,
        pair.endpoints,
        node="SOAK",
        dispatcher="soak",
        role="dispatcher",
        policy=LinkPolicy(keys) if keys is not None else None,
    )
    changes = 0

    def count(_: object) -> None:
        nonlocal changes
        changes += 1

    session.state_changed.connect(count)
    session.start()
    rss: list[tuple[float, float]] = []
    traced: list[tuple[float, float]] = []
    try:
        async with asyncio.timeout(30):
            await session.wait_synchronised()
        t0 = time.monotonic()
        while (now := time.monotonic() - t0) < seconds:
            await asyncio.sleep(every)
            rss.append((now, rss_mb()))
            traced.append((now, tracemalloc.get_traced_memory()[0] / 1e6))
        frames = sum(lk._conn.frames_received for lk in session.links)
        datagrams = sum(lk.datagrams for lk in session.links)
        gaps, failovers = session.gaps, session.failovers
    finally:
        await session.aclose()
    warm = [s for s in rss if s[0] >= seconds * 0.25]
    warm_traced = [s for s in traced if s[0] >= seconds * 0.25]
    return {
        "seconds": round(seconds, 1),
        "samples": len(rss),
        "rss_start_mb": round(rss[0][1], 2),
        "rss_end_mb": round(rss[-1][1], 2),
        "rss_growth_mb_per_hour": round(slope_per_hour(warm), 3),
        "traced_growth_mb_per_hour": round(slope_per_hour(warm_traced), 3),
        "frames": frames,
        "datagrams": datagrams,
        "state_changes": changes,
        "gaps": gaps,
        "failovers": failovers,
        "protected": keys is not None,
        "integrity_failures": sum(lk.integrity.total for lk in session.links),
    }


def proc_figures(pid: int) -> tuple[float, float]:
    """(RSS in MB, user + system CPU seconds) of process ``pid``, from /proc."""
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * PAGE / 1e6
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quarter_slopes(samples: list[tuple[float, float]]) -> list[float]:
    """The slope (per hour) of each quarter of the samples' time span."""
    return [round(q, 3) for q in memdiag.quarter_slopes(samples)]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def find_program(pid: int, marker: str = "bench.program", wait_s: float = 30.0) -> int:
    """The process running ``marker`` at or under ``pid`` (a tracer such as heaptrack
    runs the program as its child); ``pid`` itself if none shows within ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        todo = [pid]
        while todo:
            p = todo.pop()
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if any(marker.encode() in part for part in cmd) and b"python" in cmd[0] + (
                cmd[1] if len(cmd) > 1 else b""
            ):
                return p
            todo.extend(_children(p))
        time.sleep(0.5)
    return pid


#: the parts of the memory records reported on their own: (key, series, unit)
PARTS = (
    ("python_heap_growth_mb_per_hour", "py.pymalloc_arena_bytes", "MB"),
    ("python_blocks_growth_per_hour", "py.blocks", ""),
    ("python_traced_growth_mb_per_hour", "py.traced", "MB"),
    ("qt_objects_growth_per_hour", "qt.objects_total", ""),
    ("qt_items_growth_per_hour", "qt.items_total", ""),
    ("qt_wrappers_growth_per_hour", "qt.wrappers_total", ""),
    ("malloc_in_use_growth_mb_per_hour", "malloc.in_use", "MB"),
    ("malloc_free_growth_mb_per_hour", "malloc.free", "MB"),
    ("malloc_mmap_growth_mb_per_hour", "malloc.mmap", "MB"),
    ("native_arenas_system_growth_mb_per_hour", "malloc.system", "MB"),
    ("kafka_fetchq_growth_per_hour", "kafka.fetchq_cnt", ""),
    ("kafka_replyq_growth_per_hour", "kafka.replyq", ""),
)


def record_figures(path: str, warmup_s: float) -> dict[str, Any]:
    """Each part's growth after the warm-up, from the program's own memory records."""
    try:
        records = memdiag.read_records(path)
    except OSError:
        return {"records": 0}
    out: dict[str, Any] = {"records": len(records)}
    if len(records) < 3:
        return out
    growths, _start, _end = memdiag.growth(records, warmup_s)
    by_name = {g.series: g for g in growths}
    for key, series, _unit in PARTS:
        g = by_name.get(series)
        if g is not None:
            out[key] = round(g.per_hour, 3)
            out[key.replace("_per_hour", "_quarters")] = [round(q, 3) for q in g.quarters]
    last = records[-1]
    out["malloc_arenas"] = (last.get("malloc") or {}).get("arenas")
    out["qt_objects_end"] = (last.get("qt") or {}).get("objects_total")
    out["qt_items_end"] = (last.get("qt") or {}).get("items_total")
    text, data = memdiag.report(records, warmup_s, top=8)
    out["verdict"] = data.get("verdict", [])
    out["report"] = text
    return out


def program_soak(
    seconds: float,
    every: float,
    time_scale: float,
    data_dir: str,
    *,
    without: tuple[str, ...] = (),
    diagnose_every_min: float = 1.0,
    tracemalloc_frames: int = 0,
    wrap: list[str] | None = None,
    warmup_s: float | None = None,
    progress: str | None = None,
    program_args: list[str] | None = None,
    hmi_args: list[str] | None = None,
) -> dict[str, Any]:
    """The real program in demo mode, offscreen, sampled from outside; its own memory
    records (``bench/program.py``) every ``diagnose_every_min`` minutes."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DISPATCHER_DATA=data_dir)
    log_file = os.path.join(data_dir, "hmi.log")
    records = os.path.join(data_dir, "memory.jsonl")
    cmd = [*(wrap or []), sys.executable, "-m", "bench.program"]
    for part in without:
        cmd += ["--without", part]
    if diagnose_every_min > 0:
        cmd += ["--diagnose-every", f"{diagnose_every_min:g}", "--diagnose-file", records]
        cmd += ["--tracemalloc", str(tracemalloc_frames)]
    cmd += program_args or []
    cmd += [
        "--", "--demo", "--demo-time-scale", f"{time_scale:g}",
        "--no-login", "--quit-after", f"{seconds + 15:g}", "--log-file", log_file,
        *(hmi_args or []),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pid = find_program(proc.pid)
    rss: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []
    warm_at = seconds * 0.25 if warmup_s is None else warmup_s
    try:
        time.sleep(15)  # start-up: the broker, Redis, the pair, the first snapshot
        t0 = time.monotonic()
        while (now := time.monotonic() - t0) < seconds and proc.poll() is None:
            try:
                mb, cpu_s = proc_figures(pid)
            except OSError:
                break
            rss.append((now, mb))
            cpu.append((now, cpu_s))
            if progress:
                with open(progress, "a") as f:
                    f.write(f"{now:.0f} {mb:.2f} {cpu_s:.1f}\n")
            time.sleep(every)
        if proc.poll() is not None and (not rss or rss[-1][0] < seconds - 2 * every):
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"the program exited early ({proc.returncode}): {err[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.wait(120)  # --quit-after ends it; a tracer then writes its file
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
    result = figures(rss, cpu, warm_at, log_file)
    result.update(
        without=list(without),
        program_args=list(program_args or []),
        seconds=round(seconds, 1),
        time_scale=time_scale,
        exit_code=proc.returncode,
    )
    if diagnose_every_min > 0:
        # the records' clock starts with the program, the samples' 15 s later
        result["parts"] = record_figures(records, warm_at + 15)
    return result


def figures(
    rss: list[tuple[float, float]],
    cpu: list[tuple[float, float]],
    warm_at: float,
    log_file: str,
) -> dict[str, Any]:
    """The soak's figures from its samples: growth after warm-up, the slope of each
    quarter after it (levels off or not), each hour's slope, the CPU share."""
    try:
        with open(log_file, encoding="utf-8", errors="replace") as f:
            log = f.read()
    except OSError:
        log = ""
    warm = [s for s in rss if s[0] >= warm_at]
    hours = []
    for h in range(int(rss[-1][0] // 3600) + 1):
        part = [s for s in rss if h * 3600 <= s[0] <= (h + 1) * 3600]
        if len(part) >= 2 and part[-1][0] - part[0][0] >= 1800:
            hours.append(round(slope_per_hour(part), 3))
    # the floor: the least RSS of each five minutes, so that memory given back on a
    # schedule (the heap upkeep) or taken for a moment (a diagnostics record) does not
    # decide the slope; its growth is what stays
    floor: dict[int, tuple[float, float]] = {}
    for t, v in warm:
        k = int(t // FLOOR_WINDOW_S)
        if k not in floor or v < floor[k][1]:
            floor[k] = (t, v)
    floors = [floor[k] for k in sorted(floor)]
    return {
        "mode": "program",
        "samples": len(rss),
        "sampled_s": round(rss[-1][0], 1),
        "warmup_s": round(warm_at, 1),
        "rss_start_mb": round(rss[0][1], 2),
        "rss_end_mb": round(rss[-1][1], 2),
        "rss_growth_mb_per_hour": round(slope_per_hour(warm), 3),
        # does it level off? the slope of each quarter after warm-up
        "rss_quarter_slopes_mb_per_hour": quarter_slopes(warm),
        "rss_verdict": memdiag.level_verdict(
            memdiag.quarter_slopes(warm), slope_per_hour(warm), 0.1
        ),
        "rss_floor_growth_mb_per_hour": round(slope_per_hour(floors), 3),
        "rss_floor_quarter_slopes_mb_per_hour": quarter_slopes(floors),
        # each whole hour's slope (the first hour includes the warm-up)
        "rss_hour_slopes_mb_per_hour": hours,
        # where the growth happens: RSS at each quarter of the whole run
        "rss_quarters_mb": [
            round(rss[min(len(rss) - 1, len(rss) * q // 4)][1], 2) for q in (1, 2, 3, 4)
        ],
        "cpu_share_of_a_core": round(
            (cpu[-1][1] - cpu[0][1]) / max(cpu[-1][0] - cpu[0][0], 1e-9), 3
        ),
        "log_warnings": sum(1 for line in log.splitlines() if " WARNING " in line),
        "log_errors": sum(
            1 for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line
        ),
    }


def report_kept(directory: str, warm_at: float) -> dict[str, Any]:
    """The figures of a run kept with ``--keep DIR`` (``rss.txt``, ``memory.jsonl``,
    ``hmi.log``), finished or not: for a long run read while it goes, or one that was
    stopped."""
    rss: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []
    with open(os.path.join(directory, "rss.txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                rss.append((float(parts[0]), float(parts[1])))
                cpu.append((float(parts[0]), float(parts[2])))
    if len(rss) < 4:
        raise RuntimeError(f"{directory}: {len(rss)} samples, too few to tell")
    result = figures(rss, cpu, warm_at, os.path.join(directory, "hmi.log"))
    records = os.path.join(directory, "memory.jsonl")
    if os.path.exists(records):
        result["parts"] = record_figures(records, warm_at + 15)
    return result


def print_program(result: dict[str, Any], args: argparse.Namespace) -> None:
    parts = result.get("parts", {})
    report = parts.pop("report", "")
    without = result.get("without") or args.without
    print(
        f"program soak {result.get('seconds', result['sampled_s'])} s (sampled "
        f"{result['sampled_s']} s), simulated time x{result.get('time_scale', args.time_scale):g}"
        f"{', without ' + ', '.join(without) if without else ''}: RSS "
        f"{result['rss_start_mb']} -> {result['rss_end_mb']} MB; after warm-up "
        f"{result['rss_growth_mb_per_hour']} MB/h (target <= 0.5; its floor "
        f"{result['rss_floor_growth_mb_per_hour']} MB/h), quarters "
        f"{result['rss_quarter_slopes_mb_per_hour']} MB/h ({result['rss_verdict']}), each hour "
        f"{result['rss_hour_slopes_mb_per_hour']} MB/h; "
        f"{result['cpu_share_of_a_core']:.1%} of a core; log: "
        f"{result['log_warnings']} warnings, {result['log_errors']} errors"
    )
    if parts:
        print(
            "  after warm-up, per hour: Python heap (pymalloc arenas) "
            f"{parts.get('python_heap_growth_mb_per_hour')} MB, Qt objects "
            f"{parts.get('qt_objects_growth_per_hour')}, graphics items "
            f"{parts.get('qt_items_growth_per_hour')}, malloc in use "
            f"{parts.get('malloc_in_use_growth_mb_per_hour')} MB, malloc free "
            f"{parts.get('malloc_free_growth_mb_per_hour')} MB, arenas "
            f"{parts.get('malloc_arenas')}"
        )
        print("  " + report.replace("\n", "\n  "))


def run(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument("--program", action="store_true", help="soak the whole program (see above)")
    p.add_argument("--time-scale", type=float, default=10.0, help="--program: simulated time")
    p.add_argument(
        "--unprotected", action="store_true", help="links without the MAC (default: protected)"
    )
    p.add_argument(
        "--without",
        action="append",
        default=[],
        choices=("alarms", "redis", "schematic", "alarm-table", "trains"),
        help="--program: leave this part out (repeatable; see bench/program.py)",
    )
    p.add_argument(
        "--diagnose-every",
        type=float,
        default=1.0,
        metavar="MIN",
        help="--program: the program's own memory record every MIN minutes (0: none)",
    )
    p.add_argument(
        "--tracemalloc", type=int, default=0, metavar="FRAMES", help="--program: trace Python"
    )
    p.add_argument("--warmup-min", type=float, default=None, help="default: a quarter of the run")
    p.add_argument(
        "--wrap", default="", help="--program: run under this (e.g. 'heaptrack -o FILE')"
    )
    p.add_argument(
        "--keep", default=None, metavar="DIR", help="--program: keep the log and records here"
    )
    p.add_argument(
        "--report",
        default=None,
        metavar="DIR",
        help="--program: the figures of a run kept in DIR (finished, running or stopped)",
    )
    p.add_argument(
        "--program-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="--program: pass to bench/program.py (e.g. --program-arg=--gc-freeze-after=60)",
    )
    p.add_argument(
        "--hmi-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="--program: pass to dispatcher-hmi (e.g. --hmi-arg=--heap-upkeep-every=0: "
        "without the heap upkeep)",
    )
    args = p.parse_args(argv)
    seconds = args.minutes * 60
    if args.program and args.report:
        result = report_kept(args.report, 900 if args.warmup_min is None else args.warmup_min * 60)
        print_program(result, args)
        return result
    if args.program:
        with contextlib.ExitStack() as stack:
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                data_dir = args.keep
            else:
                data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="dhmi-soak-"))
            result = program_soak(
                seconds,
                min(args.sample_s, seconds / 4),
                args.time_scale,
                data_dir,
                without=tuple(args.without),
                diagnose_every_min=args.diagnose_every,
                tracemalloc_frames=args.tracemalloc,
                wrap=shlex.split(args.wrap),
                warmup_s=None if args.warmup_min is None else args.warmup_min * 60,
                progress=os.path.join(args.keep, "rss.txt") if args.keep else None,
                program_args=args.program_arg,
                hmi_args=args.hmi_arg,
            )
        print_program(result, args)
        return result
    tracemalloc.start(1)
    sim_args = ["--trains", "40", "--tick", "0.02", "--time-scale", "10", "--log-level", "WARNING"]
    keys = None if args.unprotected else demo_link_keys()
    with SimulatorPair(default_line_file(), sim_args, link_keys=keys) as pair:
        result = asyncio.run(_soak(pair, seconds, min(args.sample_s, seconds / 4), keys))
    tracemalloc.stop()
    print(
        f"soak {result['seconds']} s at 10x traffic: {result['frames']} frames, "
        f"{result['datagrams']} datagrams, {result['state_changes']} state changes; "
        f"links {'protected' if keys else 'unprotected'}, "
        f"{result['integrity_failures']} integrity failures"
    )
    print(
        f"  RSS {result['rss_start_mb']} -> {result['rss_end_mb']} MB; after warm-up "
        f"{result['rss_growth_mb_per_hour']} MB/h (target <= 1), traced "
        f"{result['traced_growth_mb_per_hour']} MB/h"
    )
    return result
