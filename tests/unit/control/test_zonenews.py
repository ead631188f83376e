"""What a desk is told when a zone changes hands: the notices' checks and the news table,
then the real thing: stores against a real redis-server (grant, release, a desk gone)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from app.control.zonenews import NewsKind, ZoneNews, ZoneNotice, ZoneOp, news_for, parse_notice
from app.counterparts.services import RedisProcess
from app.model.topology import Line

ME = "d.b@WS-02"


def notice(op: ZoneOp, *, by: str, holder: str, was: str, mode: str = "exclusive") -> ZoneNotice:
    return ZoneNotice("Z2", 4, op, by, mode, holder, was)


def test_bad_notices_are_refused_with_what_is_wrong() -> None:
    good = {"zone": "Z2", "version": 3, "op": "grant", "by": "a@W", "mode": "exclusive",
            "holder": ME, "was": "a@W"}  # fmt: skip
    assert parse_notice(json.dumps(good)) == ZoneNotice("Z2", 3, ZoneOp.GRANT, "a@W",
                                                         "exclusive", ME, "a@W")  # fmt: skip
    old = {k: v for k, v in good.items() if k != "was"}  # the previous release's scripts
    assert parse_notice(json.dumps(old)).was == ""
    for bad, why in (
        ("[1]", "JSON object"),
        (json.dumps({**good, "version": "3"}), "version"),
        (json.dumps({**good, "version": True}), "version"),
        (json.dumps({**good, "op": "steal"}), "unknown operation"),
        (json.dumps({**good, "zone": 7}), "zone"),
        (json.dumps({**good, "holder": "x" * 500}), "holder"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_notice(bad)
    with pytest.raises(ValueError):
        parse_notice("{not json")


def test_the_table_says_who_is_told_what() -> None:
    a = "d.a@WS-01"
    granted = notice(ZoneOp.GRANT, by=a, holder=ME, was=a)
    assert news_for(granted, ME) == ZoneNews(NewsKind.YOURS, "Z2", ZoneOp.GRANT, a, a, ME)
    assert news_for(granted, a) is None  # the giver knows
    assert news_for(granted, "c@WS-03") is None
    forced = notice(ZoneOp.FORCE, by="boss@WS-9", holder=ME, was=a)
    assert news_for(forced, ME).kind is NewsKind.YOURS  # type: ignore[union-attr]
    assert news_for(forced, a).kind is NewsKind.TAKEN  # type: ignore[union-attr]
    released = notice(ZoneOp.RELEASE, by=a, holder="", was=a)
    assert news_for(released, ME).kind is NewsKind.FREED  # type: ignore[union-attr]
    assert news_for(released, a) is None
    # a lapse (a desk gone) is news to everyone, the sweeper included
    lapsed = notice(ZoneOp.LAPSE, by=ME, holder="", was=a)
    assert news_for(lapsed, ME).kind is NewsKind.FREED  # type: ignore[union-attr]
    assert news_for(lapsed, "c@WS-03").kind is NewsKind.FREED  # type: ignore[union-attr]
    # a withdrawn request, a request, a free zone going shared: nothing to tell
    assert news_for(notice(ZoneOp.WITHDRAW, by=a, holder=ME, was=ME), ME) is None
    assert news_for(notice(ZoneOp.REQUEST, by=a, holder=ME, was=ME), ME) is None
    shared = notice(ZoneOp.SET_MODE, by="boss@WS-9", holder="", was=a, mode="shared")
    assert news_for(shared, ME) is None


@pytest.mark.integration
def test_every_desk_is_told_of_a_grant_a_release_and_a_desk_gone(
    demo_line: Line, redis_factory: Callable[[], RedisProcess]
) -> None:
    from tests.unit.control.test_authority import crash, run, stores, until

    r = redis_factory()

    async def scenario() -> None:
        async with stores(demo_line, r.url) as group:
            a = await group.add("WS-01", "d.a")
            b = await group.add("WS-02", "d.b")
            c = await group.add("WS-03", "d.c")
            told: dict[str, list[ZoneNews]] = {"a": [], "b": [], "c": []}
            for name, store in (("a", a), ("b", b), ("c", c)):
                store.notices.connect(
                    lambda n, name=name, who=store.who: (
                        told[name].append(news) if (news := news_for(n, who)) else None
                    )
                )
            await a.take("Z1")
            await a.take("Z2")
            await b.request("Z1")
            await until(lambda: a.snapshot()["Z1"].requests == (b.who,))
            await a.grant("Z1", b.who)
            await until(lambda: bool(told["b"]))
            assert [(n.kind, n.zone, n.by) for n in told["b"]] == [(NewsKind.YOURS, "Z1", a.who)]
            await b.release("Z1")
            await until(lambda: len(told["c"]) == 1)
            assert (told["c"][0].kind, told["c"][0].op, told["c"][0].was) == (
                NewsKind.FREED, ZoneOp.RELEASE, b.who
            )  # fmt: skip
            # a's desk dies holding Z2: its zone lapses, and the others are told
            tasks = crash(a)
            await until(lambda: any(n.op is ZoneOp.LAPSE for n in told["c"]), timeout=3.0)
            lapse = [n for n in told["c"] if n.op is ZoneOp.LAPSE]
            assert [(n.kind, n.zone, n.was) for n in lapse] == [(NewsKind.FREED, "Z2", a.who)]
            await until(lambda: any(n.op is ZoneOp.LAPSE for n in told["b"]))
            await asyncio.gather(*tasks, return_exceptions=True)

    run(scenario())
