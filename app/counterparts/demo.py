"""What ``dispatcher-hmi --demo`` starts beside the window, and stops after it; and how a
second desk joins it (``dispatcher-hmi --join-demo``).

The redundant simulator pair (servers A and B, each on two loopback networks,
links protected with a key made for this run), and, when the configured ones do
not answer, a ``redis-server`` for shared zone control and a Kafka-protocol
broker (``tansu``) for the alarms the simulator produces. Everything started is
stopped by one owner (:func:`demo_counterparts` is a context manager), in the
reverse order, whatever fails.

A second desk: the demo writes a *connection file* (``<user data>/demo/connection.json``,
mode 600: the servers' addresses, the Redis and broker, and where the run's link key
file is, also mode 600) and says where in its log, the event log and Help ▸ About.
``dispatcher-hmi --join-demo [FILE]`` reads it (:func:`join_demo`), takes the next
workstation id from the demo's Redis (``WS-02``, ``WS-03``...) and logs in as another
dispatcher. Both files go when the demo stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from app.clock import zone
from app.config import Workstation, load_line
from app.config.timetable import load_timetable
from app.control.clients import redis_client
from app.counterparts.services import (
    RedisProcess,
    ServiceError,
    TansuProcess,
    ping,
    port_open,
    redis_available,
)
from app.counterparts.sim.launcher import (
    SimulatorError,
    SimulatorPair,
    command_safety_args,
    demo_link_keys,
    with_link_key_env,
)
from app.identity.admin import DirectoryAdmin
from app.model.roles import Role
from app.model.topology import Direction
from app.paths import user_data_dir
from app.protocol.security import LinkKeys
from app.session import Endpoint
from app.timetable.model import Timetable
from app.timetable.times import format_service_time
from app.timetable.times import parse_service_time as hms

__all__ = [
    "DEMO_USERS",
    "Demo",
    "JoinError",
    "SimulatorError",
    "connection_file",
    "demo_counterparts",
    "join_demo",
    "next_desk_id",
    "provision_demo_users",
]

log = logging.getLogger(__name__)


#: The demo's dispatchers (README, docs/security.md): written into the demo's Redis at
#: every start, so that a new user can log in. Demo passwords, for the demo only.
DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("dispatcher-01", Role.DISPATCHER, "demo-dispatcher-01"),
    ("dispatcher-02", Role.DISPATCHER, "demo-dispatcher-02"),
    ("supervisor-01", Role.SUPERVISOR, "demo-supervisor-01"),
    ("observer-01", Role.OBSERVER, "demo-observer-01"),
)


@dataclass(frozen=True, slots=True)
class Demo:
    """What the workstation connects to in the demo."""

    ws: Workstation  # reads the run's link key
    endpoints: list[Endpoint]
    lock_nodes: list[str] | None  # None: as configured; []: no Redis at all
    bootstrap: str | None  # the Kafka broker; None: no alarms in this demo
    connection: Path | None = None  # the file a second desk joins with


class JoinError(RuntimeError):
    """The connection file cannot be used: what is wrong, and what to do."""


def connection_file() -> Path:
    """Where ``--demo`` writes, and ``--join-demo`` reads, the connection file."""
    return user_data_dir() / "demo" / "connection.json"


def _private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def _write_connection(
    path: Path,
    keys: LinkKeys,
    endpoints: list[Endpoint],
    lock_nodes: list[str] | None,
    bootstrap: str | None,
    ws: Workstation,
) -> None:
    key_file = path.with_name("link.key")
    _private(key_file, "\n".join(f"{kid} {key.hex()}" for kid, key in keys.keys) + "\n")
    nodes = lock_nodes if lock_nodes is not None else [str(a) for a in ws.redis.nodes]
    document = {
        "version": 1,
        "servers": [dataclasses.asdict(e) for e in endpoints],
        "redis": nodes,
        "kafka": bootstrap,
        "link_key_file": str(key_file),
        "prefix": ws.redis.prefix,
    }
    _private(path, json.dumps(document, indent=1) + "\n")


def _forget_connection(path: Path) -> None:
    for p in (path, path.with_name("link.key")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def join_demo(ws: Workstation, path: Path | None = None) -> Demo:
    """The demo another ``dispatcher-hmi --demo`` runs, from its connection file.

    Raises :class:`JoinError` saying what is wrong (no file: no demo running here).
    """
    path = path or connection_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JoinError(
            f"no demo to join: {path} does not exist (start one with dispatcher-hmi --demo)"
        ) from None
    except (OSError, ValueError) as exc:
        raise JoinError(f"{path}: cannot read the connection file: {exc}") from None
    try:
        if not isinstance(raw, dict) or raw.get("version") != 1:
            raise ValueError("not a version 1 connection file")
        endpoints = [
            Endpoint(str(e["server"]), str(e["host"]), int(e["port"]), bool(e["check_id"]))
            for e in raw["servers"]
        ]
        if not endpoints:
            raise ValueError("no servers")
        nodes = [str(n) for n in raw["redis"]]
        kafka = raw.get("kafka")
        bootstrap = str(kafka) if kafka else None
        key_file = str(raw["link_key_file"])
        prefix = str(raw.get("prefix", ws.redis.prefix))
    except (KeyError, TypeError, ValueError) as exc:
        raise JoinError(f"{path}: not a demo connection file ({exc})") from None
    security = dataclasses.replace(ws.security, link_key_file=key_file, link_key_env="")
    redis = dataclasses.replace(ws.redis, prefix=prefix)
    joined = dataclasses.replace(ws, security=security, redis=redis)
    return Demo(joined, endpoints, nodes, bootstrap, path)


async def next_desk_id(demo: Demo, options: dict[str, Any] | None = None) -> str:
    """The next free workstation id of the demo (``WS-02``...), counted in its Redis; the
    configured id with a suffix when the demo has none."""
    if not demo.lock_nodes:
        return f"{demo.ws.id}-{os.getpid() % 1000}"
    client = redis_client(demo.lock_nodes[0], options=options, timeout_s=3.0)
    try:
        number = int(await client.incr(f"{demo.ws.redis.prefix}:demo:desks"))
    except (RedisError, OSError) as exc:
        raise JoinError(f"the demo's Redis {demo.lock_nodes[0]} does not answer: {exc}") from None
    finally:
        await client.aclose()
    return f"WS-{number:02d}"


#: Where the demo's service day starts when the clock is outside the plan's hours (the
#: morning peak), so that the demo always opens with trains running to the timetable.
DEMO_SERVICE_START = "07:40:00"
#: Perturbations the demo runs with: delays happen and propagate (docs/timetable.md).
DEMO_PERTURBATION = ["--dwell-spread", "25", "--run-spread", "8"]
#: A train stuck mid-line this long after the demo starts, for this long (minutes):
#: the late-train alarm, its followers delayed, the graph's lines bending.
DEMO_INCIDENT_AFTER_S = 10 * 60
DEMO_INCIDENT_MIN = 4


def timetable_args(ws: Workstation, clock_s: float | None = None) -> list[str]:
    """The simulator's timetable options for the demo: the workstation's plan from the
    wall clock's time of day (in the line's time zone, as the simulator reads it) when
    that is within the plan's hours, else from :data:`DEMO_SERVICE_START`; its
    perturbations, and one incident. ``clock_s``: the time of day (tests)."""
    if not ws.timetable.file:
        return []
    line = load_line(ws.line)
    if clock_s is None:
        now = datetime.datetime.now(zone(line.timezone))  # None: the machine's own
        clock_s = now.hour * 3600 + now.minute * 60 + now.second
    # the plan's hours, roughly: the demo weekday runs 05:30-23:30
    start_s = int(clock_s) if 6 * 3600 <= clock_s <= 22 * 3600 else hms(DEMO_SERVICE_START)
    args = ["--timetable", ws.timetable.file, *DEMO_PERTURBATION]
    args += ["--service-start", format_service_time(start_s)]
    unit = mid_line_unit(load_timetable(ws.timetable.file, line), start_s + DEMO_INCIDENT_AFTER_S)
    if unit is not None:
        at = format_service_time(start_s + DEMO_INCIDENT_AFTER_S, with_seconds=False)
        args += ["--incident", f"stuck:{unit}@{at}+{DEMO_INCIDENT_MIN}"]
    return args


def mid_line_unit(plan: Timetable, at_s: int) -> int | None:
    """A unit on a down trip between its 6th and 12th stops at ``at_s`` (None: none)."""
    for w in plan.workings:
        for number in w.trips:
            stops = plan.trip_by_number[number].stops
            if (
                len(stops) > 12
                and plan.trip_by_number[number].direction is Direction.DOWN
                and stops[6].depart_s < at_s < stops[12].arrive_s
                and w.unit
            ):
                return w.unit
    return None


@contextlib.contextmanager
def demo_counterparts(ws: Workstation, time_scale: float) -> Iterator[Demo]:
    """Start the demo's counterparts for ``ws``; all are stopped when the block ends.

    Raises :class:`app.counterparts.sim.launcher.SimulatorError` when the
    simulator pair does not start (what was started before is stopped).
    """
    with contextlib.ExitStack() as owned:
        redis, lock_nodes = _redis(ws)
        if redis is not None:
            owned.callback(_stop_redis, redis)
        broker, bootstrap = _broker(ws)
        if broker is not None:
            owned.callback(_stop_broker, broker)
        # The pair: A master, B standby. Without a timetable, two spare units stand end to
        # end with a train, ready to couple (联挂); with one, every unit works the plan
        # (the spares are held, and a held train on the main line stops the service).
        args = ["--time-scale", f"{time_scale:g}"]
        if not ws.timetable.file:
            args += ["--pairs", "2"]
        args += command_safety_args(ws, lock_nodes)
        if bootstrap:
            args += ["--kafka", bootstrap, "--alarm-flood", "12"]
        args += timetable_args(ws)
        # The pair and this session share a key made for this run (docs/security.md).
        keys = demo_link_keys()
        ws = with_link_key_env(ws, keys)
        pair = SimulatorPair(ws.line, args=args, link_keys=keys)
        log.info("starting the simulator pair on %s", ", ".join(pair.addresses("A")))
        owned.callback(_stop_pair, pair)
        endpoints = pair.start()
        log.info("simulator ready on %s", ", ".join(f"{e.host}:{e.port}" for e in endpoints))
        path = connection_file()
        _write_connection(path, keys, endpoints, lock_nodes, bootstrap, ws)
        owned.callback(_forget_connection, path)
        log.info(
            "demo: a second desk joins with: dispatcher-hmi --join-demo "
            "(connection file %s, link key file %s)",
            path,
            path.with_name("link.key"),
        )
        yield Demo(ws, endpoints, lock_nodes, bootstrap, path)


async def provision_demo_users(demo: Demo, options: dict[str, Any] | None = None) -> str | None:
    """Write :data:`DEMO_USERS` into the demo's directory (its Redis); the address, or
    None when the demo has no Redis (then nobody can log in: the workstation file's
    identity is at the desk)."""
    nodes = (
        demo.lock_nodes if demo.lock_nodes is not None else [str(a) for a in demo.ws.redis.nodes]
    )
    if not nodes:
        return None
    admin = DirectoryAdmin(
        redis_client(nodes[0], options=options, timeout_s=3.0), demo.ws.redis.prefix
    )
    try:
        for name, role, password in DEMO_USERS:
            await admin.add(name, role, password)
        await admin.client.set(f"{demo.ws.redis.prefix}:demo:desks", 1)  # this desk
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("demo: could not write the demo dispatchers into Redis %s: %s", nodes[0], exc)
    else:
        log.info(
            "demo: dispatchers %s in the directory (Redis %s); passwords in the README",
            ", ".join(n for n, _, _ in DEMO_USERS),
            nodes[0],
        )
    finally:
        await admin.aclose()
    return nodes[0]


def _broker(ws: Workstation) -> tuple[TansuProcess | None, str | None]:
    """The configured Kafka if it answers, else a child tansu broker (None: none)."""
    first = ws.kafka.bootstrap_servers.split(",")[0]
    host, _, port = first.rpartition(":")
    if port.isdigit() and port_open(host.strip("[]"), int(port)):
        log.info("demo: using the configured Kafka %s", ws.kafka.bootstrap_servers)
        return None, ws.kafka.bootstrap_servers
    try:
        broker = TansuProcess().start()
    except ServiceError as exc:
        log.warning("demo: no Kafka broker (%s): no alarms in this demo", exc)
        return None, None
    log.info("demo: started a tansu broker on %s", broker.bootstrap)
    return broker, broker.bootstrap


def _redis(ws: Workstation) -> tuple[RedisProcess | None, list[str] | None]:
    """The configured Redis if it answers, else a child redis-server; with none on
    this machine, no Redis at all: the single-workstation lock, which the status bar
    says."""
    nodes = ws.redis.nodes
    if nodes and all(ping(a.host, a.port) for a in nodes):
        log.info("demo: using the configured Redis %s", ", ".join(map(str, nodes)))
        return None, None
    if not redis_available():
        log.warning("demo: no redis-server on this machine: single-workstation lock")
        return None, []
    try:
        proc = RedisProcess(tempfile.mkdtemp(prefix="dispatcher-demo-redis-")).start()
    except ServiceError as exc:
        log.warning("demo: could not start redis-server (%s): single-workstation lock", exc)
        return None, []
    log.info("demo: started redis-server on %s", proc.address)
    return proc, [proc.address]


def _stop_pair(pair: SimulatorPair) -> None:
    pair.stop()
    log.info("simulator pair stopped")


def _stop_redis(redis: RedisProcess) -> None:
    redis.stop()
    shutil.rmtree(redis.workdir, ignore_errors=True)
    log.info("demo redis-server stopped")


def _stop_broker(broker: TansuProcess) -> None:
    broker.stop()
    log.info("demo Kafka broker stopped")
