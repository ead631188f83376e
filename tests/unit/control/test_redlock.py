"""Device locks (Redlock) with fencing tokens, against real redis-server processes.

Single-node semantics, contention and cancellation here; quorum and node faults
(killed, restarted, paused) in ``test_redlock_faults.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis

from app.control.redlock import (
    LockBusy,
    LockGrant,
    LockLost,
    LockUnavailable,
    Redlock,
    clients_for,
    close_clients,
)
from app.counterparts.services import RedisProcess

pytestmark = pytest.mark.integration

Factory = Callable[[], RedisProcess]
RES = "device:W0903"


@asynccontextmanager
async def redlock(servers: list[RedisProcess], **options: object) -> AsyncIterator[Redlock]:
    """A Redlock on its own clients (as a separate workstation would have)."""
    clients = clients_for([s.address for s in servers])
    lock = Redlock(clients, **options)  # type: ignore[arg-type]
    try:
        yield lock
    finally:
        await lock.aclose()
        await close_clients(clients)


@asynccontextmanager
async def raw(server: RedisProcess) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(host=server.host, port=server.port, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def test_acquire_busy_names_the_holder_release_then_free(redis_factory: Factory) -> None:
    server = redis_factory()

    async def main() -> None:
        async with redlock([server]) as a, redlock([server]) as b, raw(server) as r:
            ga = await a.acquire(RES, "alice@ws1")
            assert isinstance(ga, LockGrant)
            assert (ga.resource, ga.holder) == (RES, "alice@ws1")
            assert ga.fencing_token >= 1
            assert 4.0 < ga.validity_s < 5.0
            assert a.owns(ga)
            # The stored value names the token and the holder, and every lock has a TTL.
            stored = await r.get(a.lock_key(RES))
            assert stored is not None
            assert json.loads(stored) == {"t": ga.token, "h": "alice@ws1"}
            assert 0 < await r.pttl(a.lock_key(RES)) <= 5000

            with pytest.raises(LockBusy) as busy:
                await b.acquire(RES, "bob@ws2")
            assert busy.value.holder == "alice@ws1"
            assert busy.value.resource == RES
            assert "alice@ws1" in str(busy.value)
            assert await b.holder(RES) == "alice@ws1"

            assert await a.release(ga) is True
            assert not a.owns(ga)
            assert await b.holder(RES) is None
            assert await r.exists(a.lock_key(RES)) == 0
            assert await a.release(ga) is False  # already released: nothing to delete

            gb = await b.acquire(RES, "bob@ws2")
            assert gb.fencing_token > ga.fencing_token
            assert await b.release(gb)
            assert a.counters.as_dict() == {
                "acquired": 1,
                "busy": 0,
                "unavailable": 0,
                "released": 1,
                "release_errors": 0,
                "extended": 0,
                "lost": 0,
                "retries": 0,
                "node_errors": 0,
            }
            assert (b.counters.acquired, b.counters.busy, b.counters.released) == (1, 1, 1)

    asyncio.run(main())


def test_ttl_expiry_frees_it_and_an_old_grant_never_releases_the_new_one(
    redis_factory: Factory,
) -> None:
    server = redis_factory()

    async def main() -> None:
        async with redlock([server], ttl_ms=300) as a, redlock([server], ttl_ms=300) as b:
            old = await a.acquire(RES, "alice@ws1")
            await asyncio.sleep(0.4)  # alice paused past her TTL
            assert not a.owns(old)
            new = await b.acquire(RES, "bob@ws2")
            assert new.fencing_token > old.fencing_token
            # Alice wakes up and releases with her old token: Bob's lock stays.
            assert await a.release(old) is False
            assert await a.holder(RES) == "bob@ws2"
            with pytest.raises(LockBusy):
                await a.acquire(RES, "alice@ws1")

            # The same holder name again (a second task of the same workstation): the
            # old grant still cannot release the new one, tokens are per acquisition.
            assert await b.release(new)
            first = await a.acquire(RES, "alice@ws1")
            await asyncio.sleep(0.4)
            second = await a.acquire(RES, "alice@ws1")
            assert second.token != first.token
            assert await a.release(first) is False
            assert a.owns(second)
            assert await a.holder(RES) == "alice@ws1"
            assert await a.release(second) is True

    asyncio.run(main())


def test_tokens_are_random_and_fencing_tokens_strictly_increase(redis_factory: Factory) -> None:
    server = redis_factory()

    async def main() -> None:
        async with redlock([server]) as a, redlock([server]) as b:
            grants = []
            for i in range(30):
                lock, holder = (a, "alice@ws1") if i % 3 else (b, "bob@ws2")
                grant = await lock.acquire(RES, holder)
                grants.append(grant)
                assert await lock.release(grant)
            tokens = [g.token for g in grants]
            assert len(set(tokens)) == len(tokens)
            assert all(len(t) == 32 and int(t, 16) >= 0 for t in tokens)
            fences = [g.fencing_token for g in grants]
            assert fences == sorted(set(fences))
            # Fence counters are per resource.
            other = await a.acquire("device:W0905", "alice@ws1")
            assert other.fencing_token == 1
            await a.release(other)

    asyncio.run(main())


def test_extend_keeps_the_lock_and_raises_lock_lost_once_taken(redis_factory: Factory) -> None:
    server = redis_factory()

    async def main() -> None:
        async with redlock([server], ttl_ms=400) as a, redlock([server], ttl_ms=400) as b:
            grant = await a.acquire(RES, "alice@ws1")
            for _ in range(3):  # 0.75 s in all: well past the first TTL
                await asyncio.sleep(0.25)
                grant = await a.extend(grant)
                assert 0.3 < grant.validity_s < 0.4
                with pytest.raises(LockBusy):
                    await b.acquire(RES, "bob@ws2")
            longer = await a.extend(grant, ttl_ms=2000)
            assert (longer.token, longer.fencing_token) == (grant.token, grant.fencing_token)
            assert 1.9 < longer.validity_s < 2.0
            assert a.owns(longer)
            # A zero TTL would make PEXPIRE delete the key (redis-py #4279): refused.
            with pytest.raises(ValueError):
                await a.extend(longer, ttl_ms=0)
            assert await a.holder(RES) == "alice@ws1"
            short = await a.extend(longer, ttl_ms=300)

            await asyncio.sleep(0.4)
            taken = await b.acquire(RES, "bob@ws2")
            with pytest.raises(LockLost) as lost:
                await a.extend(short)
            assert lost.value.resource == RES
            assert not a.owns(short)
            assert await b.holder(RES) == "bob@ws2"  # not extended, not touched
            assert a.counters.lost == 1
            assert a.counters.extended == 5
            await b.release(taken)
            # Expired and free: extend never revives a lock.
            with pytest.raises(LockLost):
                await a.extend(short)
            assert await a.holder(RES) is None

    asyncio.run(main())


def test_no_redis_fails_closed(redis_factory: Factory) -> None:
    server = redis_factory()

    async def main() -> None:
        async with redlock([server], retry_delay_ms=(10, 20)) as lock:
            grant = await lock.acquire(RES, "alice@ws1")
            server.stop()
            t0 = time.monotonic()
            with pytest.raises(LockUnavailable) as exc:
                await lock.acquire("device:W0905", "alice@ws1")
            assert time.monotonic() - t0 < 2.0  # a hang guard, not a figure
            assert "0 of 1 nodes answered" in exc.value.reason
            with pytest.raises(LockUnavailable):
                await lock.holder(RES)
            assert await lock.release(grant) is False  # swallowed, counted
            assert lock.counters.release_errors == 1
            assert lock.counters.unavailable == 1
            assert lock.owns(grant)  # not settled: it may still be held there until its TTL

    asyncio.run(main())


def test_arguments_are_checked() -> None:
    client = aioredis.Redis()
    with pytest.raises(ValueError):
        Redlock([])
    for bad in ({"ttl_ms": 0}, {"ttl_ms": -5}, {"retry_count": -1}, {"op_timeout_s": 0}):
        with pytest.raises(ValueError):
            Redlock([client], **bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Redlock([client], retry_delay_ms=(200, 50))
    with pytest.raises(ValueError):
        clients_for(["localhost"])
    assert Redlock([client] * 5).quorum == 3
    assert Redlock([client] * 3).quorum == 2


def test_contention_one_holder_at_a_time_and_fencing_grows(redis_factory: Factory) -> None:
    """8 tasks (each its own workstation: client and Redlock) x 50 acquisitions."""
    server = redis_factory()
    tasks, rounds = 8, 50

    async def main() -> None:
        inside: list[str] = []
        entries: list[tuple[str, int]] = []
        overlaps = 0

        async def worker(n: int) -> int:
            nonlocal overlaps
            busy = 0
            async with redlock([server]) as lock:
                done = 0
                while done < rounds:
                    try:
                        grant = await lock.acquire(RES, f"d{n}@ws{n}")
                    except LockBusy:
                        busy += 1
                        await asyncio.sleep(random.uniform(0, 0.002))
                        continue
                    if inside:
                        overlaps += 1
                    inside.append(grant.holder)
                    entries.append((grant.holder, grant.fencing_token))
                    await asyncio.sleep(0)  # let the others try while we are inside
                    await asyncio.sleep(random.uniform(0, 0.001))
                    inside.remove(grant.holder)
                    assert await lock.release(grant)
                    done += 1
            return busy

        busy = await asyncio.gather(*(worker(n) for n in range(tasks)))
        assert overlaps == 0
        assert len(entries) == tasks * rounds
        fences = [f for _, f in entries]
        assert fences == sorted(set(fences))
        assert sum(busy) > 0  # they did contend

    asyncio.run(main())


def test_cancelled_acquire_leaves_no_lock(redis_factory: Factory) -> None:
    """Cancelled while the nodes answer: what it took is released in the background."""
    servers = [redis_factory() for _ in range(3)]
    paused = servers[2]

    async def main() -> None:
        async with redlock(servers, ttl_ms=1000, op_timeout_s=0.3) as a:
            await a.release(await a.acquire(RES, "alice@ws1"))  # connections up
            os.kill(paused.pid, signal.SIGSTOP)
            try:
                task = asyncio.create_task(a.acquire(RES, "alice@ws1"))
                await asyncio.sleep(0.1)  # two nodes granted, the third is silent
                async with raw(servers[0]) as r:
                    assert await r.exists(a.lock_key(RES)) == 1
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await a.drain()  # the background release (bounded by op_timeout)
                for server in servers[:2]:
                    async with raw(server) as r:
                        assert await r.exists(a.lock_key(RES)) == 0
                async with redlock(servers, op_timeout_s=0.3) as b:
                    await b.release(await b.acquire(RES, "bob@ws2"))
            finally:
                os.kill(paused.pid, signal.SIGCONT)
            # The paused node may run the buffered SET when it resumes: with a TTL.
            async with raw(paused) as r:
                assert await r.pttl(a.lock_key(RES)) in (-2, *range(1, 1001))
            await asyncio.sleep(1.05)
            for server in servers:
                async with raw(server) as r:
                    assert await r.exists(a.lock_key(RES)) == 0

    asyncio.run(main())


def test_cancelled_release_does_not_look_released(redis_factory: Factory) -> None:
    server = redis_factory()

    async def main() -> None:
        async with redlock([server], op_timeout_s=0.5) as lock:
            grant = await lock.acquire(RES, "alice@ws1")
            os.kill(server.pid, signal.SIGSTOP)
            try:
                task = asyncio.create_task(lock.release(grant))
                await asyncio.sleep(0.1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert lock.owns(grant)  # still ours as far as we know: release again
                assert lock.counters.released == 0
            finally:
                os.kill(server.pid, signal.SIGCONT)
            await lock.release(grant)  # the same grant, again: settles it
            assert not lock.owns(grant)
            assert await lock.holder(RES) is None
            again = await lock.acquire(RES, "alice@ws1")
            assert again.fencing_token > grant.fencing_token
            assert await lock.release(again)

    asyncio.run(main())
