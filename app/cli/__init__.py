"""``dispatcher-cli``: the headless client, on the same core as the HMI.

- ``state``: connect, print the live line state as JSON, exit.
- ``command DEVICE OPERATION``: run one intent (or ``--repeat N``, or a
  ``--batch`` file of them) through the same pipeline as the HMI: authority
  check, device lock with a fencing token, COMMAND with an idempotency key,
  the result, the audit log. The CLI is the confirmation step. One JSON line
  per intent; exit status 0 only when every intent was executed.
- ``zones``: print the zone authority as JSON, after an optional action
  (take, release, request, grant, force, mode).
- ``directory``: provision the directory of dispatchers (add, passwd, role,
  remove, list: ``app/identity/admin.py``, docs/security.md).
- ``actuals``: the day's actual arrivals and departures (实绩) as JSON lines, from the
  servers (``--follow``: then each new one) or, with ``--date D``, a day the HMI kept
  (``app/cli/actuals.py``, docs/timetable.md).
- ``alarms``: catch up on today's alarm topic like the HMI and print every alarm
  that is not normal (shelved, suppressed and out of service ones too) as one
  JSON line; ``--follow`` then prints each change as a JSON line
  (``docs/alarms.md``, "dispatcher-cli alarms").
- ``history``: search a recorded day of the black box (alarms, commands, failovers,
  links) as JSON lines, or cut an incident clip of it (``app/cli/history.py``,
  docs/cli.md).

Exit status: 0 success, 1 a command not executed (or no state), 2 bad usage or
configuration, 3 a zone action refused.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app import memdiag
from app.cli.actuals import cmd_actuals, print_day
from app.cli.alarms import cmd_alarms
from app.cli.codes import EXIT_NOT_EXECUTED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from app.cli.history import add_history_arguments, run_history
from app.config import ConfigError, Workstation, load_line, load_workstation
from app.config.secrets import SecretError
from app.control.authority import AuthorityRefused, ZoneAuthority
from app.control.pipeline import CommandRecord, Intent
from app.control.service import ControlService
from app.identity.admin import add_directory_arguments, run_directory
from app.lifetime import running
from app.model.commands import CommandOp, Outcome
from app.model.roles import Role
from app.paths import actuals_dir, default_workstation_file
from app.session import DispatcherSession, MasterView
from app.wiring import (
    build_alarms,
    build_control,
    build_session,
    configure_logging,
    configured_endpoints,
    override_endpoints,
    redis_options,
    security_problems,
)


class UsageError(Exception):
    pass


# -- state ------------------------------------------------------------------------


async def cmd_state(session: DispatcherSession, wait_s: float) -> int:
    async with running(session):
        try:
            async with asyncio.timeout(wait_s):
                await session.wait_synchronised()
        except TimeoutError:
            print(
                f"dispatcher-cli: no line state within {wait_s:g} s ({_links(session)})",
                file=sys.stderr,
            )
            return EXIT_NOT_EXECUTED
        # Taken before closing: a closed session no longer vouches for its state.
        state = session.state.to_json()
    json.dump(state, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return EXIT_OK


def _links(session: DispatcherSession) -> str:
    return "; ".join(f"{i.name}: {i.state} {i.last_error}".strip() for i in session.link_infos())


# -- command ----------------------------------------------------------------------


def parse_op(text: str) -> CommandOp:
    try:
        return CommandOp(text)
    except ValueError:
        known = ", ".join(op.value for op in CommandOp)
        raise UsageError(f"unknown operation {text!r}; known: {known}") from None


def read_batch(path: str) -> list[tuple[str, CommandOp, str | None]]:
    """Lines ``DEVICE OPERATION [ZONE]``; blank lines and ``#`` comments are skipped."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    out: list[tuple[str, CommandOp, str | None]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) not in (2, 3):
            raise UsageError(f"{path}:{n}: expected 'DEVICE OPERATION [ZONE]', got {raw!r}")
        try:
            op = parse_op(parts[1])
        except UsageError as exc:
            raise UsageError(f"{path}:{n}: {exc}") from None
        out.append((parts[0], op, parts[2] if len(parts) == 3 else None))
    return out


def record_json(rec: CommandRecord, dispatcher: str) -> dict[str, Any]:
    r = rec.result
    return {
        "device": rec.intent.device,
        "op": rec.intent.op.value,
        "arg": rec.intent.arg,
        "zone": rec.intent.zone,
        "dispatcher": dispatcher,
        "idempotency_key": rec.intent.key,
        "fencing_token": rec.fencing_token,
        "outcome": r.outcome.value,
        "reason_code": r.reason_code,
        "reason": r.reason,
        "joined": rec.joined,
        "elapsed_ms": rec.finished_ms - rec.started_ms,
    }


