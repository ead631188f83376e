"""``dispatcher-sim``: run the line simulator on loopback sockets.

Prints one line ``READY {"node": ..., "tcp": [[host, port], ...]}`` on stdout
once it listens, so a parent process can wait for it and learn the ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from app.clock import wall_ms
from app.config import ConfigError, load_line
from app.config.secrets import SecretError, load_link_keys, read_secret
from app.control.redlock import clients_for, close_clients
from app.counterparts.sim.alarms import AlarmSettings, AlarmSystem, check_prefix
from app.counterparts.sim.fence import FenceCounters
from app.counterparts.sim.guard import LEGACY, STRICT
from app.counterparts.sim.interlocking import Refused
from app.counterparts.sim.journal import Journal
from app.counterparts.sim.server import ServerSettings, SimServer
from app.counterparts.sim.timetable_options import (
    ServicePlanError,
    add_timetable_options,
    service_plan,
)
from app.counterparts.sim.world import COUPLING_FAULTS, ServiceSettings, World
from app.model.commands import train_device
from app.paths import default_line_file
from app.protocol.security import LinkPolicy
from app.wiring import configure_logging

log = logging.getLogger("app.counterparts.sim")


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    host = host.strip("[]")
    if not host.startswith("127.") and host not in ("::1", "localhost"):
        raise argparse.ArgumentTypeError(f"the simulator listens on loopback only, not {host}")
    return host, int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dispatcher-sim", description=__doc__.split("\n")[0])
    p.add_argument("--line", default=str(default_line_file()), help="line file (YAML)")
    p.add_argument(
        "--listen",
        action="append",
        type=parse_address,
        metavar="HOST:PORT",
        help="address to listen on; repeat for a second network "
        "(default 127.0.0.1:7101; port 0 picks a free one)",
    )
    p.add_argument("--node", default="A", help="server id (default A)")
    p.add_argument(
        "--role",
        choices=["master", "standby"],
        default="master",
        help="role at start (default master)",
    )
    p.add_argument("--epoch", type=int, default=1, help="epoch at start (default 1)")
    p.add_argument(
        "--peer",
        action="append",
        type=parse_address,
        default=[],
        metavar="HOST:PORT",
        help="the partner server of the pair; repeat for its second network",
    )
    p.add_argument("--trains", type=int, default=20, help="trains in service (default 20)")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second (default 1)",
    )
    p.add_argument("--dwell", type=float, default=30.0, help="platform dwell, s (default 30)")
    p.add_argument(
        "--tick", type=float, default=0.1, help="real seconds between state updates (default 0.1)"
    )
    c = p.add_argument_group("coupling (联挂解编, docs/coupling.md)")
    c.add_argument(
        "--pairs",
        type=_count,
        default=0,
        metavar="N",
        help="place N extra units, held, end to end behind the first N trains (also held)",
    )
    c.add_argument(
        "--couple-s", type=_positive, default=5.0, help="coupling / uncoupling time, s (default 5)"
    )
    c.add_argument(
        "--coupling-fault",
        action="append",
        default=[],
        type=_fault,
        metavar="UNIT=KIND[:S]",
        help="inject a coupling report fault from the start (flicker, disagree, dual_master, "
        "no_master, lost); at run time: the inject_fault command",
    )
    add_timetable_options(p)
    p.add_argument(
        "--journal",
        default=None,
        help="append every command decision (and, with a timetable, every actual) here (JSONL)",
    )
    f = p.add_argument_group("command safety (docs/control.md)")
    f.add_argument(
        "--legacy-commands",
        action="store_true",
        help="accept a COMMAND without an idempotency key or a fencing token (a legacy "
        "client, or workstations without a lock service): such commands are neither "
        "deduplicated nor fenced",
    )
    f.add_argument(
        "--fence-node",
        metavar="HOST:PORT",
        type=parse_address,
        action="append",
        default=[],
        help="a lock node (Redis) of the workstations' device locks, repeated for each: "
        "a fencing token no quorum of them has reached is refused (token_not_issued)",
    )
    f.add_argument(
        "--fence-prefix", default="dhmi", help="the lock service's key prefix (redis.prefix)"
    )
    f.add_argument("--fence-user", default=None, help="Redis ACL user for reading the counters")
    f.add_argument(
        "--fence-password-file",
        metavar="FILE",
        default="",
        help="a private file (mode 600) holding that user's Redis password",
    )
    f.add_argument(
        "--fence-password-env",
        metavar="NAME",
        default="",
        help="or the environment variable holding it",
    )
    s = p.add_argument_group("link protection (docs/security.md)")
    s.add_argument(
        "--link-key-file",
        default="",
        metavar="PATH",
        help="the pre-shared link key(s), 'ID HEX' per line; mode 600 (owner only)",
    )
    s.add_argument(
        "--link-key-env",
        default="",
        metavar="NAME",
        help="an environment variable holding the key(s) instead ('ID:HEX[,ID:HEX]')",
    )
    s.add_argument(
        "--max-age-ms", type=int, default=3000, help="the oldest frame accepted (default 3000)"
    )
    s.add_argument(
        "--integrity-threshold",
        type=int,
        default=3,
        help="failed checks within 10 s before a client is disconnected (default 3)",
    )
    a = p.add_argument_group("alarms (produced to Kafka when --kafka is given)")
    a.add_argument("--kafka", metavar="HOST:PORT", type=parse_address, help="the broker (loopback)")
    a.add_argument(
        "--alarm-prefix", default="alarms", type=_prefix, help="topic prefix (default alarms)"
    )
    a.add_argument(
        "--alarm-rate",
        type=_non_negative,
        default=1.0,
        help="multiplier of each kind's hourly rate (default 1; 0: no random alarms)",
    )
    a.add_argument(
        "--alarm-snapshot-s", type=_positive, default=30.0, help="snapshot period, s (default 30)"
    )
    a.add_argument(
        "--alarm-flood",
        type=_count,
        default=0,
        metavar="N",
        help="raise N alarms at once at start (a flood, for demos and tests)",
    )
    a.add_argument(
        "--alarm-no-idempotence",
        action="store_true",
        help="produce without enable.idempotence (for a broker that refuses it)",
    )
    a.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed of the alarm sources and of the timetable's perturbations",
    )
    a.add_argument(
        "--clock-start-ms", type=int, default=None, help=argparse.SUPPRESS
    )  # tests: the wall clock starts here (e.g. just before midnight)
    p.add_argument("--log-level", default="INFO")
    return p


def _fault(text: str) -> tuple[int, str]:
    unit, sep, kind = text.partition("=")
    if not sep or not unit.isdigit() or kind.partition(":")[0] not in COUPLING_FAULTS:
        raise argparse.ArgumentTypeError(
            f"expected UNIT=KIND[:SECONDS], KIND one of {', '.join(COUPLING_FAULTS)}; got {text!r}"
        )
    return int(unit), kind


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _prefix(text: str) -> str:
    try:
        return check_prefix(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fence_nodes(args: argparse.Namespace) -> list[aioredis.Redis]:
    """Clients for the lock nodes named by ``--fence-node`` (none: no issuance check).

    Raises :class:`SecretError` when a named password cannot be read."""
    password = read_secret(
        "fence password", file=args.fence_password_file, env=args.fence_password_env
    )
    return clients_for(
        [f"{host}:{port}" for host, port in args.fence_node],
        password=password,
        username=args.fence_user,
    )


def wall_clock(start_ms: int | None) -> Callable[[], int]:
    """The wall clock in ms; from ``start_ms`` on if given (tests cross midnight)."""
    if start_ms is None:
        return wall_ms
    t0 = time.monotonic()
    return lambda: start_ms + int((time.monotonic() - t0) * 1000)


async def serve(args: argparse.Namespace) -> int:
    try:
        line = load_line(args.line)
    except ConfigError as exc:
        print(f"dispatcher-sim: {exc}", file=sys.stderr)
        return 2
    try:
        plan, clock = service_plan(args, line)
    except ServicePlanError as exc:
        print(f"dispatcher-sim: {exc}", file=sys.stderr)
        return 2
    world = World(
        line,
        ServiceSettings(
            trains=args.trains, dwell_s=args.dwell, pairs=args.pairs, couple_s=args.couple_s
        ),
        wall_ms=wall_ms,
        plan=plan,
        service_clock=clock,
    )
    for unit, kind in args.coupling_fault:
        try:
            world.inject_fault(train_device(unit), kind)
        except Refused as exc:
            print(f"dispatcher-sim: --coupling-fault {unit}={kind}: {exc.reason}", file=sys.stderr)
            return 2
    try:
        keys = load_link_keys(file=args.link_key_file, env=args.link_key_env)
    except SecretError as exc:
        print(f"dispatcher-sim: {exc}", file=sys.stderr)
        return 2
    if keys is None:
        log.warning("no link key: links are not protected (docs/security.md)")
    policy = (
        LinkPolicy(keys, max_age_ms=args.max_age_ms, threshold=args.integrity_threshold)
        if keys is not None
        else None
    )
    settings = ServerSettings(
        node=args.node,
        role=args.role,
        epoch=args.epoch,
        time_scale=args.time_scale,
        tick_s=args.tick,
        commands=LEGACY if args.legacy_commands else STRICT,
        peers=tuple(args.peer),
        policy=policy,
    )
    alarms = None
    if args.kafka:
        host, port = args.kafka
        alarms = AlarmSystem(
            line,
            AlarmSettings(
                f"{host}:{port}",
                prefix=args.alarm_prefix,
                rate=args.alarm_rate,
                snapshot_s=args.alarm_snapshot_s,
                flood=args.alarm_flood,
                seed=args.seed,
                idempotence=not args.alarm_no_idempotence,
            ),
            server=args.node,
            trains=lambda: [(t.id, t.number, t.section) for t in world.trains.values()],
            plant=world,  # device alarms from the devices' served state
            clock_ms=wall_clock(args.clock_start_ms),
        )
    try:
        fence_clients = fence_nodes(args)
    except SecretError as exc:
        print(f"dispatcher-sim: {exc}", file=sys.stderr)
        return 2
    fence = FenceCounters(fence_clients, prefix=args.fence_prefix) if fence_clients else None
    if fence is None and not args.legacy_commands:
        log.warning(
            "no --fence-node: fencing tokens are checked for order only, not against "
            "what the lock service issued (docs/control.md)"
        )
    server = SimServer(world, settings, Journal(args.journal), alarms, fence)
    bound = await server.listen(args.listen or [("127.0.0.1", 7101)])
    print("READY " + json.dumps({"node": args.node, "role": args.role, "tcp": bound}), flush=True)
    log.info("simulator %s serving line %s on %s", args.node, line.id, bound)
    runner = asyncio.ensure_future(server.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no add_signal_handler
            loop.add_signal_handler(sig, runner.cancel)
    try:
        await runner
    except asyncio.CancelledError:
        pass
    finally:
        await server.aclose()
        await close_clients(fence_clients)
    log.info("simulator %s stopped", args.node)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
