"""Zone authority against real redis-server processes: modes, roles, lapses, outages."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.control.authority import (
    AuthorityRefused,
    AuthorityUnavailable,
    ZoneAuthority,
    ZoneAuthorityStore,
    ZoneMode,
)
from app.control.clients import redis_client
from app.counterparts.services import RedisProcess
from app.model.refusal import Refusal, RefusalCode
from app.model.topology import Line

pytestmark = pytest.mark.integration

TTL_MS = 600  # presence every 200 ms, sweep every 300 ms
WAIT_S = 2.0


class Stores:
    """Stores, each with its own client (as separate workstations would have)."""

    def __init__(self, line: Line, url: str) -> None:
        self.line = line
        self.url = url
        self.opened: list[tuple[ZoneAuthorityStore, aioredis.Redis]] = []

    async def add(
        self, workstation: str, dispatcher: str, role: str = "dispatcher", *, ready: bool = True
    ) -> ZoneAuthorityStore:
        client = redis_client(self.url, timeout_s=1.0)
        store = ZoneAuthorityStore(
            client,
            self.line,
            workstation=workstation,
            dispatcher=dispatcher,
            role=role,
            presence_ttl_ms=TTL_MS,
            prefix="t",
        )
        self.opened.append((store, client))
        store.start()
        if ready:
            assert await store.wait_available(5.0), store.unavailable_reason()
        return store

    async def aclose(self) -> None:
        for store, client in self.opened:
            await store.aclose()
            await client.aclose()


@asynccontextmanager
async def stores(line: Line, url: str) -> AsyncIterator[Stores]:
    group = Stores(line, url)
    try:
        yield group
    finally:
        await group.aclose()


async def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> float:
    """Seconds until ``condition`` holds; fails after ``timeout``."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


async def refused(call: Awaitable[ZoneAuthority]) -> AuthorityRefused:
    with pytest.raises(AuthorityRefused) as info:
        await call
    return info.value


def holder(store: ZoneAuthorityStore, zone: str) -> str:
    return store.snapshot()[zone].holder


def no_holder(zone: str) -> Refusal:
    refusal = Refusal.of(RefusalCode.ZONE_NO_HOLDER, zone=zone)
    assert str(refusal) == f"zone {zone} has no holder: take control first"
    return refusal


def held_by(zone: str, who: str) -> Refusal:
    refusal = Refusal.of(RefusalCode.ZONE_HELD, zone=zone, holder=who)
    assert str(refusal) == f"zone {zone} is held by {who}"
    return refusal


def crash(store: ZoneAuthorityStore) -> list[asyncio.Task[None]]:
    """A workstation dies: its tasks stop, its presence key is left to expire."""
    link = store._link
    link._closed = True  # the loops stop even if the client swallows a cancellation
    tasks = list(link._tasks)
    for task in tasks:
        task.cancel()
    return tasks


def restart_on_same_port(old: RedisProcess, workdir: Path) -> RedisProcess:
    """A new, empty redis-server bound to the port the killed one used."""
    return RedisProcess(workdir, port=old.port).start()


def run(coro: Awaitable[None]) -> None:
    async def main() -> None:
        async with asyncio.timeout(40):
            await coro

    asyncio.run(main())


# ---------------------------------------------------------------------------


