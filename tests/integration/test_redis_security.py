"""Redis with a password and an ACL user, a real redis-server; Kafka security passed through.

The workstation file names the user and where the password is (a private file
or a variable); the zone authority, the device lock and the pipeline then work
through that user, and refuse to work without it (docs/security.md).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from confluent_kafka import Consumer
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from app.config import Workstation, parse_workstation
from app.control.authority import redis_client
from app.control.redlock import clients_for
from app.model.topology import Line
from app.services import RedisProcess
from app.session import DispatcherSession
from app.wiring import build_control, feed_settings, kafka_options, redis_options
from app.wiring import security_problems as problems

ADMIN_PW = "admin-pw-5b1f"
HMI_PW = "hmi-pw-0c3d9e"
ACL = ("--user", "hmi", "on", f">{HMI_PW}", "~dhmi:*", "&dhmi:*", "+@all", "-@dangerous")


def workstation(tmp_path: Path, line: Path, redis: str, kafka: str = "") -> Workstation:
    text = f"""\
workstation:
  id: WS-SEC
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
        session = DispatcherSession(demo_line, [], node=ws.id, dispatcher="sec", role="dispatcher")
        control = build_control(ws, session, audit_log=str(tmp_path / "audit.jsonl"))
        control.start()
        try:
            store = control.authority
            assert store is not None
            async with asyncio.timeout(10):
                while not store.available:
                    await asyncio.sleep(0.02)
            taken = await store.take("Z1")
            assert taken.holder == "sec@WS-SEC"
            grant = await control.lock.acquire("W0101", "sec@WS-SEC")
            assert grant.fencing_token >= 1
            assert await control.lock.release(grant)
            # The ACL fences the user in: keys outside its prefix are refused.
            with pytest.raises(NoPermissionError):
                await control.clients[0].set("other:key", "1")
        finally:
            await control.close()

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
