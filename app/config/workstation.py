"""The workstation file: who this HMI is, which servers it talks to, and the tuning.

Every section but ``id``, ``line`` and ``servers`` has defaults. No secrets belong in
this file: unknown keys are rejected. See ``docs/configuration.md``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.config.loader import (
    ID,
    Bool,
    Choice,
    Convert,
    Document,
    Field,
    Int,
    ListOf,
    Obj,
    Str,
    compose,
    read_document,
    read_text,
)
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


@dataclass(frozen=True, slots=True)
class Address:
    """A TCP/UDP endpoint; ``str()`` gives ``host:port`` (``[v6]:port`` for IPv6)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be 1..65535, got {self.port}")

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


@dataclass(frozen=True, slots=True)
class Server:
    """One server of the pair; each address is on a different network."""

    id: str
    addresses: tuple[Address, ...]


@dataclass(frozen=True, slots=True)
class HeartbeatSettings:
    interval_ms: int = 500
    missed: int = 3
    connect_timeout_ms: int = 2000
    reconnect_min_ms: int = 200
    reconnect_max_ms: int = 5000


@dataclass(frozen=True, slots=True)
class CommandSettings:
    timeout_ms: int = 5000
    dedupe_window_ms: int = 2000
    audit_log: str = ""  # "" = the per-user data folder; relative = to the workstation file


@dataclass(frozen=True, slots=True)
class CouplingSettings:
    """How consist states are confirmed from the units' reports (docs/coupling.md)."""

    confirm_reports: int = 3  # consecutive complete, agreeing cycles before a state is shown
    lost_after_ms: int = 1000  # a unit silent this long makes its consist's state unknown


@dataclass(frozen=True, slots=True)
class RedisSettings:
    nodes: tuple[Address, ...] = (Address("127.0.0.1", 6379),)
    lock_ttl_ms: int = 5000
    presence_ttl_ms: int = 3000
    prefix: str = "dhmi"
    # Zone authority through Redis Sentinel (docs/control.md): when set, the authority
    # lives in whichever server these Sentinels name master of ``sentinel_master``.
    sentinels: tuple[Address, ...] = ()
    sentinel_master: str = "dhmi"
    # Security (docs/security.md): an ACL user, its password from a private file or
    # the environment (never here), and TLS with redis-py's ssl options.
    username: str = ""
    password_file: str = ""
    password_env: str = ""
    tls: bool = False
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""


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
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "alarms"
    # Security, passed through to librdkafka (docs/security.md).
    security_protocol: KafkaProtocol = KafkaProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.NONE
    sasl_username: str = ""
    sasl_password_file: str = ""
    sasl_password_env: str = ""
    ssl_ca_file: str = ""
    ssl_cert_file: str = ""
    ssl_key_file: str = ""


