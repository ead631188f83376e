"""``dispatcher-hmi``: the dispatcher workstation.

Runs asyncio on Qt's event loop (qasync): the session's sockets and the widgets
share one thread. ``--check-config`` only loads and checks files: it creates no
QApplication and imports no Qt at all.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from app import memdiag, memtrim
from app.config import ConfigError, check_files, load_line, load_workstation
from app.config.workstation import dispatcher_id_problem
from app.model.roles import Role
from app.paths import default_workstation_file
from app.wiring import (
    configure_logging,
    configured_endpoints,
    hmi_log_file,
    load_plan,
    override_endpoints,
    security_problems,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dispatcher-hmi", description="Metro line dispatcher workstation (ATS HMI)."
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="workstation file (default: the machine's, else resources/config/workstation.yaml)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="start the line simulator as a child process and connect to it",
    )
    p.add_argument(
        "--join-demo",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="join the demo another dispatcher-hmi --demo runs on this machine, as a second "
        "desk (its connection file; default: the one --demo writes and names in its log)",
    )
    p.add_argument(
        "--demo-time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="with --demo: simulated seconds per real second (default 1)",
    )
    p.add_argument(
        "--replay",
        metavar="SOURCE",
        default=None,
        help="replay a recording instead of connecting (回放): a black-box folder (its newest "
        "day, or --at's), a day's .dhbx file or an incident clip; nothing is sent",
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        default=None,
        help="with --replay: the moment to open at, 'YYYY-MM-DD HH:MM:SS' or HH:MM[:SS] "
        "(the recording's first day), in the line's time zone",
    )
    p.add_argument(
        "--server",
        action="append",
        metavar="HOST:PORT",
        default=None,
        help="connect here instead of the configured servers (repeatable)",
    )
    p.add_argument(
        "--screenshot",
        metavar="PATH",
        default=None,
        help="save a PNG of the main window (1920x1080) before quitting",
    )
    p.add_argument(
        "--export-graph",
        metavar="PATH",
        default=None,
        help="before quitting, export the day's train graph, planned and actual, to PATH "
        "(.pdf: A3 landscape; else PNG); needs a timetable (docs/timetable.md)",
    )
    p.add_argument(
        "--quit-after",
        type=float,
        metavar="SECONDS",
        default=None,
        help="quit after this many seconds (with --screenshot: take it then)",
    )
    p.add_argument(
        "--check-config",
        nargs="+",
        metavar="FILE",
        default=None,
        help="check line, workstation and timetable files and exit (0 when all are fine); "
        "a timetable is checked against the line file given before it, else the line of "
        "--config's workstation file",
    )
    p.add_argument(
        "--smoke-test",
        action="store_true",
        help="load the configuration and Qt, wait for the first state snapshot from the "
        "servers (or --server), print one line and exit (0: it works)",
    )
    p.add_argument(
        "--smoke-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --smoke-test: how long to wait for the snapshot (default 30)",
    )
    p.add_argument(
        "-platform",
        "--platform",
        dest="platform",
        metavar="NAME",
        default=None,
        help="Qt platform plugin (offscreen, windows, xcb...); default: Qt's choice",
    )
    p.add_argument(
        "--dispatcher",
        metavar="ID",
        default=None,
        help="who is at the desk, without a password (skips the login: for the bench and "
        "scripted runs; refused in production mode)",
    )
    p.add_argument(
        "--role",
        choices=["dispatcher", "supervisor", "observer"],
        default=None,
        help="with --dispatcher: the role (default: the workstation file's)",
    )
    p.add_argument(
        "--no-login",
        action="store_true",
        help="no login: the workstation file's identity (bench, tests; refused in production)",
    )
    p.add_argument("--lang", choices=["zh_CN", "en"], default=None, help="user interface language")
    p.add_argument(
        "--log-file",
        metavar="PATH",
        default=None,
        help="also log here, rotated at 10 MB (default: <user data>/logs/hmi.log; - for none)",
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING... (default INFO)")
    p.add_argument(
        "--heap-upkeep-every",
        type=float,
        default=memtrim.EVERY_S,
        metavar="S",
        help="a full collection and malloc_trim(0) every S seconds, so that a run of days "
        f"gives free memory back (docs/performance.md; default {memtrim.EVERY_S:g}; 0: never)",
    )
    memdiag.add_program_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.check_config is not None:
        return check_files(args.check_config, sys.stdout, workstation=args.config)
    if args.demo and args.join_demo is not None:
        print("dispatcher-hmi: --demo or --join-demo, not both", file=sys.stderr)
        return 2
    if args.at is not None and args.replay is None:
        print("dispatcher-hmi: --at needs --replay", file=sys.stderr)
        return 2
    if args.replay is not None and (args.demo or args.join_demo is not None or args.smoke_test):
        print(
            "dispatcher-hmi: --replay runs alone (no --demo, --join-demo, --smoke-test)",
            file=sys.stderr,
        )
        return 2

    log_file = None if args.log_file == "-" else Path(args.log_file or hmi_log_file())
    configure_logging(args.log_level, log_file)
    config = Path(args.config) if args.config else default_workstation_file()
    try:
        ws = load_workstation(config)
        line = load_line(ws.line)
        load_plan(ws, line)  # its errors now, with file:line:column, not in the window
    except ConfigError as exc:
        print(f"dispatcher-hmi: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"dispatcher-hmi: {config}: {exc}", file=sys.stderr)
        return 2
    refusals = security_problems(ws)
    if ws.security.production and (args.no_login or args.dispatcher is not None):
        refusals.append(
            "production mode: a dispatcher logs in with a password (no --no-login, no --dispatcher)"
        )
    if refusals:
        for why in refusals:
            print(f"dispatcher-hmi: {config}: security: {why}", file=sys.stderr)
        return 2
    try:
        overrides = override_endpoints(args.server or [])
    except ValueError as exc:
        print(f"dispatcher-hmi: --server: {exc}", file=sys.stderr)
        return 2
    if args.dispatcher is not None:
        problem = dispatcher_id_problem(args.dispatcher)
        if problem is not None:
            print(f"dispatcher-hmi: --dispatcher: {problem}", file=sys.stderr)
            return 2
        ws = dataclasses.replace(
            ws, dispatcher=args.dispatcher, role=Role(args.role) if args.role else ws.role
        )
    elif args.role is not None:
        print("dispatcher-hmi: --role needs --dispatcher", file=sys.stderr)
        return 2
    # Qt is imported only now, so that --check-config never loads it.
    from ui.runtime import run_gui, setup_application  # noqa: PLC0415

    if args.smoke_test:
        from ui.i18n import startup_language  # noqa: PLC0415
        from ui.smoke import run_smoke_test  # noqa: PLC0415

        app = setup_application(startup_language(args.lang, str(ws.language)), args.platform)
        endpoints = overrides or configured_endpoints(ws)
        return run_smoke_test(app, config, ws, line, endpoints, args.smoke_timeout)
    if args.replay is not None:
        from ui.replayrun import run_replay_gui  # noqa: PLC0415

        return run_replay_gui(args, ws, line)
    return run_gui(args, ws, line, overrides)


if __name__ == "__main__":
    sys.exit(main())