def test_exclusive_take_request_grant(
    demo_line: Line, redis_factory: Callable[[], RedisProcess]
) -> None:
    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            seen_by_b: list[ZoneAuthority] = []
            b.changed.connect(seen_by_b.append)

            assert a.may_command("Z1") == no_holder("Z1")
            taken = await a.take("Z1")
            assert (taken.mode, taken.holder) == (ZoneMode.EXCLUSIVE, "d.a@WS-01")
            await until(lambda: holder(b, "Z1") == "d.a@WS-01")
            assert seen_by_b[-1] == taken
            # a may command Z1: it holds it
            assert a.may_command("Z1") is None and holder(a, "Z1") == "d.a@WS-01"
            assert b.may_command("Z1") == held_by("Z1", "d.a@WS-01")
            taken_twice = await refused(b.take("Z1"))
            assert taken_twice.code == "held"
            assert taken_twice.refusal == held_by("Z1", "d.a@WS-01")  # from the script
            assert taken_twice.reason == "zone Z1 is held by d.a@WS-01"

            await b.request("Z1")
            await until(lambda: a.snapshot()["Z1"].requests == ("d.b@WS-02",))
            not_theirs = await refused(b.grant("Z1", "d.b@WS-02"))
            assert not_theirs.code == "not_holder"
            assert not_theirs.refusal == Refusal.of(
                RefusalCode.GRANT_NOT_HOLDER, zone="Z1", holder="d.a@WS-01"
            )
            assert not_theirs.reason == "only the holder may grant zone Z1 (held by d.a@WS-01)"

            granted = await a.grant("Z1", "d.b@WS-02")
            assert (granted.holder, granted.requests) == ("d.b@WS-02", ())
            await until(lambda: holder(b, "Z1") == "d.b@WS-02")
            assert b.may_command("Z1") is None and holder(b, "Z1") == "d.b@WS-02"
            assert a.may_command("Z1") == held_by("Z1", "d.b@WS-02")
            assert a.snapshot()["Z1"].version == granted.version == 3

            # A request on a free zone is refused (take it); a grant to nobody logged in too.
            free = await refused(a.request("Z2"))
            assert (free.code, free.reason) == ("free", "zone Z2 is free: take it")
            assert free.refusal == Refusal.of(RefusalCode.ZONE_FREE, zone="Z2")
            await a.take("Z2")
            absent = await refused(a.grant("Z2", "d.x@WS-99"))
            assert (absent.code, absent.reason) == ("absent", "d.x@WS-99 is not logged in")
            assert absent.refusal == Refusal.of(RefusalCode.TARGET_ABSENT, target="d.x@WS-99")
            bad = await refused(a.grant("Z2", "nobody"))
            assert bad.code == "bad_target"
            assert bad.reason == "expected dispatcher@workstation, got 'nobody'"
            assert bad.refusal == Refusal.of(RefusalCode.BAD_TARGET, target="nobody")
            await a.release("Z2")
            gone = await refused(a.release("Z2"))
            assert (gone.code, gone.reason) == ("not_holder", "zone Z2 is not held by d.a@WS-01")
            assert gone.refusal == Refusal.of(RefusalCode.NOT_HOLDER, zone="Z2", who="d.a@WS-01")
            unknown = await refused(a.take("Z99"))
            assert (unknown.code, unknown.reason) == ("unknown_zone", "unknown zone Z99")
            # The scripts refuse a grant of a zone nobody holds by code too.
            nobody = await refused(a._invoke("grant", "Z2", "d.b@WS-02"))
            assert nobody.refusal == Refusal.of(RefusalCode.GRANT_NO_HOLDER, zone="Z2")
            assert nobody.reason == "only the holder may grant zone Z2 (held by nobody)"

    run(scenario())


def test_change_propagation_latency(
    demo_line: Line, redis_factory: Callable[[], RedisProcess]
) -> None:
    r = redis_factory()
    latencies: list[float] = []

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            for i in range(20):
                start = time.perf_counter()
                state = await (a.take("Z3") if i % 2 == 0 else a.release("Z3"))
                await until(lambda v=state.version: b.snapshot()["Z3"].version == v)
                latencies.append(time.perf_counter() - start)

    run(scenario())
    median_ms = statistics.median(latencies) * 1000
    print(
        f"\nzone change seen by another store: median {median_ms:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} changes"
    )
    assert len(latencies) == 20
    assert max(latencies) < WAIT_S


def test_shared_mode_and_observer(
    demo_line: Line, redis_factory: Callable[[], RedisProcess]
) -> None:
    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            o = await group.add("WS-03", "o.c", "observer")
            s = await group.add("WS-04", "s.d", "supervisor")

            await a.take("Z1")
            state = await s.set_mode("Z1", ZoneMode.SHARED)
            assert (state.mode, state.holder) == (ZoneMode.SHARED, "")
            for store in (a, b):
                await until(lambda st=store: st.snapshot()["Z1"].mode is ZoneMode.SHARED)
            # the zone is shared: every dispatcher and supervisor may command it
            assert a.snapshot()["Z1"].mode is ZoneMode.SHARED
            assert a.may_command("Z1") is None
            assert b.may_command("Z1") is None
            assert s.may_command("Z1") is None
            observer = o.may_command("Z1")
            assert observer == Refusal.of(RefusalCode.OBSERVER_NAMED, who="o.c@WS-03")
            assert str(observer) == "o.c@WS-03 is an observer: observers may not command"
            shared = await refused(a.take("Z1"))
            assert (shared.code, shared.reason) == ("shared", "zone Z1 is shared: nobody holds it")

            # An observer can never hold: refused locally, and by the script.
            assert o.may_command("Z2") is not None
            for local in (await refused(o.take("Z2")), await refused(o.request("Z2"))):
                assert (local.code, local.reason) == ("role", "role observer may not hold a zone")
                assert local.refusal == Refusal.of(RefusalCode.ROLE_MAY_NOT_HOLD, role="observer")
            by_script = await refused(o._invoke("take", "Z2"))
            assert by_script.code == "role"
            assert by_script.refusal == Refusal.of(RefusalCode.ROLE_MAY_NOT_HOLD, role="observer")
            assert holder(a, "Z2") == ""
            # Nor be handed a zone.
            await a.take("Z2")
            for handed in (
                await refused(a.grant("Z2", o.who)),
                await refused(s.force("Z2", o.who)),
            ):
                assert handed.code == "role"
                assert handed.refusal == Refusal.of(
                    RefusalCode.TARGET_ROLE_MAY_NOT_HOLD, target=o.who, role="observer"
                )
                assert handed.reason == "o.c@WS-03 may not hold a zone (role observer)"
            assert holder(a, "Z2") == a.who

    run(scenario())


