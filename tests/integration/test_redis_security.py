"""Redis with a password and an ACL user, a real redis-server; Kafka security passed through.

The workstation file names the user and where the password is (a private file
or a variable); the zone authority, the device lock and the pipeline then work
through that user, and refuse to work without it (docs/security.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from confluent_kafka import Consumer
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from app.config import Workstation, parse_workstation
from app.control.clients import clients_for, redis_client
from app.control.service import ControlService
from app.counterparts.services import RedisProcess
from app.model.topology import Line
from app.session import DispatcherSession
from app.wiring import build_control, feed_settings, kafka_options, redis_options
from app.wiring import security_problems as problems

ADMIN_PW = "admin-pw-5b1f"
HMI_PW = "hmi-pw-0c3d9e"
ACL = ("--user", "hmi", "on", f">{HMI_PW}", "~dhmi:*", "&dhmi:*", "+@all", "-@dangerous")


def workstation(
    tmp_path: Path, line: Path, redis: str, kafka: str = "", ident: str = "WS-SEC"
) -> Workstation:
    text = f"""\
workstation:
  id: {ident}
  line: {line}
  servers:
    - id: A
      addresses: ["127.0.0.1:7101"]
  redis:
{redis}
"""
    if kafka:
        text += "  kafka:\n" + kafka
    return parse_workstation(text, "ws.yaml", tmp_path)


def private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@contextlib.asynccontextmanager
async def zone_and_lock_taken(
    ws: Workstation, line: Line, tmp_path: Path, dispatcher: str
) -> AsyncIterator[ControlService]:
    """The workstation's control, once Redis answers, having taken zone Z1 and
    taken and released the lock of W0101 through the configured connection."""
    who = f"{dispatcher}@{ws.id}"
    session = DispatcherSession(line, [], node=ws.id, dispatcher=dispatcher, role="dispatcher")
    control = build_control(ws, session, audit_log=str(tmp_path / "audit.jsonl"))
    control.start()
    try:
        store = control.authority
        assert store is not None
        async with asyncio.timeout(10):
            while not store.available:
                await asyncio.sleep(0.02)
        assert (await store.take("Z1")).holder == who
        grant = await control.lock.acquire("W0101", who)
        assert grant.fencing_token >= 1
        assert await control.lock.release(grant)
        yield control
    finally:
        await control.aclose()


def secured_redis(factory: Callable[..., RedisProcess]) -> RedisProcess:
    return factory("--requirepass", ADMIN_PW, *ACL)


def test_acl_user_with_a_password_file_takes_zones_and_locks(
    tmp_path: Path,
    demo_line_path: Path,
    demo_line: Line,
    redis_factory: Callable[..., RedisProcess],
) -> None:
    r = secured_redis(redis_factory)
    private(tmp_path / "redis.pw", HMI_PW + "\n")
    ws = workstation(
        tmp_path,
        demo_line_path,
        f'    nodes: ["{r.address}"]\n    username: hmi\n    password_file: redis.pw\n',
    )
    assert redis_options(ws) == {"username": "hmi", "password": HMI_PW}

    async def body() -> None:
        async with zone_and_lock_taken(ws, demo_line, tmp_path, "sec") as control:
            # The ACL fences the user in: keys outside its prefix are refused.
            with pytest.raises(NoPermissionError):
                await control.clients[0].set("other:key", "1")

    asyncio.run(body())


def test_wrong_or_missing_credentials_are_refused(
    tmp_path: Path, redis_factory: Callable[..., RedisProcess]
) -> None:
    r = secured_redis(redis_factory)

    async def body() -> None:
        for options, error in [
            ({}, (AuthenticationError, ResponseError)),  # NOAUTH
            ({"username": "hmi", "password": "wrong"}, (AuthenticationError, ResponseError)),
            ({"username": "nobody", "password": HMI_PW}, (AuthenticationError, ResponseError)),
        ]:
            [client] = clients_for([r.address], options=options)
            try:
                with pytest.raises(error):
                    await client.set("dhmi:x", "1")
            finally:
                await client.aclose()
        ok = redis_client(r.url, options={"username": "hmi", "password": HMI_PW})
        try:
            assert await ok.set("dhmi:x", "1")
        finally:
            await ok.aclose()
        admin = aioredis.Redis(host=r.host, port=r.port, password=ADMIN_PW)
        try:
            assert await admin.ping()
        finally:
            await admin.aclose()

    asyncio.run(body())


def test_password_from_the_environment_and_a_readable_file_refused(
    tmp_path: Path, demo_line_path: Path
) -> None:
    redis = "    username: hmi\n    password_env: DHMI_REDIS_PW\n"
    ws = workstation(tmp_path, demo_line_path, redis)
    assert redis_options(ws, {"DHMI_REDIS_PW": "pw"})["password"] == "pw"
    assert any("DHMI_REDIS_PW is not set" in p for p in problems(ws, {}))
    if os.name != "nt":
        private(tmp_path / "open.pw", "pw", 0o644)
        ws = workstation(tmp_path, demo_line_path, "    password_file: open.pw\n")
        [why] = problems(ws, {})
        assert "redis password" in why and "chmod 600" in why


def test_tls_options_reach_redis_py(tmp_path: Path, demo_line_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "client.pem").write_text("x")
    private(tmp_path / "client.key", "x")
    ws = workstation(
        tmp_path,
        demo_line_path,
        "    tls: true\n    tls_ca_file: ca.pem\n    tls_cert_file: client.pem\n"
        "    tls_key_file: client.key\n",
    )
    options = redis_options(ws)
    assert options == {
        "ssl": True,
        "ssl_cert_reqs": "required",
        "ssl_ca_certs": str(tmp_path / "ca.pem"),
        "ssl_certfile": str(tmp_path / "client.pem"),
        "ssl_keyfile": str(tmp_path / "client.key"),
    }
    [client] = clients_for(["127.0.0.1:6390"], options=options)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == str(tmp_path / "ca.pem") and kwargs["ssl_cert_reqs"]
    assert client.connection_pool.connection_class.__name__ == "SSLConnection"
    asyncio.run(client.aclose())


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_sasl_and_tls_are_passed_to_librdkafka(
    tmp_path: Path, demo_line_path: Path, demo_line: Line, mechanism: str
) -> None:
    (tmp_path / "ca.pem").write_text("x")
    ws = workstation(
        tmp_path,
        demo_line_path,
        "    nodes: []\n",
        "    bootstrap_servers: 127.0.0.1:9093\n    security_protocol: SASL_SSL\n"
        f"    sasl_mechanism: {mechanism}\n    sasl_username: hmi\n"
        "    sasl_password_env: DHMI_KAFKA_PW\n    ssl_ca_file: ca.pem\n",
    )
    conf = kafka_options(ws, {"DHMI_KAFKA_PW": "k-pw"})
    assert conf == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": mechanism,
        "sasl.username": "hmi",
        "sasl.password": "k-pw",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }
    # The feed's consumer gets them (FeedSettings.extra), and librdkafka accepts them.
    os.environ["DHMI_KAFKA_PW"] = "k-pw"
    try:
        settings = feed_settings(ws, demo_line)
    finally:
        del os.environ["DHMI_KAFKA_PW"]
    assert settings.extra == conf
    consumer = Consumer(
        {
            "bootstrap.servers": "127.0.0.1:9",
            "group.id": "x",
            **{k: v for k, v in conf.items() if k != "ssl.ca.location"},
        }
    )
    consumer.close()


def test_production_mode_needs_every_security_setting(tmp_path: Path, demo_line_path: Path) -> None:
    text = f"""\
