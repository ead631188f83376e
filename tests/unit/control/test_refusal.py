"""Refusals as values: every code, its parameters and its English rendering; the Lua
scripts return codes and parameters that exist; closing twice is harmless."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from app.control import lua
from app.control.audit import AuditLog
from app.control.clients import clients_for, close_clients
from app.control.devicelock import LocalDeviceLock
from app.control.pipeline import CommandPipeline
from app.control.redlock import Redlock
from app.control.service import ControlService
from app.control.zonestate import KINDS, AuthorityRefused, AuthorityUnavailable
from app.model.refusal import CAUSES, TEMPLATES, Refusal, RefusalCode, local_clock, parameters
from app.model.topology import Line

C = RefusalCode

#: Every code with sample parameters and its English rendering: the texts the views
#: translate today by pattern (ui/i18n.py reason_text) must stay exactly these.
RENDERINGS: list[tuple[RefusalCode, dict[str, str], str]] = [
    (C.OBSERVER, {}, "observers may not command"),
    (
        C.OBSERVER_NAMED,
        {"who": "o@WS-3"},
        "o@WS-3 is an observer: observers may not command",
    ),
    (C.REPLAY, {}, "replay: commands cannot be sent"),
    (
        C.NO_ZONE,
        {"device": "W9"},
        "W9 is in no control zone: nobody has authority over it",
    ),
    (C.UNKNOWN_ZONE, {"zone": "Z9"}, "unknown zone Z9"),
    (C.AUTHORITY_UNAVAILABLE, {}, "zone authority unavailable"),
    (C.AUTHORITY_CLOSED, {}, "zone authority unavailable: store closed"),
    (
        C.AUTHORITY_NOT_SYNCHRONISED,
        {},
        "zone authority unavailable: not synchronised with Redis yet",
    ),
    (
        C.AUTHORITY_DOWN,
        {"since_ms": "not a time", "cause": "connection_refused"},
        "zone authority unavailable: Redis down since not a time (the connection was refused)",
    ),
    (C.AUTHORITY_NO_STATE, {"zone": "Z1"}, "zone authority unavailable: no state for zone Z1"),
    (C.ZONE_SHARED, {"zone": "Z1"}, "zone Z1 is shared: nobody holds it"),
    (C.ZONE_HELD, {"zone": "Z1", "holder": "d2@WS-02"}, "zone Z1 is held by d2@WS-02"),
    (C.ZONE_NO_HOLDER, {"zone": "Z1"}, "zone Z1 has no holder: take control first"),
    (C.ZONE_FREE, {"zone": "Z1"}, "zone Z1 is free: take it"),
    (C.NOT_HOLDER, {"zone": "Z1", "who": "a@WS-1"}, "zone Z1 is not held by a@WS-1"),
    (
        C.GRANT_NOT_HOLDER,
        {"zone": "Z1", "holder": "b@WS-2"},
        "only the holder may grant zone Z1 (held by b@WS-2)",
    ),
    (C.GRANT_NO_HOLDER, {"zone": "Z1"}, "only the holder may grant zone Z1 (held by nobody)"),
    (C.ROLE_MAY_NOT_HOLD, {"role": "observer"}, "role observer may not hold a zone"),
    (
        C.TARGET_ROLE_MAY_NOT_HOLD,
        {"target": "o@WS-3", "role": "observer"},
        "o@WS-3 may not hold a zone (role observer)",
    ),
    (C.TARGET_ABSENT, {"target": "x@WS-9"}, "x@WS-9 is not logged in"),
    (
        C.SUPERVISOR_ONLY,
        {"role": "dispatcher"},
        "only a supervisor may do this (role dispatcher)",
    ),
    (
        C.FORCE_SUPERVISOR_ONLY,
        {"role": "dispatcher"},
        "only a supervisor may force a transfer (role dispatcher)",
    ),
    (
        C.MODE_SUPERVISOR_ONLY,
        {"role": "dispatcher"},
        "only a supervisor may change a zone mode (role dispatcher)",
    ),
    (C.BAD_MODE, {"mode": "both"}, "unknown zone mode 'both'"),
    (C.BAD_TARGET, {"target": "nobody"}, "expected dispatcher@workstation, got 'nobody'"),
    (C.SCRIPT_ERROR, {"op": "take", "error": "ERR boom"}, "take failed in Redis: ERR boom"),
    (C.BUSY, {"holder": "bob@WS-02"}, "being executed by bob@WS-02"),
    (
        C.LOCK_UNAVAILABLE,
        {"error": "lock service unavailable for device:W1: 0 of 1 nodes answered"},
        "device lock service unavailable "
        "(lock service unavailable for device:W1: 0 of 1 nodes answered); not sent",
    ),
    (C.CANCELLED_BEFORE_SENDING, {}, "cancelled before sending; not sent"),
    (
        C.CANCELLED_AFTER_SENDING,
        {},
        "cancelled after sending; outcome unknown: check the device",
    ),
    (C.BROKEN_BEFORE_SENDING, {"error": "boom"}, "boom before sending; not sent"),
    (
        C.BROKEN_AFTER_SENDING,
        {"error": "boom"},
        "boom after sending; outcome unknown: check the device",
    ),
]


def test_every_code_has_a_template_and_renders_its_parameters() -> None:
    assert set(TEMPLATES) == set(RefusalCode)
    assert [code for code, _, _ in RENDERINGS] == list(RefusalCode)
    for code, params, english in RENDERINGS:
        refusal = Refusal.of(code, **params)
        assert (str(refusal), refusal.text()) == (english, english)
        assert refusal.params == params
        assert set(parameters(code)) == set(params)
        assert refusal.template == TEMPLATES[code]
        # what a view in another language does: the template, then the parameters as
        # shown (a time in a zone, a cause in words)
        shown = refusal.shown_params(local_clock, lambda c: CAUSES.get(c, c))
        assert TEMPLATES[code].format_map(shown) == english


def test_a_refusal_is_a_value() -> None:
    a = Refusal.of(C.ZONE_HELD, holder="b@WS-2", zone="Z1")  # any keyword order
    b = Refusal.of("zone_held", zone="Z1", holder="b@WS-2")  # a code's text, as Lua gives it
    assert a == b and hash(a) == hash(b)
    assert a.items == (("zone", "Z1"), ("holder", "b@WS-2"))  # template order
    assert a != Refusal.of(C.ZONE_HELD, zone="Z2", holder="b@WS-2")
    assert Refusal.of(C.BUSY, holder=42).params == {"holder": "42"}  # kept as text
    with pytest.raises(ValueError, match="expected"):
        Refusal.of(C.ZONE_HELD, zone="Z1")  # a parameter missing
    with pytest.raises(ValueError, match="expected"):
        Refusal.of(C.ZONE_FREE, zone="Z1", holder="x")  # one too many
    with pytest.raises(ValueError):
        Refusal.of("no_such_code")
    with pytest.raises(ValueError, match="expected"):
        Refusal(C.ZONE_FREE, ())  # built directly: checked too


def _lua_refusals() -> list[tuple[str, str, set[str]]]:
    """(file, code, parameter names) of every refusal the zone scripts return."""
    found = []
    here = Path(lua.__file__).parent
    pattern = re.compile(r"(?:refuse\(|return )'(\w+)',\s*\{([^}]*)\}")
    for path in sorted(here.glob("zone_*.lua")):
        for code, table in pattern.findall(path.read_text(encoding="utf-8")):
            found.append((path.name, code, set(re.findall(r"(\w+)\s*=", table))))
    return found


def test_the_zone_scripts_return_known_codes_with_their_template_parameters() -> None:
    found = _lua_refusals()
    codes = {code for _, code, _ in found}
    # every refusal the scripts can give, and nothing else
    assert codes == {
        "role_may_not_hold",
        "zone_shared",
        "zone_held",
        "not_holder",
        "zone_free",
        "grant_no_holder",
        "grant_not_holder",
        "force_supervisor_only",
        "mode_supervisor_only",
        "bad_mode",
        "target_absent",
        "target_role_may_not_hold",
    }
    for where, code, names in found:
        assert names == set(parameters(RefusalCode(code))), (where, code)
        assert RefusalCode(code) in KINDS, code  # AuthorityRefused.code knows it
    # No prose in the zone scripts: the only texts they return are codes.
    for path in Path(lua.__file__).parent.glob("zone_*.lua"):
        source = path.read_text(encoding="utf-8")
        assert "reason" not in source, path.name
        assert not re.search(r"'[a-z]+ [a-z]+ [a-z]+", source), path.name


def test_authority_refused_keeps_its_coarse_code_and_english_reason() -> None:
    held = AuthorityRefused(Refusal.of(C.ZONE_HELD, zone="Z1", holder="b@WS-2"))
    assert (held.code, held.reason, str(held)) == (
        "held",
        "zone Z1 is held by b@WS-2",
        "zone Z1 is held by b@WS-2",
    )
    down = AuthorityUnavailable(Refusal.of(C.AUTHORITY_CLOSED))
    assert (down.code, down.reason) == ("unavailable", "zone authority unavailable: store closed")


def test_every_closable_part_closes_twice_without_harm(demo_line: Line, tmp_path: Path) -> None:
    class Session:
        role = "dispatcher"

        async def wait_commandable(self, timeout_s: float) -> bool:
            return False

        async def command(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("nothing is sent")

    async def main() -> None:
        audit = AuditLog(tmp_path / "audit.jsonl")
        lock = LocalDeviceLock()
        pipeline = CommandPipeline(
            Session(),  # type: ignore[arg-type]
            demo_line,
            dispatcher="a",
            workstation="WS-1",
            lock=lock,
            authority=None,
            audit=audit,
        )
        service = ControlService(pipeline, lock=lock, authority=None, clients=[], audit=audit)
        await service.aclose()
        await service.aclose()
        await audit.aclose()
        await lock.aclose()
        clients = clients_for(["127.0.0.1:1"])  # nothing listens: never connected
        redlock = Redlock(clients)
        await redlock.aclose()
        await redlock.aclose()
        await close_clients(clients)
        await close_clients(clients)

    asyncio.run(main())