def test_supervisor_mode_and_force(
    demo_line: Line, redis_factory: Callable[[], RedisProcess]
) -> None:
    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            s = await group.add("WS-04", "s.d", "supervisor")

            await a.take("Z4")
            forced = await s.force("Z4", b.who)
            assert forced.holder == b.who
            await until(lambda: holder(a, "Z4") == b.who and holder(b, "Z4") == b.who)
            assert b.may_command("Z4") is None
            assert a.may_command("Z4") == held_by("Z4", b.who)
            freed = await s.force("Z4", "")
            assert freed.holder == ""

            # A dispatcher is refused locally...
            for local in (
                await refused(a.set_mode("Z4", ZoneMode.SHARED)),
                await refused(a.force("Z4", a.who)),
            ):
                assert local.code == "role"
                assert local.refusal == Refusal.of(RefusalCode.SUPERVISOR_ONLY, role="dispatcher")
                assert local.reason == "only a supervisor may do this (role dispatcher)"
            # ...and by the scripts when the local check is bypassed.
            bypass = await refused(a._invoke("set_mode", "Z4", "shared"))
            assert bypass.code == "role"
            assert "supervisor" in bypass.reason
            assert bypass.refusal == Refusal.of(RefusalCode.MODE_SUPERVISOR_ONLY, role="dispatcher")
            assert bypass.reason == "only a supervisor may change a zone mode (role dispatcher)"
            forced = await refused(a._invoke("force", "Z4", a.who))
            assert forced.code == "role"
            assert forced.refusal == Refusal.of(
                RefusalCode.FORCE_SUPERVISOR_ONLY, role="dispatcher"
            )
            assert forced.reason == "only a supervisor may force a transfer (role dispatcher)"
            state = s.snapshot()["Z4"]
            assert (state.mode, state.holder) == (ZoneMode.EXCLUSIVE, "")

            for bad in (
                await refused(s.set_mode("Z4", "both")),
                await refused(s._invoke("set_mode", "Z4", "both")),
            ):
                assert (bad.code, bad.reason) == ("bad_mode", "unknown zone mode 'both'")
                assert bad.refusal == Refusal.of(RefusalCode.BAD_MODE, mode="both")
            await s.set_mode("Z4", ZoneMode.SHARED)
            shared = await refused(s.force("Z4", b.who))
            assert shared.code == "shared"
            assert shared.refusal == Refusal.of(RefusalCode.ZONE_SHARED, zone="Z4")
            back = await s.set_mode("Z4", "exclusive")
            assert (back.mode, back.holder) == (ZoneMode.EXCLUSIVE, "")

    run(scenario())


def test_crashed_holder_lapses(demo_line: Line, redis_factory: Callable[[], RedisProcess]) -> None:
    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            c = await group.add("WS-03", "d.c")
            await c.take("Z2")
            await b.request("Z2")
            await until(lambda: holder(a, "Z2") == c.who and holder(b, "Z2") == c.who)
            # Still held after several presence periods while C runs.
            await asyncio.sleep(TTL_MS / 1000 * 1.5)
            assert holder(a, "Z2") == c.who

            await asyncio.gather(*crash(c), return_exceptions=True)
            start = time.perf_counter()
            await until(lambda: holder(a, "Z2") == "" and holder(b, "Z2") == "", timeout=5.0)
            elapsed = time.perf_counter() - start
            print(f"\nlapse seen {elapsed * 1000:.0f} ms after the crash (ttl {TTL_MS} ms)")
            assert elapsed > TTL_MS / 1000 * 0.5  # not before the presence could expire
            assert b.snapshot()["Z2"].requests == ("d.b@WS-02",)
            await b.take("Z2")
            assert b.may_command("Z2") is None

    run(scenario())


