"""The whole program, as ``dispatcher-hmi --demo`` runs it, with parts left out and the
memory diagnostics on: the process that ``bench soak --program`` measures.

``python -m bench.program [--without PART]... [--diagnose-every MIN]
[--diagnose-file PATH] [--tracemalloc N] -- <dispatcher-hmi arguments>``

It runs ``ui.main.main`` itself (the same code, the same process), changed
only from outside:

- ``--without alarms``: no broker (the demo's "no Kafka" path: no alarm feed,
  librdkafka never loaded into a consumer, the simulator writes no alarms);
- ``--without redis``: no redis-server (the single-workstation lock, no zone
  authority);
- ``--without schematic``: the schematic view hidden (the scene still follows
  the line state, nothing is painted);
- ``--without alarm-table``: the alarm feed and list run, no alarm dock;
- ``--without trains``: a still line (the simulator pair runs no trains).

Memory records (``app.memdiag``) go to ``--diagnose-file`` every
``--diagnose-every`` minutes, with librdkafka's statistics: the program's own
``--diagnose-memory``, as a support engineer switches it on. The variables a
native tracer sets (``LD_PRELOAD``, heaptrack's and memray's) are removed
before any child starts, so that only this process is traced.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType
from typing import Any

PARTS = ("alarms", "redis", "schematic", "alarm-table", "trains")
#: what a native tracer leaves in the environment: not for the children
TRACER_VARIABLES = ("LD_PRELOAD", "DUMP_HEAPTRACK_OUTPUT", "DUMP_HEAPTRACK_SIGNAL")


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(prog="python -m bench.program", description=__doc__)
    p.add_argument("--without", action="append", default=[], choices=PARTS)
    p.add_argument("--diagnose-every", type=float, default=0.0, metavar="MIN")
    p.add_argument("--diagnose-file", default=None, metavar="PATH")
    p.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES")
    p.add_argument(
        "--find-holders",
        default=None,
        metavar="FILE:LINE",
        help="with --tracemalloc: every --find-every minutes, write what holds the objects "
        "allocated at this site (a tail of the path and the line) to --find-out",
    )
    p.add_argument("--find-every", type=float, default=5.0, metavar="MIN")
    p.add_argument(
        "--gc-freeze-after",
        type=float,
        default=0.0,
        metavar="S",
        help="gc.freeze() this long after the window opens (0: never)",
    )
    p.add_argument(
        "--gc-collect-every", type=float, default=0.0, metavar="S", help="gc.collect() (0: never)"
    )
    p.add_argument(
        "--malloc-trim-every", type=float, default=0.0, metavar="S", help="malloc_trim(0)"
    )
    p.add_argument("--find-out", default="holders.txt", metavar="PATH")
    if "--" in argv:
        i = argv.index("--")
        return p.parse_args(argv[:i]), argv[i + 1 :]
    return p.parse_args(argv), []


def main(argv: list[str] | None = None) -> int:
    args, hmi_argv = parse(sys.argv[1:] if argv is None else argv)
    for name in TRACER_VARIABLES:
        os.environ.pop(name, None)
    without = set(args.without)

    import ui.main
    import ui.mainwindow
    import ui.runtime

    # What the demo starts beside the window: app/counterparts/demo.py.
    from app.counterparts import demo

    if "alarms" in without:
        _replace(demo, "_broker", lambda ws: (None, None))
    if "redis" in without:
        _replace(demo, "_redis", lambda ws: (None, []))
    if "alarm-table" in without:  # the alarm dock, rings and label
        _replace(ui.mainwindow, "AlarmAnnunciation", lambda *a, **kw: None)
    if "trains" in without:
        real_pair = vars(demo)["SimulatorPair"]

        def still_pair(line: Any, args: list[str], **kw: Any) -> Any:
            args = list(args)
            if "--pairs" in args:
                i = args.index("--pairs")
                del args[i : i + 2]
            return real_pair(line, args=[*args, "--trains", "0"], **kw)

        _replace(demo, "SimulatorPair", still_pair)

    if args.diagnose_every > 0:  # the program's own recorder, as a support engineer runs it
        hmi_argv = [
            *hmi_argv,
            "--diagnose-memory",
            "--diagnose-every", f"{args.diagnose_every:g}",
            "--diagnose-tracemalloc", str(args.tracemalloc),
            *(["--diagnose-file", args.diagnose_file] if args.diagnose_file else []),
        ]  # fmt: skip
    real_window = vars(ui.runtime)["MainWindow"]

    def window(*a: Any, **kw: Any) -> Any:
        w = real_window(*a, **kw)
        if "schematic" in without:
            w.view.hide()
        from PySide6.QtCore import QTimer

        if args.gc_freeze_after > 0:
            import gc

            def freeze() -> None:
                gc.collect()
                gc.freeze()

            QTimer.singleShot(int(args.gc_freeze_after * 1000), freeze)
        for every, what in ((args.gc_collect_every, "gc"), (args.malloc_trim_every, "trim")):
            if every > 0:
                import gc

                from app.memdiag import malloc_trim

                t = QTimer(w)
                t.setInterval(int(every * 1000))
                t.timeout.connect(gc.collect if what == "gc" else malloc_trim)
                t.start()
        if args.find_holders:
            timer = QTimer(w)
            timer.setInterval(int(args.find_every * 60_000))
            timer.timeout.connect(lambda: find_holders(args.find_holders, args.find_out))
            timer.start()
        return w

    _replace(ui.runtime, "MainWindow", window)
    return ui.main.main(hmi_argv)


def _replace(module: ModuleType, name: str, value: object) -> None:
    """Change one name of a module from outside (what the program looks up at run time);
    a name the module lacks is an error, not a silent no-op."""
    if name not in vars(module):
        raise AttributeError(f"{module.__name__} has no {name!r}: bench/program.py is out of date")
    setattr(module, name, value)


def find_holders(site: str, out: str, limit: int = 40) -> None:
    """Write which objects refer to the live objects allocated at ``site`` (tracemalloc
    must run), and what refers to those: two levels of referrers, by type, with a
    sample of each. For a growth that tracemalloc names but does not explain."""
    import gc
    import time
    import tracemalloc
    from collections import Counter

    path, _, line = site.rpartition(":")

    def made_here(obj: object) -> bool:
        tb = tracemalloc.get_object_traceback(obj)
        return tb is not None and tb[0].filename.endswith(path) and tb[0].lineno == int(line)

    gc.collect()
    found: dict[int, object] = {}
    holders: dict[int, object] = {}
    for o in gc.get_objects():
        if made_here(o):
            found[id(o)] = o
        for ref in gc.get_referents(o):
            if id(ref) not in found and made_here(ref):
                found[id(ref)] = ref
            if id(ref) in found:
                holders[id(o)] = o
    kinds = Counter(type(h).__qualname__ for h in holders.values())
    lines = [f"== {time.strftime('%H:%M:%S')} {site}: {len(found)} objects, held by {dict(kinds)}"]
    for h in list(holders.values())[:limit]:
        lines.append(f"  holder {type(h).__qualname__}: {repr(h)[:300]}")
        for r in gc.get_referrers(h)[:6]:
            if r is holders or r is found:
                continue
            lines.append(f"    <- {type(r).__qualname__}: {repr(r)[:300]}")
    with open(out, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
