"""The workstation file: who this HMI is, which servers it talks to, and the tuning.

Every section but ``id``, ``line`` and ``servers`` has defaults. No secrets belong in
this file: unknown keys are rejected. See ``docs/configuration.md``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from msgspec import Meta

from app.config.loader import Document, Id, Text, compose, read_text, unique
from app.model.roles import Role

_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")


#: a dispatcher id chosen at the desk: it names lock holders, audit entries and zone
#: holders (``<id>@<workstation>``), so no '@' and nothing a log line could confuse
DISPATCHER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def dispatcher_id_problem(text: str) -> str | None:
    """None when ``text`` is a usable dispatcher id, else what is wrong with it."""
    if not text:
        return "no dispatcher id"
    if not DISPATCHER_ID.fullmatch(text):
        return (
            f"{text!r} is not a dispatcher id: 1 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


class Language(StrEnum):
    ZH_CN = "zh_CN"
    EN = "en"


class Address:
    """A TCP/UDP endpoint, immutable; ``str()`` gives ``host:port`` (``[v6]:port`` for IPv6).

    Not a dataclass: msgspec reads a dataclass from a mapping, and an address in a
    workstation file is a string, which msgspec hands to :meth:`parse`.
    """

    __slots__ = ("host", "port")
    host: str
    port: int

    def __init__(self, host: str, port: int) -> None:
        if not 1 <= port <= 65535:
            raise ValueError(f"port must be 1..65535, got {port}")
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "port", port)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"an Address is immutable: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return (self.host, self.port) == (other.host, other.port)

    def __hash__(self) -> int:
        return hash((self.host, self.port))

    def __repr__(self) -> str:
        return f"Address(host={self.host!r}, port={self.port!r})"

    def __reduce__(self) -> tuple[type[Address], tuple[str, int]]:
        return (Address, (self.host, self.port))

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``host:port`` or ``[ipv6]:port``; raises ValueError with the reason."""
        form = "expected host:port (IPv6 as [::1]:7101)"
        if text.startswith("["):
            host, sep, port_text = text[1:].partition("]:")
            if not sep:
                raise ValueError(f"invalid address {text!r}: {form}")
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError(f"invalid address {text!r}: bad IPv6 address {host!r}") from None
        else:
            host, sep, port_text = text.rpartition(":")
            if not sep or not host:
                raise ValueError(f"invalid address {text!r}: {form}")
            if ":" in host:
                raise ValueError(
                    f"invalid address {text!r}: write an IPv6 host in brackets, e.g. [::1]:7101"
                )
            if re.fullmatch(r"[0-9.]+", host):
                try:
                    ipaddress.IPv4Address(host)
                except ValueError:
                    raise ValueError(
                        f"invalid address {text!r}: bad IPv4 address {host!r}"
                    ) from None
            elif not _HOST.fullmatch(host):
                raise ValueError(f"invalid address {text!r}: bad host name {host!r}")
        if not re.fullmatch(r"[0-9]{1,5}", port_text):
            raise ValueError(f"invalid address {text!r}: bad port {port_text!r}")
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise ValueError(f"invalid address {text!r}: port must be 1..65535, got {port}")
        return cls(host, port)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class BootstrapServers(str):
    """Kafka's ``host:port[,host:port...]``, each address checked, written normalised."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> BootstrapServers:
        return cls(",".join(str(Address.parse(part.strip())) for part in text.split(",")))


_LOCAL_KAFKA = BootstrapServers("127.0.0.1:9092")


# -- the settings: each declared once, with its type, default, bounds and meaning ----------
#
# msgspec reads them (app/config/loader.py); docs/configuration.md documents each key
# with the same default (tests/unit/config/test_docs.py checks both ways).


def _ms(low: int, high: int, meaning: str) -> Meta:
    """An integer number of milliseconds, ``low``..``high``."""
    return Meta(ge=low, le=high, description=meaning)


def _name(what: str, pattern: str = r"[A-Za-z0-9_.\-]+") -> Meta:
    """A string of ``pattern``, called ``what`` when it does not match."""
    return Meta(min_length=1, pattern=rf"\A{pattern}\Z", title=what)


def _about(meaning: str) -> Meta:
    return Meta(description=meaning)


_HOUR_MS = 3_600_000
#: A file named in the settings (never its contents): read relative to the workstation
#: file, held absolute.
_File = Annotated[str, _about("a file, relative to the workstation file; '' for none")]
_EnvName = Annotated[
    str,
    Meta(
        pattern=r"\A(?:[A-Za-z_][A-Za-z0-9_]*)?\Z",
        title="environment variable name",
        description="an environment variable; '' for none",
    ),
]


@dataclass(frozen=True, slots=True)
class Server:
    """One server of the pair; each address is on a different network."""

    id: Annotated[Id, _about("server id, unique")]
    addresses: Annotated[
        tuple[Address, ...],
        Meta(min_length=1, max_length=2),
        unique("."),
        _about("one per network"),
    ]


@dataclass(frozen=True, slots=True)
class HeartbeatSettings:
    interval_ms: Annotated[int, _ms(1, _HOUR_MS, "heartbeat period")] = 500
    missed: Annotated[
        int, Meta(ge=1, le=100, description="heartbeats missed in a row before the link is down")
    ] = 3
    connect_timeout_ms: Annotated[int, _ms(1, _HOUR_MS, "TCP connect timeout")] = 2000
    reconnect_min_ms: Annotated[int, _ms(1, _HOUR_MS, "first reconnect delay")] = 200
    reconnect_max_ms: Annotated[int, _ms(1, _HOUR_MS, "longest reconnect delay")] = 5000


@dataclass(frozen=True, slots=True)
class CommandSettings:
    timeout_ms: Annotated[int, _ms(1, _HOUR_MS, "no answer by then: failed")] = 5000
    dedupe_window_ms: Annotated[
        int, _ms(0, 60_000, "an executed command repeated within this is not sent again")
    ] = 2000
    audit_log: _File = ""  # "": the per-user data folder


@dataclass(frozen=True, slots=True)
class CouplingSettings:
    """How consist states are confirmed from the units' reports (docs/coupling.md)."""

    confirm_reports: Annotated[
        int, Meta(ge=1, le=20, description="complete, agreeing report cycles before a state")
    ] = 3
    lost_after_ms: Annotated[
        int, _ms(100, 60_000, "a unit silent this long makes its consist's state unknown")
    ] = 1000