workstation:
  id: WS-PROD
  line: {demo_line_path}
  servers:
    - id: A
      addresses: ["127.0.0.1:7101"]
  security:
    production: true
"""
    ws = parse_workstation(text, "ws.yaml", tmp_path)
    found = problems(ws, {})
    assert len(found) == 4
    for needle in ("link key", "Redis without a password", "Redis without TLS", "SASL_SSL"):
        assert any(needle in p for p in found), needle
    # Redis through Sentinels only: the same requirements.
    sentinel_only = parse_workstation(
        text + '  redis:\n    nodes: []\n    sentinels: ["127.0.0.1:26379"]\n', "ws.yaml", tmp_path
    )
    assert any("Redis without a password" in p for p in problems(sentinel_only, {}))


def test_the_hmi_refuses_to_start_in_production_mode_and_says_why(
    tmp_path: Path, demo_line_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "prod.yaml"
    config.write_text(
        f"""\
workstation:
  id: WS-PROD
  line: {demo_line_path}
  servers:
    - id: A
      addresses: ["127.0.0.1:7101"]
  security:
    production: true
"""
    )
    from ui.main import main

    assert main(["--config", str(config), "--log-file", "-"]) == 2
    err = capsys.readouterr().err
    assert "security: production mode: no link key" in err
    assert "Redis without a password" in err and "SASL_SSL" in err


# --- TLS against a real redis-server (Debian's build links OpenSSL) ----------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(where: Path) -> dict[str, Path]:
    """A private CA; a server certificate for 127.0.0.1, one for another name; a client one."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is missing on CI: the bootstrap must install it")
        pytest.skip("openssl is not installed (python3 installer/bootstrap.py test)")
    where.mkdir()
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=dhmi test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=where,
    )
    for name, san in [
        ("server", "IP:127.0.0.1"),
        ("elsewhere", "DNS:other.example"),
        ("client", "DNS:ws-sec"),
    ]:
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=where,
        )
        (where / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
            cwd=where,
        )
        (where / f"{name}.key").chmod(0o600)
    return {p.stem + p.suffix.replace(".", "_"): p for p in where.iterdir()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tls_redis(factory: Callable[..., RedisProcess], certs: Path, name: str = "server") -> int:
    """A secured redis-server that also listens with TLS (client certificates required)."""
    port = _free_port()
    factory(
        "--requirepass",
        ADMIN_PW,
        *ACL,
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(certs / f"{name}.pem"),
        "--tls-key-file",
        str(certs / f"{name}.key"),
        "--tls-ca-cert-file",
        str(certs / "ca.pem"),
        "--tls-auth-clients",
        "yes",
    )
    return port


def test_tls_with_a_client_certificate_takes_zones_against_a_real_server(
    tmp_path: Path,
    demo_line_path: Path,
    demo_line: Line,
    redis_factory: Callable[..., RedisProcess],
) -> None:
    certs = tmp_path / "pki"
    _certificates(certs)
    port = tls_redis(redis_factory, certs)
    private(tmp_path / "redis.pw", HMI_PW)
    ws = workstation(
        tmp_path,
        demo_line_path,
        f'    nodes: ["127.0.0.1:{port}"]\n    username: hmi\n    password_file: redis.pw\n'
        "    tls: true\n    tls_ca_file: pki/ca.pem\n"
        "    tls_cert_file: pki/client.pem\n    tls_key_file: pki/client.key\n",
        ident="WS-TLS",
    )

    async def body() -> None:
        async with zone_and_lock_taken(ws, demo_line, tmp_path, "tls") as control:
            pool = control.clients[0].connection_pool
            assert pool.connection_class.__name__ == "SSLConnection"
            assert pool.connection_kwargs["port"] == port

    asyncio.run(body())


def test_tls_refuses_a_plain_client_a_client_without_certificate_and_a_wrong_server(
    tmp_path: Path, redis_factory: Callable[..., RedisProcess]
) -> None:
    certs = tmp_path / "pki"
    _certificates(certs)
    good = tls_redis(redis_factory, certs)
    impostor = tls_redis(redis_factory, certs, name="elsewhere")  # a certificate for another name
    auth = {"username": "hmi", "password": HMI_PW}
    tls = {"ssl": True, "ssl_cert_reqs": "required", "ssl_ca_certs": str(certs / "ca.pem")}
    client_cert = {
        "ssl_certfile": str(certs / "client.pem"),
        "ssl_keyfile": str(certs / "client.key"),
    }

    async def refused(port: int, options: dict[str, object]) -> None:
        [client] = clients_for([f"127.0.0.1:{port}"], options={**auth, **options})
        try:
            with pytest.raises(RedisConnectionError):
                await client.set("dhmi:x", "1")
        finally:
            await client.aclose()

    async def body() -> None:
        await refused(good, {})  # plain text to the TLS port
        await refused(good, tls)  # no client certificate
        await refused(impostor, {**tls, **client_cert})  # the name does not match 127.0.0.1
        [ok] = clients_for([f"127.0.0.1:{good}"], options={**auth, **tls, **client_cert})
        try:
            assert await ok.set("dhmi:x", "1")
        finally:
            await ok.aclose()

    asyncio.run(body())
