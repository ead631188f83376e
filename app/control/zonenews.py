"""What a desk is told when a zone changes hands: notices in, news out, by a table.

Every change of a zone's authority is PUBLISHed by its Lua script
(``app/control/lua/zone_prelude.lua``) as ``{"zone", "version", "op", "by", "mode",
"holder", "was"}``. :func:`parse_notice` checks one (bad data is refused, never
guessed); :func:`news_for` says what the dispatcher ``me`` must be told, from
:data:`RULES`: the first rule whose operation and condition match gives the
kind of news, or nothing.

- ``yours``: the zone is now mine, given by someone else (a grant, a supervisor's
  force): "you now hold Z2";
- ``freed``: an exclusive zone nobody holds any more: released, lapsed (its
  holder's workstation stopped, or quit), or forced free; every desk is told,
  so a zone never falls free unannounced;
- ``taken``: a supervisor moved my zone to someone else;
- ``answered``: my request was answered otherwise (withdrawn by me, or the zone
  went to another).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["RULES", "NewsKind", "ZoneNews", "ZoneNotice", "ZoneOp", "news_for", "parse_notice"]


class ZoneOp(StrEnum):
    TAKE = "take"
    TAKE_LAPSED = "take_lapsed"
    RELEASE = "release"
    WITHDRAW = "withdraw"
    REQUEST = "request"
    GRANT = "grant"
    FORCE = "force"
    SET_MODE = "set_mode"
    LAPSE = "lapse"


class NewsKind(StrEnum):
    YOURS = "yours"
    FREED = "freed"
    TAKEN = "taken"


@dataclass(frozen=True, slots=True)
class ZoneNotice:
    zone: str
    version: int
    op: ZoneOp
    by: str  # who ran the script ("dispatcher@workstation"); the sweeper for a lapse
    mode: str
    holder: str  # after the change; "" for nobody
    was: str  # before the change


@dataclass(frozen=True, slots=True)
class ZoneNews:
    kind: NewsKind
    zone: str
    op: ZoneOp
    by: str
    was: str  # the holder before ("" when nobody held it)
    holder: str


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"{what}: expected a short string, got {value!r:.60}")
    return value


def parse_notice(data: str | bytes) -> ZoneNotice:
    """One notice from the channel; ValueError saying what is wrong with a bad one."""
    raw = json.loads(data)
    if not isinstance(raw, dict):
        raise ValueError("a zone notice is a JSON object")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"version: expected an integer >= 0, got {version!r:.40}")
    try:
        op = ZoneOp(str(raw.get("op")))
    except ValueError:
        raise ValueError(f"op: unknown operation {raw.get('op')!r:.40}") from None
    return ZoneNotice(
        zone=_text(raw.get("zone"), "zone"),
        version=version,
        op=op,
        by=_text(raw.get("by", ""), "by"),
        mode=_text(raw.get("mode", ""), "mode"),
        holder=_text(raw.get("holder", ""), "holder"),
        was=_text(raw.get("was", ""), "was"),  # "" from a script of the previous release
    )


Condition = Callable[[ZoneNotice, str], bool]

#: (operations, condition on (notice, me), the news): the first match wins
RULES: tuple[tuple[frozenset[ZoneOp], Condition, NewsKind], ...] = (
    (
        frozenset({ZoneOp.GRANT, ZoneOp.FORCE}),
        lambda n, me: n.holder == me and me not in (n.was, n.by),
        NewsKind.YOURS,
    ),
    (
        frozenset({ZoneOp.FORCE}),
        lambda n, me: n.was == me and me not in (n.holder, n.by),
        NewsKind.TAKEN,
    ),
    (
        frozenset({ZoneOp.RELEASE, ZoneOp.LAPSE, ZoneOp.FORCE}),
        lambda n, me: n.mode == "exclusive" and not n.holder and bool(n.was) and n.by != me,
        NewsKind.FREED,
    ),
    (
        # a lapse this desk's own sweep found: it is news to this desk too
        frozenset({ZoneOp.LAPSE}),
        lambda n, me: n.mode == "exclusive" and not n.holder and bool(n.was),
        NewsKind.FREED,
    ),
)


def news_for(notice: ZoneNotice, me: str) -> ZoneNews | None:
    """What dispatcher ``me`` ("dispatcher@workstation") is told of ``notice``; None: nothing."""
    for ops, condition, kind in RULES:
        if notice.op in ops and condition(notice, me):
            return ZoneNews(kind, notice.zone, notice.op, notice.by, notice.was, notice.holder)
    return None
