"""Redlock over three redis-servers: quorum, killed and restarted nodes, a paused node."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.control.redlock import (
    LockBusy,
    LockUnavailable,
    Redlock,
    clients_for,
    close_clients,
)
from app.counterparts.services import RedisProcess

pytestmark = pytest.mark.integration

Factory = Callable[[], RedisProcess]
RES = "device:W0903"
OP_TIMEOUT_S = 0.2


@asynccontextmanager
async def redlock(servers: list[RedisProcess], **options: object) -> AsyncIterator[Redlock]:
    clients = clients_for([s.address for s in servers])
    options.setdefault("op_timeout_s", OP_TIMEOUT_S)
    options.setdefault("retry_delay_ms", (10, 30))
    lock = Redlock(clients, **options)  # type: ignore[arg-type]
    try:
        yield lock
    finally:
        await lock.aclose()
        await close_clients(clients)


async def fence_counter(lock: Redlock, server: RedisProcess) -> int:
    client = aioredis.Redis(host=server.host, port=server.port, decode_responses=True)
    try:
        return int(await client.get(lock.fence_key(RES)) or 0)
    finally:
        await client.aclose()


async def cycle(lock: Redlock, holder: str) -> int:
    grant = await lock.acquire(RES, holder)
    assert await lock.release(grant)
    return grant.fencing_token


def test_one_node_killed_still_works_and_fencing_stays_monotonic(
    redis_factory: Factory, tmp_path: Path
) -> None:
    """Max over the quorum, with lagging counters raised: monotonic across node churn."""
    a, b, c = (redis_factory() for _ in range(3))
    restarted: list[RedisProcess] = []

    def restart(server: RedisProcess, name: str) -> None:  # empty: no persistence
        restarted.append(RedisProcess(tmp_path / name, port=server.port).start())

    async def main() -> None:
        async with redlock([a, b, c]) as alice, redlock([a, b, c]) as bob:
            fences = [await cycle(alice, "alice@ws1")]
            a.stop()  # quorum {b, c}
            fences += [await cycle(bob, "bob@ws2"), await cycle(alice, "alice@ws1")]
            with pytest.raises(LockBusy):  # 2 of 3 still exclude each other
                grant = await alice.acquire(RES, "alice@ws1")
                try:
                    await bob.acquire(RES, "bob@ws2")
                finally:
                    await alice.release(grant)
            fences.append(await cycle(bob, "bob@ws2"))

            restart(a, "a2")  # back with a counter of 0
            c.stop()  # quorum {a, b}: only b remembers
            # Workstations that never saw a token (no local floor): only the nodes count.
            async with redlock([a, b, c]) as carol:
                fences.append(await cycle(carol, "carol@ws3"))
                assert await fence_counter(carol, restarted[0]) == fences[-1]  # raised

            restart(c, "c2")  # back empty too
            b.stop()  # quorum {a, c}: a was raised, c is empty
            async with redlock([a, b, c]) as dave:
                fences.append(await cycle(dave, "dave@ws4"))
            fences += [await cycle(alice, "alice@ws1"), await cycle(bob, "bob@ws2")]
            assert fences == sorted(set(fences)), fences
            assert alice.counters.node_errors > 0

    try:
        asyncio.run(main())
    finally:
        for server in restarted:
            server.stop()


def test_two_nodes_killed_is_unavailable_quickly(redis_factory: Factory) -> None:
    servers = [redis_factory() for _ in range(3)]

    async def main() -> None:
        async with redlock(servers) as lock:
            grant = await lock.acquire(RES, "alice@ws1")
            servers[0].stop()
            servers[1].stop()
            t0 = time.monotonic()
            with pytest.raises(LockUnavailable) as exc:
                await lock.acquire("device:W0905", "alice@ws1")
            assert time.monotonic() - t0 < 2.0  # a hang guard, not a figure
            assert "1 of 3 nodes answered, 2 needed" in exc.value.reason
            assert lock.counters.unavailable == 1
            assert lock.counters.retries == lock.retry_count
            # Release cannot reach a quorum: it reports it, it does not raise.
            assert await lock.release(grant) is False
            assert lock.counters.release_errors == 2
            # The one node left still tells who held it there.
            assert await lock.holder(RES) is None
            # The attempt left nothing on the node that answered.
            client = aioredis.Redis(host=servers[2].host, port=servers[2].port)
            try:
                assert await client.exists(lock.lock_key("device:W0905")) == 0
            finally:
                await client.aclose()

    asyncio.run(main())


def test_a_paused_node_costs_at_most_op_timeout_per_attempt(redis_factory: Factory) -> None:
    servers = [redis_factory() for _ in range(3)]
    paused = servers[0]

    async def main() -> None:
        async with redlock(servers, ttl_ms=2000) as lock:
            await cycle(lock, "alice@ws1")  # connections up before the pause
            os.kill(paused.pid, signal.SIGSTOP)
            try:
                slowest = 0.0
                fences = []
                for _ in range(3):  # a live connection, then new ones stuck in the handshake
                    t0 = time.monotonic()
                    grant = await lock.acquire(RES, "alice@ws1")
                    slowest = max(slowest, time.monotonic() - t0)
                    fences.append(grant.fencing_token)
                    t0 = time.monotonic()
                    assert await lock.release(grant)
                    slowest = max(slowest, time.monotonic() - t0)
                # One deadline per round, whatever the paused node does (loose bound:
                # op_timeout plus scheduling, far below any socket timeout or a hang).
                assert slowest < OP_TIMEOUT_S + 0.25, slowest
                assert fences == sorted(set(fences))
                assert lock.counters.retries == 0
                assert lock.counters.node_errors >= 6
            finally:
                os.kill(paused.pid, signal.SIGCONT)
            # Commands buffered while it was paused may run now; whatever they leave
            # has a TTL, and the lock keeps working with all three nodes.
            client = aioredis.Redis(host=paused.host, port=paused.port)
            try:
                assert await client.pttl(lock.lock_key(RES)) in (-2, *range(1, 2001))
            finally:
                await client.aclose()
            await asyncio.sleep(2.1)
            assert (await cycle(lock, "alice@ws1")) > fences[-1]

    asyncio.run(main())


def test_split_vote_is_retried_then_busy_and_releases_what_it_took(
    redis_factory: Factory,
) -> None:
    """No holder has a quorum (one node each): retry with jitter, then name a holder."""
    servers = [redis_factory() for _ in range(3)]

    async def main() -> None:
        async with redlock(servers, retry_count=2) as lock:
            key = lock.lock_key(RES)
            clients = clients_for([s.address for s in servers[:2]])
            try:
                await clients[0].set(key, '{"t":"x","h":"xavier@ws3"}', px=5000)
                await clients[1].set(key, '{"t":"y","h":"yves@ws4"}', px=5000)
                with pytest.raises(LockBusy) as busy:
                    await lock.acquire(RES, "alice@ws1")
                assert busy.value.holder in ("xavier@ws3", "yves@ws4")
                assert lock.counters.retries == 2
                assert lock.counters.busy == 1
                # The third node granted each attempt; each was released again.
                assert await lock.holder(RES) in ("xavier@ws3", "yves@ws4")
                third = aioredis.Redis(host=servers[2].host, port=servers[2].port)
                try:
                    assert await third.exists(key) == 0
                finally:
                    await third.aclose()
            finally:
                await close_clients(clients)

    asyncio.run(main())


def test_a_redis_that_lost_its_data_never_gives_this_workstation_a_lower_token(
    redis_factory: Factory, tmp_path: Path
) -> None:
    """The documented limit and its partial guard, with N = 1 restarted empty."""
    server = redis_factory()
    restarted: list[RedisProcess] = []

    async def main() -> None:
        async with redlock([server]) as alice:
            fences = [await cycle(alice, "alice@ws1") for _ in range(5)]
            server.stop()
            restarted.append(RedisProcess(tmp_path / "again", port=server.port).start())
            async with redlock([server]) as bob:
                # A workstation that never locked it gets the node's new counter, lower
                # than before: the server refuses it as stale (fail closed, the limit
                # in the docstring) ...
                assert await cycle(bob, "bob@ws2") < fences[-1]
                # ... alice never goes back, and her grant raises the node's counter,
                # so every workstation continues above her last token from then on.
                fences.append(await cycle(alice, "alice@ws1"))
                fences.append(await cycle(bob, "bob@ws2"))
            assert fences == sorted(set(fences)), fences

    try:
        asyncio.run(main())
    finally:
        for s in restarted:
            s.stop()