async def _ready(session: DispatcherSession, control: ControlService, wait_s: float) -> None:
    """Wait (bounded) for the line state, a master and zone authority; never fails.

    Whatever is missing after ``wait_s`` makes the intents' outcomes say so.
    """
    deadline = time.monotonic() + wait_s
    commandable = asyncio.Event()

    def on_master(view: MasterView) -> None:
        if view.can_command:
            commandable.set()

    session.master_changed.connect(on_master)
    on_master(session.master)
    try:
        async with asyncio.timeout(wait_s):
            await session.wait_synchronised()
            await commandable.wait()
    except TimeoutError:
        pass
    finally:
        session.master_changed.disconnect(on_master)
    if control.authority is not None:
        await control.authority.wait_available(max(0.0, deadline - time.monotonic()))


async def cmd_command(
    session: DispatcherSession,
    control: ControlService,
    intents: list[tuple[str, CommandOp, str | None]],
    *,
    wait_s: float,
    take: bool,
    arg: str = "",
) -> int:
    executed = 0
    async with running(session, control):
        await _ready(session, control, wait_s)
        if take and control.authority is not None:
            wanted = {z or session.state.zone_of(d) or "" for d, _, z in intents}
            for wanted_zone in sorted(wanted - {""}):
                try:
                    await control.authority.take(wanted_zone)
                except AuthorityRefused as exc:
                    print(f"dispatcher-cli: take {wanted_zone}: {exc.refusal}", file=sys.stderr)
        pipeline = control.pipeline
        for device, op, zone in intents:
            intent: Intent = pipeline.intent(device, op, zone, arg)
            records: list[CommandRecord] = []
            pipeline.finished.connect(records.append)
            try:
                result = await pipeline.execute(intent)
            finally:
                pipeline.finished.disconnect(records.append)
            rec = records[-1] if records else CommandRecord(intent, result, 0, 0, 0)
            print(json.dumps(record_json(rec, session.dispatcher), ensure_ascii=False), flush=True)
            executed += result.outcome is Outcome.EXECUTED
    return EXIT_OK if executed == len(intents) else EXIT_NOT_EXECUTED


# -- zones ------------------------------------------------------------------------


def zone_json(z: ZoneAuthority) -> dict[str, Any]:
    return {
        "mode": z.mode.value,
        "holder": z.holder,
        "since_ms": z.since_ms,
        "requests": list(z.requests),
        "version": z.version,
    }


