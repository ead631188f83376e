"""Builds a dispatcher session and its control services from the workstation configuration.

The composition root: the GUI and the headless CLI both start here, so they
connect, lock, audit, time out and log the same way.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from redis.asyncio import Redis

from app.alarms.consumer import FeedSettings
from app.alarms.service import AlarmService
from app.comms.link import LinkTimings
from app.config import Address, Workstation
from app.config.secrets import SecretError, check_private, load_link_keys, read_secret
from app.config.timetable import load_timetable
from app.config.workstation import KafkaProtocol
from app.control.audit import AuditLog
from app.control.authority import ZoneAuthorityStore
from app.control.clients import clients_for, redis_client, sentinel_for, sentinel_master_client
from app.control.devicelock import LocalDeviceLock
from app.control.pipeline import Commander, CommandPipeline
from app.control.redlock import Redlock
from app.control.service import ControlService
from app.iscs.handoff import LINE_ENV, IscsHandoff
from app.model.commands import CommandOp
from app.model.state import LineState
from app.model.topology import Line
from app.paths import blackbox_dir, default_audit_log, user_data_dir
from app.protocol.security import LinkPolicy
from app.replay.recorder import Recorder, RecorderSettings
from app.session import DispatcherSession, Endpoint
from app.timetable.model import Timetable

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s"


LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_COUNT = 10


def configure_logging(level: str, log_file: Path | None = None) -> Path | None:
    """Timestamped log lines on stderr, the same in every program of the project.

    With ``log_file`` also into that file, rotated at 10 MB with 10 kept (a
    shift's worth and more). Returns the file actually used: None when there is
    none or it cannot be opened (said on stderr; the program runs on).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    used = None
    if logging.getLogger().handlers:
        # Logging is already set up (a test runner, an embedding program): leave it.
        return None
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    log_file,
                    maxBytes=LOG_FILE_BYTES,
                    backupCount=LOG_FILE_COUNT,
                    encoding="utf-8",
                )
            )
            used = log_file
        except OSError as exc:
            print(f"log file {log_file}: {exc}; logging to stderr only", file=sys.stderr)
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=LOG_FORMAT,
        datefmt="%Y-%m-%d %H:%M:%S",
        handlers=handlers,
    )
    return used


def hmi_log_file() -> Path:
    """Where the HMI writes its log: ``<user data>/logs/hmi.log``."""
    return user_data_dir() / "logs" / "hmi.log"


def configured_endpoints(ws: Workstation) -> list[Endpoint]:
    """Every address of every server, in configuration order."""
    return [Endpoint(s.id, a.host, a.port) for s in ws.servers for a in s.addresses]


def override_endpoints(texts: Sequence[str]) -> list[Endpoint]:
    """``--server HOST:PORT`` options; raises ValueError naming the bad one."""
    out = []
    for i, text in enumerate(texts, 1):
        addr = Address.parse(text)
        out.append(Endpoint(f"cli{i}", addr.host, addr.port, check_id=False))
    return out


def link_timings(ws: Workstation) -> LinkTimings:
    hb = ws.heartbeat
    return LinkTimings(
        heartbeat_s=hb.interval_ms / 1000,
        missed=hb.missed,
        connect_timeout_s=hb.connect_timeout_ms / 1000,
        reconnect_min_s=hb.reconnect_min_ms / 1000,
        reconnect_max_s=hb.reconnect_max_ms / 1000,
    )


def link_policy(ws: Workstation, environ: Mapping[str, str] | None = None) -> LinkPolicy | None:
    """The link protection of ``ws.security``: None when no key source is named.

    Raises :class:`SecretError` (a ValueError) saying what is wrong with the key.
    """
    sec = ws.security
    keys = load_link_keys(file=sec.link_key_file, env=sec.link_key_env, environ=environ)
    if keys is None:
        return None
    return LinkPolicy(
        keys,
        max_age_ms=sec.max_age_ms,
        max_skew_ms=sec.max_skew_ms,
        threshold=sec.integrity_threshold,
        window_ms=sec.integrity_window_ms,
    )


