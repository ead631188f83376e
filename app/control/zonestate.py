"""What a zone's authority is, and how the authority refuses: the values the store hands out.

:class:`ZoneAuthority` is one zone's state as read from Redis; :class:`AuthorityRefused`
carries a :class:`~app.model.refusal.Refusal` (a code and its parameters) and a
coarse :attr:`~AuthorityRefused.code` for scripts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from app.model.refusal import Refusal, RefusalCode

__all__ = [
    "KINDS",
    "AuthorityRefused",
    "AuthorityUnavailable",
    "ZoneAuthority",
    "ZoneMode",
    "parse_state",
]

log = logging.getLogger(__name__)


class ZoneMode(StrEnum):
    EXCLUSIVE = "exclusive"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class ZoneAuthority:
    """One zone's authority as last read from Redis."""

    zone: str
    mode: ZoneMode
    holder: str  # "dispatcher@workstation", or "" when nobody holds the zone
    since_ms: int  # wall clock of the last change of holder or mode
    requests: tuple[str, ...]  # who asked for the zone, oldest first
    version: int  # bumped by every change; 0 for a zone never changed


#: The coarse code of each refusal the authority raises (:attr:`AuthorityRefused.code`,
#: what ``dispatcher-cli zones`` prints: docs/cli.md).
KINDS: Mapping[RefusalCode, str] = MappingProxyType(
    {
        RefusalCode.UNKNOWN_ZONE: "unknown_zone",
        RefusalCode.AUTHORITY_UNAVAILABLE: "unavailable",
        RefusalCode.AUTHORITY_CLOSED: "unavailable",
        RefusalCode.AUTHORITY_NOT_SYNCHRONISED: "unavailable",
        RefusalCode.AUTHORITY_DOWN: "unavailable",
        RefusalCode.AUTHORITY_NO_STATE: "unavailable",
        RefusalCode.ZONE_SHARED: "shared",
        RefusalCode.ZONE_HELD: "held",
        RefusalCode.ZONE_FREE: "free",
        RefusalCode.NOT_HOLDER: "not_holder",
        RefusalCode.GRANT_NOT_HOLDER: "not_holder",
        RefusalCode.GRANT_NO_HOLDER: "not_holder",
        RefusalCode.OBSERVER: "role",
        RefusalCode.OBSERVER_NAMED: "role",
        RefusalCode.ROLE_MAY_NOT_HOLD: "role",
        RefusalCode.TARGET_ROLE_MAY_NOT_HOLD: "role",
        RefusalCode.SUPERVISOR_ONLY: "role",
        RefusalCode.FORCE_SUPERVISOR_ONLY: "role",
        RefusalCode.MODE_SUPERVISOR_ONLY: "role",
        RefusalCode.TARGET_ABSENT: "absent",
        RefusalCode.BAD_MODE: "bad_mode",
        RefusalCode.BAD_TARGET: "bad_target",
        RefusalCode.SCRIPT_ERROR: "error",
    }
)


class AuthorityRefused(Exception):
    """An operation was refused: :attr:`refusal` says why, as a value.

    :attr:`code` is the refusal's coarse kind, stable for scripts: ``role`` (the
    caller's or the target's role forbids it), ``shared`` (the zone has no holder in
    shared mode), ``held`` (someone present holds the zone), ``not_holder``, ``free``
    (request on a free zone: take it), ``absent`` (the target is not logged in),
    ``bad_mode``, ``bad_target``, ``unknown_zone``, ``unavailable`` (see
    :class:`AuthorityUnavailable`), ``error`` (a script error). :attr:`reason` is
    the English rendering.
    """

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal

    @property
    def code(self) -> str:
        return KINDS.get(self.refusal.code, self.refusal.code.value)

    @property
    def reason(self) -> str:
        return str(self.refusal)


class AuthorityUnavailable(AuthorityRefused):
    """Redis is unreachable or the store is not synchronised: nothing was changed."""

    @property
    def code(self) -> str:
        return "unavailable"


def parse_state(
    zone: str, mode: str, holder: str, since: str, requests: str, version: str
) -> ZoneAuthority:
    """A zone's state from its hash fields; an unreadable mode fails closed."""
    try:
        parsed_mode = ZoneMode(mode)
    except ValueError:
        log.error("zone %s has an unknown mode %r: treated as exclusive, no holder", zone, mode)
        parsed_mode, holder = ZoneMode.EXCLUSIVE, ""
    try:
        asked = json.loads(requests)
        queue = tuple(str(x) for x in asked) if isinstance(asked, list) else ()
    except ValueError:
        queue = ()
    return ZoneAuthority(zone, parsed_mode, holder, int(since or 0), queue, int(version or 0))