async def cmd_zones(
    session: DispatcherSession, control: ControlService, args: argparse.Namespace
) -> int:
    store = control.authority
    if store is None:
        print("dispatcher-cli: no Redis configured: zone authority is not shared", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_OK
    async with running(control):
        if not await store.wait_available(args.timeout):
            print(f"dispatcher-cli: {store.unavailable_refusal()}", file=sys.stderr)
            return EXIT_NOT_EXECUTED
        try:
            if args.take:
                await store.take(args.take)
            if args.request:
                await store.request(args.request)
            if args.grant:
                await store.grant(*args.grant)
            if args.force:
                await store.force(*args.force)
            if args.mode:
                await store.set_mode(*args.mode)
            if args.release:
                await store.release(args.release)
        except AuthorityRefused as exc:
            print(f"dispatcher-cli: refused ({exc.code}): {exc.refusal}", file=sys.stderr)
            status = EXIT_REFUSED
        out = {z: zone_json(s) for z, s in sorted(store.snapshot().items())}
        print(json.dumps({"who": store.who, "zones": out}, ensure_ascii=False), flush=True)
        if args.hold > 0 and status == EXIT_OK:
            # Stay logged in (presence refreshed) so an exclusive zone stays held.
            await asyncio.sleep(args.hold)
    return status


# -- parser -----------------------------------------------------------------------


def _common(p: argparse.ArgumentParser, default: Any) -> None:
    """Options every subcommand takes, before or after its name.

    Given twice (top level and subcommand), with ``SUPPRESS`` defaults at the
    subcommand level so that a value given before the subcommand survives.
    """

    def d(value: Any) -> Any:
        return value if default is None else default

    p.add_argument("--config", default=d(str(default_workstation_file())), help="workstation file")
    p.add_argument(
        "--server",
        action="append",
        default=d([]),
        metavar="HOST:PORT",
        help="connect here instead of the configured servers (repeatable)",
    )
    p.add_argument(
        "--redis",
        action="append",
        default=d([]),
        metavar="HOST:PORT",
        help="Redis node(s) instead of the configured ones (repeatable: 1, 3 or 5)",
    )
    p.add_argument(
        "--no-redis",
        action="store_true",
        default=d(False),
        help="single-workstation lock, no shared zone authority",
    )
    p.add_argument("--as", dest="dispatcher", default=d(None), help="dispatcher login name")
    p.add_argument("--role", choices=[r.value for r in Role], default=d(None))
    p.add_argument("--workstation", default=d(None), help="workstation id (default: <id>-cli<pid>)")
    p.add_argument("--audit-log", default=d(None), metavar="PATH", help="audit log (JSON lines)")
    p.add_argument("--log-level", default=d("WARNING"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dispatcher-cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p, None)
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    _common(common, argparse.SUPPRESS)

    st = sub.add_parser("state", parents=[common], help="print the current line state as JSON")
    st.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (default 10)")

    cm = sub.add_parser("command", parents=[common], help="run intents through the pipeline")
    cm.add_argument("device", nargs="?", help="switch, signal, route or train id")
    cm.add_argument("operation", nargs="?", help="e.g. throw_reverse, set_route")
    cm.add_argument("--zone", help="the control zone (default: the device's)")
    cm.add_argument(
        "--arg",
        default="",
        help="the operation's argument (shelve_alarm: minutes; "
        "inject_fault: KIND[:SECONDS], docs/coupling.md)",
    )
    cm.add_argument("--repeat", type=int, default=1, help="run N intents (each its own key)")
    cm.add_argument("--batch", metavar="FILE", help="lines 'DEVICE OPERATION [ZONE]' ('-': stdin)")
    cm.add_argument("--take", action="store_true", help="take the zone(s) first if free")
    cm.add_argument(
        "--dedupe-window-ms", type=int, help="override commands.dedupe_window_ms (0: off)"
    )
    cm.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the line")

    zn = sub.add_parser("zones", parents=[common], help="print (and change) zone authority")
    zn.add_argument("--take", metavar="ZONE")
    zn.add_argument("--release", metavar="ZONE")
    zn.add_argument("--request", metavar="ZONE")
    zn.add_argument("--grant", nargs=2, metavar=("ZONE", "TO"), help="TO: dispatcher@workstation")
    zn.add_argument("--force", nargs=2, metavar=("ZONE", "TO"), help="supervisor; TO may be ''")
    zn.add_argument(
        "--mode", nargs=2, metavar=("ZONE", "MODE"), help="supervisor: shared|exclusive"
    )
    zn.add_argument("--hold", type=float, default=0.0, help="stay logged in S seconds after")
    zn.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for Redis")

    al = sub.add_parser(
        "alarms", parents=[common], help="print every alarm not normal (hidden too) as JSON"
    )
    al.add_argument("--kafka", metavar="HOST:PORT", help="the broker instead of the configured one")
    al.add_argument("--follow", action="store_true", help="then print each change (JSON lines)")
    al.add_argument("--timeout", type=float, default=15.0, help="seconds to catch up")

    ac = sub.add_parser(
        "actuals",
        parents=[common],
        help="print the day's actual arrivals and departures as JSON lines",
    )
    ac.add_argument(
        "--date", metavar="YYYY-MM-DD", help="a day the HMI kept on disk, instead of the servers"
    )
    ac.add_argument(
        "--archive",
        metavar="DIR",
        help=f"where the HMI keeps the days (default {actuals_dir()})",
    )
    ac.add_argument("--follow", action="store_true", help="then print each new one")
    ac.add_argument("--timeout", type=float, default=15.0, help="seconds to catch up")

    hi = sub.add_parser(
        "history",
        help="search a recorded day of the black box (JSON lines), or cut a clip of it",
        description="Search a day the black box recorded: alarms, commands, failovers, "
        "master changes, local alarms and link changes, one JSON line each, in time order "
        "(docs/cli.md, 'history'). Reads only the recording: no servers, no Redis.",
    )
    add_history_arguments(hi)

    dg = sub.add_parser(
        "diagnose",
        help="say what grew in a memory record file (dispatcher-hmi --diagnose-memory)",
        description="Read the records of dispatcher-hmi --diagnose-memory and say what grew: "
        "the resident set's growth per hour after the warm-up, the part that holds it "
        "(docs/operations.md, 'Memory diagnostics'). Reads only the file: no line, no "
        "servers.",
    )
    memdiag.add_diagnose_arguments(dg)

    dr = sub.add_parser(
        "directory",
        help="add, change, remove or list the dispatchers of the directory (administrator)",
        description="The directory of dispatchers: a Redis ACL user per dispatcher, its role "
        "in a key only an administrator writes (docs/security.md, 'Who is at the desk').",
    )
    add_directory_arguments(dr)
    return p


def _workstation(ws: Workstation, args: argparse.Namespace) -> Workstation:
    changes: dict[str, Any] = {"id": args.workstation or f"{ws.id}-cli{os.getpid()}"}
    if args.dispatcher:
        changes["dispatcher"] = args.dispatcher
    if args.role:
        changes["role"] = Role(args.role)
    if getattr(args, "dedupe_window_ms", None) is not None:
        changes["commands"] = dataclasses.replace(
            ws.commands, dedupe_window_ms=max(0, args.dedupe_window_ms)
        )
    return dataclasses.replace(ws, **changes)


def _intents(args: argparse.Namespace) -> list[tuple[str, CommandOp, str | None]]:
    if args.batch:
        if args.device:
            raise UsageError("give DEVICE OPERATION or --batch, not both")
        if args.arg:
            raise UsageError("--arg goes with DEVICE OPERATION, not with --batch")
        items = read_batch(args.batch)
    else:
        if not (args.device and args.operation):
            raise UsageError("command needs DEVICE OPERATION (or --batch FILE)")
        if len(args.arg) > 64 or not args.arg.isprintable():
            raise UsageError("--arg must be printable and at most 64 characters")
        items = [(args.device, parse_op(args.operation), args.zone)]
    if args.repeat < 1:
        raise UsageError(f"--repeat must be >= 1, got {args.repeat}")
    repeated: list[tuple[str, CommandOp, str | None]] = items * args.repeat
    return repeated


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # JSON is UTF-8 (RFC 8259), whatever the console's code page: a cp1252 or cp936 pipe
    # must not make a station name or a sign unprintable.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")
    configure_logging(args.log_level)
    if args.command == "diagnose":
        return memdiag.run_diagnose(args)
    if args.command == "directory":
        return run_directory(args, redis_options)
    if args.command == "history":
        return run_history(args)
    if args.command == "actuals" and args.date:
        return print_day(Path(args.archive) if args.archive else actuals_dir(), args.date)
    try:
        ws = load_workstation(args.config)
        if args.command != "state":
            ws = _workstation(ws, args)
        line = load_line(ws.line)
        endpoints = override_endpoints(args.server) or configured_endpoints(ws)
        intents = _intents(args) if args.command == "command" else []
        refusals = security_problems(ws)
        if refusals:
            raise UsageError("security: " + "; ".join(refusals))
        session = build_session(ws, line, endpoints)
    except ConfigError as exc:
        print(f"dispatcher-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, OSError, SecretError) as exc:
        print(f"dispatcher-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"dispatcher-cli: --server: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "state":
        return asyncio.run(cmd_state(session, args.timeout))
    if args.command == "actuals":
        try:
            return asyncio.run(cmd_actuals(session, wait_s=args.timeout, follow=args.follow))
        except KeyboardInterrupt:
            return EXIT_OK
    if args.command == "alarms":
        service = build_alarms(ws, session, bootstrap=args.kafka, acknowledge=False)
        try:
            return asyncio.run(cmd_alarms(service, wait_s=args.timeout, follow=args.follow))
        except KeyboardInterrupt:
            return EXIT_OK
    return asyncio.run(_with_control(ws, session, args, intents))


async def _with_control(
    ws: Workstation,
    session: DispatcherSession,
    args: argparse.Namespace,
    intents: list[tuple[str, CommandOp, str | None]],
) -> int:
    nodes: list[str] | None = [] if args.no_redis else (args.redis or None)
    try:
        control = build_control(ws, session, redis_nodes=nodes, audit_log=args.audit_log)
    except ValueError as exc:
        print(f"dispatcher-cli: --redis: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "zones":
        return await cmd_zones(session, control, args)
    return await cmd_command(
        session, control, intents, wait_s=args.timeout, take=args.take, arg=args.arg
    )


if __name__ == "__main__":
    sys.exit(main())