@dataclass(frozen=True, slots=True)
class RedisSettings:
    nodes: Annotated[
        tuple[Address, ...],
        Meta(max_length=7),
        unique("."),
        _about("independent Redis servers: 0, 1, 3, 5 or 7"),
    ] = (Address("127.0.0.1", 6379),)
    lock_ttl_ms: Annotated[int, _ms(100, 600_000, "lifetime of a device lock")] = 5000
    presence_ttl_ms: Annotated[int, _ms(100, 600_000, "lifetime of the presence record")] = 3000
    prefix: Annotated[str, _name("key prefix"), _about("of every key and channel")] = "dhmi"
    # Zone authority through Redis Sentinel (docs/control.md): when set, the authority
    # lives in whichever server these Sentinels name master of ``sentinel_master``.
    sentinels: Annotated[
        tuple[Address, ...], Meta(max_length=7), unique("."), _about("Redis Sentinels")
    ] = ()
    sentinel_master: Annotated[
        str, _name("Sentinel master name"), _about("the master's name at the Sentinels")
    ] = "dhmi"
    # Security (docs/security.md): an ACL user, its password from a private file or
    # the environment (never here), and TLS with redis-py's ssl options.
    username: Annotated[str, _about("ACL user; '' for the default user")] = ""
    password_file: _File = ""
    password_env: _EnvName = ""
    tls: Annotated[bool, _about("connect with TLS")] = False
    tls_ca_file: _File = ""
    tls_cert_file: _File = ""
    tls_key_file: _File = ""


class KafkaProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    NONE = ""
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    bootstrap_servers: Annotated[BootstrapServers, _about("comma-separated addresses")] = (
        _LOCAL_KAFKA
    )
    topic_prefix: Annotated[str, _name("topic prefix"), _about("of the alarm topics")] = "alarms"
    # Security, passed through to librdkafka (docs/security.md).
    security_protocol: Annotated[KafkaProtocol, _about("security.protocol")] = (
        KafkaProtocol.PLAINTEXT
    )
    sasl_mechanism: Annotated[SaslMechanism, _about("sasl.mechanism")] = SaslMechanism.NONE
    sasl_username: Annotated[str, _about("sasl.username")] = ""
    sasl_password_file: _File = ""
    sasl_password_env: _EnvName = ""
    ssl_ca_file: _File = ""
    ssl_cert_file: _File = ""
    ssl_key_file: _File = ""