def redis_options(ws: Workstation, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """redis-py connection settings for ``ws.redis``: ACL user, password, TLS.

    Raises :class:`SecretError` when the password cannot be read.
    """
    r = ws.redis
    options: dict[str, Any] = {}
    if r.username:
        options["username"] = r.username
    password = read_secret(
        "redis password", file=r.password_file, env=r.password_env, environ=environ
    )
    if password is not None:
        options["password"] = password
    if r.tls:
        options["ssl"] = True
        options["ssl_cert_reqs"] = "required"
        if r.tls_ca_file:
            options["ssl_ca_certs"] = r.tls_ca_file
        if r.tls_cert_file:
            check_private(Path(r.tls_key_file), "redis TLS key")
            options["ssl_certfile"] = r.tls_cert_file
            options["ssl_keyfile"] = r.tls_key_file
    return options


def kafka_options(ws: Workstation, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka settings for ``ws.kafka``: security protocol, SASL, TLS.

    Raises :class:`SecretError` when the SASL password cannot be read.
    """
    k = ws.kafka
    conf: dict[str, str] = {}
    if k.security_protocol is KafkaProtocol.PLAINTEXT:
        return conf
    conf["security.protocol"] = k.security_protocol.value
    if k.security_protocol in (KafkaProtocol.SASL_PLAINTEXT, KafkaProtocol.SASL_SSL):
        conf["sasl.mechanism"] = k.sasl_mechanism.value
        conf["sasl.username"] = k.sasl_username
        password = read_secret(
            "kafka SASL password",
            file=k.sasl_password_file,
            env=k.sasl_password_env,
            environ=environ,
        )
        if password is None:
            raise SecretError(
                f"kafka SASL password: security_protocol {k.security_protocol.value} needs "
                "sasl_password_file or sasl_password_env"
            )
        conf["sasl.password"] = password
    if k.ssl_ca_file:
        conf["ssl.ca.location"] = k.ssl_ca_file
    if k.ssl_cert_file:
        conf["ssl.certificate.location"] = k.ssl_cert_file
    if k.ssl_key_file:
        check_private(Path(k.ssl_key_file), "kafka TLS key")
        conf["ssl.key.location"] = k.ssl_key_file
    return conf


def security_problems(ws: Workstation, environ: Mapping[str, str] | None = None) -> list[str]:
    """Why this workstation must not start, one sentence each (empty: it may).

    A named secret that cannot be read is always a problem; in production mode
    (``security.production``) a missing security setting is too: the link key,
    Redis authentication and TLS, Kafka SASL and TLS (``docs/security.md``).
    """
    environ = os.environ if environ is None else environ
    production = ws.security.production
    problems = []
    try:
        policy = link_policy(ws, environ)
    except SecretError as exc:
        problems.append(str(exc))
    else:
        if policy is None and production:
            problems.append(
                "production mode: no link key (security.link_key_file or link_key_env): "
                "the links to the servers would not be authenticated"
            )
    try:
        redis = redis_options(ws, environ)
    except SecretError as exc:
        problems.append(str(exc))
    else:
        if production and (ws.redis.nodes or ws.redis.sentinels):
            if "password" not in redis:
                problems.append(
                    "production mode: Redis without a password (redis.password_file or "
                    "password_env, with an ACL user in redis.username): anyone on the "
                    "network could change zone authority and locks"
                )
            if not ws.redis.tls:
                problems.append(
                    "production mode: Redis without TLS (redis.tls: true, redis.tls_ca_file): "
                    "its password and the zone authority would cross the network in clear"
                )
    try:
        kafka_options(ws, environ)
    except SecretError as exc:
        problems.append(str(exc))
    else:
        if production and ws.kafka.security_protocol is not KafkaProtocol.SASL_SSL:
            problems.append(
                f"production mode: Kafka with security_protocol "
                f"{ws.kafka.security_protocol.value}: use SASL_SSL (kafka.sasl_mechanism, "
                "sasl_username, sasl_password_file or sasl_password_env, ssl_ca_file), so the "
                "alarm feed is authenticated and encrypted"
            )
    return problems


def load_plan(ws: Workstation, line: Line) -> Timetable | None:
    """The timetable ``ws.timetable.file`` names, checked against ``line`` (None: none
    configured). Raises :class:`ConfigError` with file:line:column."""
    if not ws.timetable.file:
        return None
    return load_timetable(ws.timetable.file, line)


def build_session(
    ws: Workstation,
    line: Line,
    endpoints: Sequence[Endpoint],
    policy: LinkPolicy | None = None,
    timetable: Timetable | Literal["configured"] | None = "configured",
    archive_dir: Path | None = None,
) -> DispatcherSession:
    """The session of ``ws``; its links are protected with ``policy``, by default the one
    ``ws.security`` names (:func:`link_policy`, which may raise :class:`SecretError`).
    ``timetable``: by default the one ``ws`` names (:func:`load_plan`, which may raise
    :class:`ConfigError`). ``archive_dir``: where the day's actuals are kept (the HMI's
    :func:`app.paths.actuals_dir`; None: not kept)."""
    return DispatcherSession(
        line,
        endpoints,
        node=ws.id,
        dispatcher=ws.dispatcher,
        role=str(ws.role),
        timings=link_timings(ws),
        command_timeout_s=ws.commands.timeout_ms / 1000,
        coupling_confirm=ws.coupling.confirm_reports,
        coupling_lost_after_ms=ws.coupling.lost_after_ms,
        policy=policy if policy is not None else link_policy(ws),
        timetable=load_plan(ws, line) if timetable == "configured" else timetable,
        late_alarm_s=ws.timetable.late_alarm_s,
        on_time_s=ws.timetable.on_time_s,
        archive_dir=archive_dir,
    )


def build_control(
    ws: Workstation,
    session: DispatcherSession,
    *,
    redis_nodes: Sequence[str] | None = None,
    audit_log: str | None = None,
) -> ControlService:
    """The device lock, zone authority, audit log and command pipeline for ``session``.

    ``redis_nodes`` overrides ``ws.redis.nodes`` (an empty list: no Redis, the
    single-workstation lock). Zone authority lives in the first node. Nothing
    connects until :meth:`ControlService.start`.
    """
    nodes = tuple(redis_nodes) if redis_nodes is not None else tuple(map(str, ws.redis.nodes))
    # An override (the demo, tests) names exactly the servers to use: no Sentinels then.
    sentinels = () if redis_nodes is not None else ws.redis.sentinels
    audit = AuditLog(audit_log or ws.commands.audit_log or default_audit_log())
    timeout_s = ws.redis.presence_ttl_ms / 3000
    lock: Redlock | LocalDeviceLock
    authority: ZoneAuthorityStore | None = None
    clients: list[Redis] = []
    if nodes or sentinels:
        options = redis_options(ws)
        sentinel = None
        if sentinels:
            sentinel = sentinel_for(
                [(a.host, a.port) for a in sentinels],
                timeout_s=max(0.2, timeout_s),
                options=options,
            )
            # the Sentinels' own connections are closed with the rest
            clients.extend(sentinel.sentinels)
        if nodes:
            clients += clients_for(nodes, socket_timeout=max(0.2, timeout_s), options=options)
        else:
            assert sentinel is not None
            clients.append(
                sentinel_master_client(
                    sentinel,
                    ws.redis.sentinel_master,
                    timeout_s=max(0.2, timeout_s),
                    options=options,
                    decode_responses=True,
                )
            )
        lock_clients = clients[len(sentinel.sentinels) if sentinel is not None else 0 :]
        lock = Redlock(list(lock_clients), ttl_ms=ws.redis.lock_ttl_ms, prefix=ws.redis.prefix)
        # A client of its own: the lock's short op timeouts and pooled lanes are not
        # the authority's subscription, and closing one must not close the other.
        if sentinel is not None:
            clients.append(
                sentinel_master_client(
                    sentinel,
                    ws.redis.sentinel_master,
                    timeout_s=max(1.0, timeout_s),
                    options=options,
                )
            )
        else:
            clients.append(redis_client(nodes[0], timeout_s=max(1.0, timeout_s), options=options))
        authority = ZoneAuthorityStore(
            clients[-1],
            session.line,
            workstation=session.node,
            dispatcher=session.dispatcher,
            role=session.role,
            presence_ttl_ms=ws.redis.presence_ttl_ms,
            prefix=ws.redis.prefix,
        )
    else:
        lock = LocalDeviceLock(holder_ttl_s=ws.redis.lock_ttl_ms / 1000)

    def zone_of(device: str) -> str | None:
        # Asked of the state of the moment: a train's zone is where it stands now.
        return session.state.zone_of(device)

    pipeline = CommandPipeline(
        session,
        session.line,
        dispatcher=session.dispatcher,
        workstation=session.node,
        lock=lock,
        authority=authority,
        audit=audit,
        dedupe_window_s=ws.commands.dedupe_window_ms / 1000,
        zone_of=zone_of,
    )
    where = nodes or (
        f"master {ws.redis.sentinel_master} via Sentinel {', '.join(map(str, sentinels))}",
    )
    return ControlService(
        pipeline, lock=lock, authority=authority, clients=clients, audit=audit, nodes=where
    )


def offline_control(
    sender: Commander, line: Line, state: LineState, *, dispatcher: str, node: str
) -> ControlService:
    """Control services with no Redis and no audit file (the single-workstation lock):
    for a window whose commands never leave it (a replay, a bench); the pipeline is
    there for the views."""
    lock = LocalDeviceLock()
    audit = AuditLog(None)
    pipeline = CommandPipeline(
        sender,
        line,
        dispatcher=dispatcher,
        workstation=node,
        lock=lock,
        authority=None,
        audit=audit,
        zone_of=state.zone_of,
    )
    return ControlService(pipeline, lock=lock, authority=None, clients=[], audit=audit)


def feed_settings(ws: Workstation, line: Line, bootstrap: str | None = None) -> FeedSettings:
    """Where the alarm feed reads: the configured Kafka (or ``bootstrap``), the line's zone."""
    return FeedSettings(
        bootstrap=bootstrap or ws.kafka.bootstrap_servers,
        prefix=ws.kafka.topic_prefix,
        timezone=line.timezone,
        extra=dict(kafka_options(ws)),
    )


def build_alarms(
    ws: Workstation,
    session: DispatcherSession,
    *,
    bootstrap: str | None = None,
    acks_path: str | None = None,
    acknowledge: bool = True,
) -> AlarmService:
    """The alarm feed, list and acknowledgement outbox (over ``session``'s command channel).

    The session need not be started when ``acknowledge`` is False (a read-only feed).
    """
    ack_op = getattr(CommandOp, "ACK_ALARM", None) if acknowledge else None
    return AlarmService(
        feed_settings(ws, session.line, bootstrap),
        sender=session if ack_op is not None else None,
        ack_op=ack_op,
        acks_path=acks_path or str(user_data_dir() / f"acks-{session.node}.json"),
    )


def build_recorder(
    ws: Workstation,
    session: DispatcherSession,
    *,
    alarms: AlarmService | None = None,
    control: ControlService | None = None,
    folder: Path | None = None,
) -> Recorder | None:
    """The workstation's black box (``docs/replay.md``) for ``session``, its alarm list
    and its commands; None when ``blackbox.enabled`` is false. ``folder`` overrides the
    configured one (``blackbox.folder``, else :func:`app.paths.blackbox_dir`)."""
    bb = ws.blackbox
    if not bb.enabled:
        return None
    root = folder or (Path(bb.folder) if bb.folder else blackbox_dir())
    settings = RecorderSettings(
        root,
        retention_days=bb.retention_days,
        keyframe_ms=bb.keyframe_s * 1000,
        train_sample_ms=bb.train_sample_ms,
    )
    commands = control.pipeline.finished if control is not None else None
    return Recorder(settings, session, alarms=alarms, commands=commands)


def build_iscs(ws: Workstation, dispatcher: str) -> IscsHandoff:
    """The hand-off to the ISCS program of ``ws.iscs`` (not started: ``await start()``).

    ``python3``/``python`` as the program means this interpreter (the reference
    program ships with the HMI; on Windows there is no ``python3`` on the PATH).
    """
    program = ws.iscs.program
    if program in ("python3", "python"):
        program = sys.executable
    # the line's file: the program names stations as the line does, in its time zone
    return IscsHandoff(
        program, list(ws.iscs.args), dispatcher=dispatcher, env={LINE_ENV: str(ws.line)}
    )