@dataclass(frozen=True, slots=True)
class IscsSettings:
    program: str = "python3"
    args: tuple[str, ...] = ("-m", "app.counterparts.iscs_program")


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Link protection (``docs/security.md``). The key itself is never in the YAML:
    ``link_key_file`` names a file (mode 600) and ``link_key_env`` a variable holding it."""

    production: bool = False
    link_key_file: str = ""
    link_key_env: str = ""
    max_age_ms: int = 3000
    max_skew_ms: int = 1000
    integrity_threshold: int = 3
    integrity_window_ms: int = 10_000


@dataclass(frozen=True, slots=True)
class Workstation:
    id: str
    line: Path  # absolute path of the line file
    servers: tuple[Server, ...]
    dispatcher: str = "dispatcher"
    role: Role = Role.DISPATCHER
    language: Language = Language.ZH_CN
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    commands: CommandSettings = CommandSettings()
    redis: RedisSettings = RedisSettings()
    kafka: KafkaSettings = KafkaSettings()
    iscs: IscsSettings = IscsSettings()
    security: SecuritySettings = SecuritySettings()
    coupling: CouplingSettings = CouplingSettings()


def _bootstrap(text: str) -> str:
    """A Kafka ``host:port[,host:port...]`` list, normalised."""
    return ",".join(str(Address.parse(part.strip())) for part in text.split(","))


def _fields(cls: type[Any], **specs: Any) -> Obj:
    """An Obj for dataclass ``cls``, each field defaulting to the dataclass default."""
    defaults = cls()
    return Obj(
        {name: Field(spec, getattr(defaults, name)) for name, spec in specs.items()},
        lambda values: cls(**values),
    )


_MS = Int(low=1, high=3_600_000)
ENV_NAME = Str(
    pattern=r"(?:[A-Za-z_][A-Za-z0-9_]*)?", what="environment variable name", allow_empty=True
)
ADDRESS = Convert(Str(), Address.parse)
SERVER = Obj(
    {"id": Field(ID), "addresses": Field(ListOf(ADDRESS, unique=".", min_len=1, max_len=2))},
    lambda values: Server(**values),
)
HEARTBEAT = _fields(
    HeartbeatSettings,
    interval_ms=_MS,
    missed=Int(low=1, high=100),
    connect_timeout_ms=_MS,
    reconnect_min_ms=_MS,
    reconnect_max_ms=_MS,
)
COMMANDS = _fields(
    CommandSettings,
    timeout_ms=_MS,
    dedupe_window_ms=Int(low=0, high=60_000),
    audit_log=Str(allow_empty=True),
)
REDIS = _fields(
    RedisSettings,
    nodes=ListOf(ADDRESS, unique=".", max_len=7),
    lock_ttl_ms=Int(low=100, high=600_000),
    presence_ttl_ms=Int(low=100, high=600_000),
    prefix=Str(pattern=r"[A-Za-z0-9_.\-]+", what="key prefix"),
    sentinels=ListOf(ADDRESS, unique=".", max_len=7),
    sentinel_master=Str(pattern=r"[A-Za-z0-9_.\-]+", what="Sentinel master name"),
    username=Str(allow_empty=True),
    password_file=Str(allow_empty=True),
    password_env=ENV_NAME,
    tls=Bool(),
    tls_ca_file=Str(allow_empty=True),
    tls_cert_file=Str(allow_empty=True),
    tls_key_file=Str(allow_empty=True),
)
KAFKA = _fields(
    KafkaSettings,
    bootstrap_servers=Convert(Str(), _bootstrap),
    topic_prefix=Str(pattern=r"[A-Za-z0-9._\-]+", what="topic prefix"),
    security_protocol=Choice(KafkaProtocol),
    sasl_mechanism=Choice(SaslMechanism),
    sasl_username=Str(allow_empty=True),
    sasl_password_file=Str(allow_empty=True),
    sasl_password_env=ENV_NAME,
    ssl_ca_file=Str(allow_empty=True),
    ssl_cert_file=Str(allow_empty=True),
    ssl_key_file=Str(allow_empty=True),
)
ISCS = _fields(IscsSettings, program=Str(), args=ListOf(Str(allow_empty=True)))
SECURITY = _fields(
    SecuritySettings,
    production=Bool(),
    link_key_file=Str(allow_empty=True),
    link_key_env=ENV_NAME,
    max_age_ms=Int(low=50, high=600_000),
    max_skew_ms=Int(low=0, high=600_000),
    integrity_threshold=Int(low=1, high=1000),
    integrity_window_ms=Int(low=100, high=3_600_000),
)
COUPLING = _fields(
    CouplingSettings,
    confirm_reports=Int(low=1, high=20),
    lost_after_ms=Int(low=100, high=60_000),
)
WORKSTATION = Obj(
    {
        "id": Field(ID),
        "dispatcher": Field(Str(pattern=r"[A-Za-z0-9_.@\-]+", what="login name"), "dispatcher"),
        "role": Field(Choice(Role), Role.DISPATCHER),
        "language": Field(Choice(Language), Language.ZH_CN),
        "line": Field(Str()),
        "servers": Field(ListOf(SERVER, unique="id", min_len=1, max_len=2)),
        "heartbeat": Field(HEARTBEAT, HeartbeatSettings()),
        "commands": Field(COMMANDS, CommandSettings()),
        "redis": Field(REDIS, RedisSettings()),
        "kafka": Field(KAFKA, KafkaSettings()),
        "iscs": Field(ISCS, IscsSettings()),
        "coupling": Field(COUPLING, CouplingSettings()),
        "security": Field(SECURITY, SecuritySettings()),
    }
)


_FILES = {
    "security": ("link_key_file",),
    "redis": ("password_file", "tls_ca_file", "tls_cert_file", "tls_key_file"),
    "kafka": ("sasl_password_file", "ssl_ca_file", "ssl_cert_file", "ssl_key_file"),
}


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
    values: dict[str, Any] = read_document(doc, "workstation", WORKSTATION)
    try:
        line = (base_dir / values["line"]).resolve()
        found = line.is_file()
    except (OSError, ValueError) as exc:
        raise doc.error("workstation.line", f"invalid line file path: {exc}") from None
    if not found:
        raise doc.error("workstation.line", f"line file not found: {line}")
    values["line"] = line
    commands: CommandSettings = values["commands"]
    if commands.audit_log:
        audit = (base_dir / commands.audit_log).resolve()
        values["commands"] = CommandSettings(
            commands.timeout_ms, commands.dedupe_window_ms, str(audit)
        )
    # Files named in the security settings are relative to the workstation file.
    for section, names in _FILES.items():
        obj = values[section]
        paths = {n: str((base_dir / getattr(obj, n)).resolve()) for n in names if getattr(obj, n)}
        if paths:
            values[section] = dataclasses.replace(obj, **paths)
    ws = Workstation(**values)
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
