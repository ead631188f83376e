"""Zone authority through Redis Sentinel: the master is SIGKILLed, a replica takes over,
the workstation fails closed meanwhile and carries on with the new master, zones intact."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.config import load_workstation
from app.config.workstation import Address
from app.control.redlock import Redlock
from app.counterparts.services import RedisProcess
from app.model.topology import Line
from app.paths import default_workstation_file
from app.session import DispatcherSession, Endpoint
from app.wiring import build_control

pytestmark = pytest.mark.integration

MASTER = "dhmi-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[tuple[RedisProcess, RedisProcess, list[int]]]:
    """A master, its replica, and three Sentinels watching them (quorum 2), on loopback."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (python3 installer/bootstrap.py test)")
    master = RedisProcess(tmp_path / "master").start()
    replica = RedisProcess(
        tmp_path / "replica", args=("--replicaof", "127.0.0.1", str(master.port))
    ).start()
    sentinels: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for i in range(3):
            port = free_port()
            conf = tmp_path / f"sentinel-{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {master.port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n",
                encoding="utf-8",
            )
            sentinels.append(
                subprocess.Popen(
                    ["redis-server", str(conf), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            ports.append(port)
        deadline = time.monotonic() + 10
        while not all(answers(p) for p in ports):
            assert time.monotonic() < deadline, "the Sentinels did not start"
            time.sleep(0.05)
        yield master, replica, ports
    finally:
        for proc in sentinels:
            proc.terminate()
        for proc in sentinels:
            proc.wait(10)
        replica.stop()
        master.stop()


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 90) -> None:
    async def main() -> None:
        async with asyncio.timeout(timeout):
            await scenario()

    asyncio.run(main())


async def until(pred: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_authority_survives_a_master_killed_with_sentinel_failover(
    sentinel_group: tuple[RedisProcess, RedisProcess, list[int]],
    demo_line: Line,
    tmp_path: Path,
) -> None:
    master, replica, ports = sentinel_group
    ws = load_workstation(default_workstation_file())
    ws = dataclasses.replace(
        ws,
        redis=dataclasses.replace(
            ws.redis,
            nodes=(),
            sentinels=tuple(Address("127.0.0.1", p) for p in ports),
            sentinel_master=MASTER,
            presence_ttl_ms=1500,
        ),
    )
    session = DispatcherSession(
        demo_line,
        [Endpoint("A", "127.0.0.1", 1)],  # never started: only the control side is tested
        node="WS-T",
        dispatcher="tester",
        role="dispatcher",
    )
    zone = demo_line.zones[0].id

    async def scenario() -> None:
        control = build_control(ws, session, audit_log=str(tmp_path / "audit.jsonl"))
        assert control.authority is not None
        store = control.authority
        seen: list[bool] = []
        control.status_changed.connect(lambda st: seen.append(st.ok))
        control.start()
        try:
            await until(lambda: control.status().ok, "the authority through the Sentinels")
            assert "Sentinel" in control.status().detail
            taken = await store.take(zone)
            assert taken.holder == "tester@WS-T"
            # the change has reached the replica before the master dies
            direct = aioredis.Redis(host="127.0.0.1", port=master.port)
            assert await direct.execute_command("WAIT", 1, 5000) == 1
            await direct.aclose()

            os.kill(master.pid, signal.SIGKILL)
            await until(lambda: not control.status().ok, "failing closed", timeout=15)
            await until(lambda: control.status().ok, "the new master", timeout=45)
            assert seen[-2:] == [False, True]
            now = await store.refresh()
            assert now[zone].holder == "tester@WS-T"  # nothing lost in the failover
            # and the new master takes changes: it is the former replica
            released = await store.release(zone)
            assert released.holder == ""
            # the device lock follows the master too
            assert isinstance(control.lock, Redlock)
            grant = await control.lock.acquire("W0102", "tester@WS-T")
            assert grant.fencing_token > 0
            assert await control.lock.release(grant)
            probe = aioredis.Redis(host="127.0.0.1", port=replica.port)
            role = await probe.execute_command("ROLE")
            await probe.aclose()
            assert role[0] in (b"master", "master")
        finally:
            await control.aclose()

    run(scenario)