@dataclass(frozen=True, slots=True)
class IscsSettings:
    program: Annotated[Text, _about("the ISCS program; python3: the HMI's interpreter")] = "python3"
    args: Annotated[tuple[str, ...], _about("its arguments")] = (
        "-m",
        "app.counterparts.iscs_program",
    )


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Link protection (``docs/security.md``). The key itself is never in the YAML:
    ``link_key_file`` names a file (mode 600) and ``link_key_env`` a variable holding it."""

    production: Annotated[bool, _about("refuse to start without every security setting")] = False
    link_key_file: _File = ""
    link_key_env: _EnvName = ""
    max_age_ms: Annotated[int, _ms(50, 600_000, "an older frame or datagram is dropped")] = 3000
    max_skew_ms: Annotated[int, _ms(0, 600_000, "one stamped further ahead is dropped")] = 1000
    integrity_threshold: Annotated[
        int, Meta(ge=1, le=1000, description="failed checks in the window that raise the alarm")
    ] = 3
    integrity_window_ms: Annotated[int, _ms(100, _HOUR_MS, "that window")] = 10_000


@dataclass(frozen=True, slots=True)
class LoginSettings:
    """Who is at the desk (``docs/security.md``, "Who is at the desk"): the password is
    checked against the directory; the desk locks after this much idle time."""

    idle_lock_ms: Annotated[
        int, _ms(0, 86_400_000, "no key or button this long locks the desk; 0: never")
    ] = 600_000


@dataclass(frozen=True, slots=True)
class TimetableSettings:
    """The day's plan the train graph and the delays are drawn against
    (``docs/timetable.md``); the servers must run the same one."""

    file: _File = ""  # "": no timetable (no train graph, no delays)
    on_time_s: Annotated[
        int, Meta(ge=0, le=600, description="within this either side a train is on time (s)")
    ] = 60
    late_alarm_s: Annotated[
        int, Meta(ge=0, le=86_400, description="a train later than this is an alarm (s); 0: none")
    ] = 300


@dataclass(frozen=True, slots=True)
class BlackBoxSettings:
    """The workstation's own recording of everything its views show
    (``docs/replay.md``): where, for how long, how finely."""

    enabled: Annotated[bool, _about("record; false: nothing is recorded")] = True
    folder: _File = ""  # "": the per-user data folder's blackbox/
    retention_days: Annotated[
        int, Meta(ge=1, le=3650, description="days kept; older days are deleted")
    ] = 30
    keyframe_s: Annotated[
        int, Meta(ge=5, le=600, description="everything whole this often: a seek starts there")
    ] = 30
    train_sample_ms: Annotated[
        int, Meta(ge=100, le=10_000, description="the trains that moved, sampled this often")
    ] = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Workstation:
    """A workstation file's settings, in the order the file lists them."""

    id: Annotated[Id, _about("workstation id")]
    dispatcher: Annotated[
        str, _name("login name", r"[A-Za-z0-9_.@\-]+"), _about("the default login name")
    ] = "dispatcher"
    role: Annotated[Role, _about("the default role")] = Role.DISPATCHER
    language: Annotated[Language, _about("the user-interface language")] = Language.ZH_CN
    line: Annotated[Path, _about("the line file; read relative, held absolute")]
    servers: Annotated[
        tuple[Server, ...], Meta(min_length=1, max_length=2), unique("id"), _about("1 or 2")
    ]
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    commands: CommandSettings = CommandSettings()
    redis: RedisSettings = RedisSettings()
    kafka: KafkaSettings = KafkaSettings()
    iscs: IscsSettings = IscsSettings()
    coupling: CouplingSettings = CouplingSettings()
    security: SecuritySettings = SecuritySettings()
    login: LoginSettings = LoginSettings()
    timetable: TimetableSettings = TimetableSettings()
    blackbox: BlackBoxSettings = BlackBoxSettings()


@dataclass(frozen=True, slots=True)
class WorkstationFile:
    """A workstation file: ``workstation:`` at the top."""

    workstation: Workstation


def _resolve_files(obj: Any, base_dir: Path) -> Any:
    """``obj`` with each file it names (a field declared ``_File``) relative to ``base_dir``."""
    hints = typing.get_type_hints(type(obj), include_extras=True)
    paths = {
        name: str((base_dir / getattr(obj, name)).resolve())
        for name, hint in hints.items()
        if hint is _File and getattr(obj, name)
    }
    return dataclasses.replace(obj, **paths)