def test_redis_killed_and_restarted(
    demo_line: Line, redis_factory: Callable[[], RedisProcess], tmp_path: Path
) -> None:
    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            availability: list[bool] = []
            a.availability.connect(availability.append)
            await a.take("Z1")
            assert a.may_command("Z1") is None

            await asyncio.to_thread(r.stop)
            await until(lambda: not a.available and not b.available, timeout=5.0)
            assert availability == [False]
            assert a.down_since_ms is not None
            down = a.may_command("Z1")
            assert down is not None and down.code is RefusalCode.AUTHORITY_DOWN
            assert str(down).startswith("zone authority unavailable: Redis down since ")
            assert down.params["since_ms"] == str(a.down_since_ms)  # a value: views show it
            assert down.params["cause"] in ("connection_refused", "connection_lost")
            assert a.last_error != ""  # the exception's text: the log's
            assert a.unavailable_reason() == str(down)
            with pytest.raises(AuthorityUnavailable) as unavailable:
                await b.take("Z3")
            assert unavailable.value.code == "unavailable"
            assert unavailable.value.refusal.code is RefusalCode.AUTHORITY_DOWN

            again = await asyncio.to_thread(restart_on_same_port, r, tmp_path / "again")
            try:
                await until(lambda: a.available and b.available, timeout=10.0)
                assert availability == [False, True]
                assert a.down_since_ms is None
                # The new Redis is empty: the state was re-read, not kept from before.
                assert holder(a, "Z1") == ""
                assert a.may_command("Z1") == no_holder("Z1")
                raw = aioredis.Redis.from_url(again.url, decode_responses=True)
                try:
                    fields = await raw.hgetall("t:zone:Z1")
                finally:
                    await raw.aclose()
                assert fields["holder"] == ""
                # Notices flow again.
                await b.take("Z1")
                await until(lambda: holder(a, "Z1") == b.who)
            finally:
                await group.aclose()
                group.opened.clear()
                await asyncio.to_thread(again.stop)

    run(scenario())


def test_concurrent_takes_one_wins(
    demo_line: Line, redis_factory: Callable[[], RedisProcess]
) -> None:
    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            racers = [await group.add(f"WS-{i:02d}", f"d.{i}") for i in range(8)]
            results = await asyncio.gather(*(s.take("Z5") for s in racers), return_exceptions=True)
            winners = [x for x in results if isinstance(x, ZoneAuthority)]
            losers = [x for x in results if isinstance(x, AuthorityRefused)]
            assert len(winners) == 1
            assert len(losers) == 7
            assert {x.code for x in losers} == {"held"}
            assert winners[0].version == 1
            for s in racers:
                await until(lambda st=s: holder(st, "Z5") == winners[0].holder)
            assert sum(s.may_command("Z5") is None for s in racers) == 1

    run(scenario())


def test_fails_closed_before_sync(demo_line: Line) -> None:
    async def scenario() -> None:
        # Nothing listens on this port: the store never synchronises.
        client = redis_client("redis://127.0.0.1:1/0", timeout_s=0.2)
        store = ZoneAuthorityStore(
            client, demo_line, workstation="WS-01", dispatcher="d.a", role="dispatcher"
        )
        try:
            unsynced = store.may_command("Z1")
            assert unsynced == Refusal.of(RefusalCode.AUTHORITY_NOT_SYNCHRONISED)
            assert str(unsynced) == "zone authority unavailable: not synchronised with Redis yet"
            store.start()
            assert not await store.wait_available(0.5)
            assert store.down_since_ms is not None
            assert "Redis down since" in str(store.may_command("Z1"))
            with pytest.raises(AuthorityUnavailable):
                await store.take("Z1")
        finally:
            await store.aclose()
            await store.aclose()  # again: nothing
            await client.aclose()
        closed = store.may_command("Z1")
        assert closed == Refusal.of(RefusalCode.AUTHORITY_CLOSED)
        assert str(closed) == "zone authority unavailable: store closed"
        with pytest.raises(ValueError):
            ZoneAuthorityStore(
                client, demo_line, workstation="WS-01", dispatcher="d.a", role="root"
            )

    run(scenario())