def load_workstation(path: str | Path) -> Workstation:
    """Load and check a workstation file; ``line`` is resolved against its directory.

    The line file must exist; it is not loaded here (``load_line(ws.line)`` does).
    Raises :class:`ConfigError` on the first problem.
    """
    return parse_workstation(read_text(path), str(path), Path(path).resolve().parent)


def parse_workstation(
    text: str, file: str = "<string>", base_dir: Path | None = None
) -> Workstation:
    """Like :func:`load_workstation`, from text; ``line`` is relative to ``base_dir``."""
    return workstation_from_document(compose(text, file), base_dir or Path.cwd())


def workstation_from_document(doc: Document, base_dir: Path) -> Workstation:
    ws = doc.read(WorkstationFile).workstation
    try:
        line = (base_dir / ws.line).resolve()
        found = line.is_file()
    except (OSError, ValueError) as exc:
        raise doc.error("workstation.line", f"invalid line file path: {exc}") from None
    if not found:
        raise doc.error("workstation.line", f"line file not found: {line}")
    changes: dict[str, Any] = {
        name: _resolve_files(value, base_dir)
        for name, value in ((f.name, getattr(ws, f.name)) for f in dataclasses.fields(ws))
        if dataclasses.is_dataclass(value)
    }
    changes["line"] = line
    ws = dataclasses.replace(ws, **changes)
    _check(doc, ws)
    return ws


def _check(doc: Document, ws: Workstation) -> None:
    hb = ws.heartbeat
    if hb.reconnect_max_ms < hb.reconnect_min_ms:
        raise doc.error(
            "workstation.heartbeat.reconnect_max_ms",
            f"reconnect_max_ms ({hb.reconnect_max_ms}) must not be below "
            f"reconnect_min_ms ({hb.reconnect_min_ms})",
        )
    sec = ws.security
    if sec.link_key_file and sec.link_key_env:
        raise doc.error(
            "workstation.security.link_key_env",
            "give the link key by link_key_file or by link_key_env, not both",
        )
    r = ws.redis
    if r.password_file and r.password_env:
        raise doc.error(
            "workstation.redis.password_env",
            "give the password by password_file or by password_env, not both",
        )
    if bool(r.tls_cert_file) != bool(r.tls_key_file):
        raise doc.error(
            "workstation.redis.tls_key_file", "a client certificate needs both its file and its key"
        )
    if not r.tls and (r.tls_ca_file or r.tls_cert_file):
        raise doc.error("workstation.redis.tls", "TLS files are given but tls is false")
    k = ws.kafka
    sasl = k.security_protocol in (KafkaProtocol.SASL_PLAINTEXT, KafkaProtocol.SASL_SSL)
    if sasl and not (k.sasl_mechanism and k.sasl_username):
        raise doc.error(
            "workstation.kafka.sasl_mechanism",
            f"security_protocol {k.security_protocol} needs sasl_mechanism (PLAIN, "
            "SCRAM-SHA-256 or SCRAM-SHA-512) and sasl_username",
        )
    if not sasl and (k.sasl_mechanism or k.sasl_username):
        raise doc.error(
            "workstation.kafka.security_protocol",
            f"SASL settings are given but security_protocol is {k.security_protocol}",
        )
    if k.sasl_password_file and k.sasl_password_env:
        raise doc.error(
            "workstation.kafka.sasl_password_env",
            "give the password by sasl_password_file or by sasl_password_env, not both",
        )
    tls = k.security_protocol in (KafkaProtocol.SSL, KafkaProtocol.SASL_SSL)
    if not tls and (k.ssl_ca_file or k.ssl_cert_file or k.ssl_key_file):
        raise doc.error(
            "workstation.kafka.security_protocol",
            f"TLS files are given but security_protocol is {k.security_protocol}",
        )
    nodes = len(ws.redis.nodes)
    if nodes % 2 == 0 and nodes:
        raise doc.error(
            "workstation.redis.nodes",
            f"{nodes} Redis nodes: use 1, 3, 5 or 7 (a lock needs a majority; an even "
            "number tolerates no more failures than one node fewer)",
        )
    owner: dict[Address, str] = {}
    for i, server in enumerate(ws.servers):
        for j, address in enumerate(server.addresses):
            if address in owner:
                raise doc.error(
                    f"workstation.servers[{i}].addresses[{j}]",
                    f"address {address} is already used by server {owner[address]!r}",
                )
            owner[address] = server.id
