"""Why this workstation will not do what a dispatcher asked, as a value.

A :class:`Refusal` is a code (:class:`RefusalCode`, one member per reason) and its
parameters (the zone, the holder, the role, ...: strings, named as in the
code's template). It comes from the zone authority (its Lua scripts and its
Python checks) and from the command pipeline, which also gives one when an
intent was not sent, or was sent and its answer lost: every reason this
workstation gives, and never the server's (those come as the server words them).

``str(refusal)`` is the one English rendering, for logs, the CLI and the audit
file. A view in another language translates by code, not by the English
sentence: :data:`TEMPLATES` holds each code's English template, marked for Qt's
lupdate in the context ``Refusals``, so ``translate("Refusals",
r.template).format_map(r.params)`` says it in the user's language (ui/i18n.py).
Rewording a template changes its rendering everywhere at once and the
translator sees the new source text.

Pure data: no I/O, no Qt.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType


class RefusalCode(StrEnum):
    """One member per reason; the value is what the Lua scripts and the audit file carry."""

    # The desk's role.
    OBSERVER = "observer"
    OBSERVER_NAMED = "observer_named"
    # A replay shows a recording: nothing goes to the line from it.
    REPLAY = "replay"
    # Which zone.
    NO_ZONE = "no_zone"
    UNKNOWN_ZONE = "unknown_zone"
    # Zone authority out of reach: fail closed.
    AUTHORITY_UNAVAILABLE = "authority_unavailable"
    AUTHORITY_CLOSED = "authority_closed"
    AUTHORITY_NOT_SYNCHRONISED = "authority_not_synchronised"
    AUTHORITY_DOWN = "authority_down"
    AUTHORITY_NO_STATE = "authority_no_state"
    # The zone's mode and holder.
    ZONE_SHARED = "zone_shared"
    ZONE_HELD = "zone_held"
    ZONE_NO_HOLDER = "zone_no_holder"
    ZONE_FREE = "zone_free"
    NOT_HOLDER = "not_holder"
    GRANT_NOT_HOLDER = "grant_not_holder"
    GRANT_NO_HOLDER = "grant_no_holder"
    # Who may hold a zone, and who may force or switch it.
    ROLE_MAY_NOT_HOLD = "role_may_not_hold"
    TARGET_ROLE_MAY_NOT_HOLD = "target_role_may_not_hold"
    TARGET_ABSENT = "target_absent"
    SUPERVISOR_ONLY = "supervisor_only"
    FORCE_SUPERVISOR_ONLY = "force_supervisor_only"
    MODE_SUPERVISOR_ONLY = "mode_supervisor_only"
    # What was asked makes no sense, or Redis failed to run it.
    BAD_MODE = "bad_mode"
    BAD_TARGET = "bad_target"
    SCRIPT_ERROR = "script_error"
    # The command pipeline: the device lock, and an intent interrupted.
    BUSY = "busy"
    LOCK_UNAVAILABLE = "lock_unavailable"
    CANCELLED_BEFORE_SENDING = "cancelled_before_sending"
    CANCELLED_AFTER_SENDING = "cancelled_after_sending"
    BROKEN_BEFORE_SENDING = "broken_before_sending"
    BROKEN_AFTER_SENDING = "broken_after_sending"


_C = RefusalCode


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Marks ``text`` for translation in ``context``: Qt's lupdate finds each template
    here by this name (``resources/translations/update.py`` reads this file), and a
    view translates it by code: ``QCoreApplication.translate("Refusals", template)``."""
    del context
    return text


#: Each code's English rendering; ``{name}`` is a parameter (``{name!r}``: quoted, as
#: Python's ``repr`` of the text). Parameters: ``zone`` a zone id; ``holder``, ``who``
#: and ``target`` ``dispatcher@workstation``; ``role`` a role as Redis has it;
#: ``device`` a device id; ``since_ms`` a wall-clock time (ms since the epoch: a value,
#: shown by whoever renders it, a view in the line's time zone); ``cause`` a code of
#: :data:`CAUSES` (a view translates its sentence); ``error`` a diagnostic in English
#: (an exception's text); ``op`` a zone operation.
TEMPLATES: Mapping[RefusalCode, str] = MappingProxyType(
    {
        _C.OBSERVER: QT_TRANSLATE_NOOP("Refusals", "observers may not command"),
        _C.OBSERVER_NAMED: QT_TRANSLATE_NOOP(
            "Refusals", "{who} is an observer: observers may not command"
        ),
        _C.REPLAY: QT_TRANSLATE_NOOP("Refusals", "replay: commands cannot be sent"),
        _C.NO_ZONE: QT_TRANSLATE_NOOP(
            "Refusals", "{device} is in no control zone: nobody has authority over it"
        ),
        _C.UNKNOWN_ZONE: QT_TRANSLATE_NOOP("Refusals", "unknown zone {zone}"),
        _C.AUTHORITY_UNAVAILABLE: QT_TRANSLATE_NOOP("Refusals", "zone authority unavailable"),
        _C.AUTHORITY_CLOSED: QT_TRANSLATE_NOOP(
            "Refusals", "zone authority unavailable: store closed"
        ),
        _C.AUTHORITY_NOT_SYNCHRONISED: QT_TRANSLATE_NOOP(
            "Refusals", "zone authority unavailable: not synchronised with Redis yet"
        ),
        _C.AUTHORITY_DOWN: QT_TRANSLATE_NOOP(
            "Refusals", "zone authority unavailable: Redis down since {since_ms} ({cause})"
        ),
        _C.AUTHORITY_NO_STATE: QT_TRANSLATE_NOOP(
            "Refusals", "zone authority unavailable: no state for zone {zone}"
        ),
        _C.ZONE_SHARED: QT_TRANSLATE_NOOP("Refusals", "zone {zone} is shared: nobody holds it"),
        _C.ZONE_HELD: QT_TRANSLATE_NOOP("Refusals", "zone {zone} is held by {holder}"),
        _C.ZONE_NO_HOLDER: QT_TRANSLATE_NOOP(
            "Refusals", "zone {zone} has no holder: take control first"
        ),
        _C.ZONE_FREE: QT_TRANSLATE_NOOP("Refusals", "zone {zone} is free: take it"),
        _C.NOT_HOLDER: QT_TRANSLATE_NOOP("Refusals", "zone {zone} is not held by {who}"),
        _C.GRANT_NOT_HOLDER: QT_TRANSLATE_NOOP(
            "Refusals", "only the holder may grant zone {zone} (held by {holder})"
        ),
        _C.GRANT_NO_HOLDER: QT_TRANSLATE_NOOP(
            "Refusals", "only the holder may grant zone {zone} (held by nobody)"
        ),
        _C.ROLE_MAY_NOT_HOLD: QT_TRANSLATE_NOOP("Refusals", "role {role} may not hold a zone"),
        _C.TARGET_ROLE_MAY_NOT_HOLD: QT_TRANSLATE_NOOP(
            "Refusals", "{target} may not hold a zone (role {role})"
        ),
        _C.TARGET_ABSENT: QT_TRANSLATE_NOOP("Refusals", "{target} is not logged in"),
        _C.SUPERVISOR_ONLY: QT_TRANSLATE_NOOP(
            "Refusals", "only a supervisor may do this (role {role})"
        ),
        _C.FORCE_SUPERVISOR_ONLY: QT_TRANSLATE_NOOP(
            "Refusals", "only a supervisor may force a transfer (role {role})"
        ),
        _C.MODE_SUPERVISOR_ONLY: QT_TRANSLATE_NOOP(
            "Refusals", "only a supervisor may change a zone mode (role {role})"
        ),
        _C.BAD_MODE: QT_TRANSLATE_NOOP("Refusals", "unknown zone mode {mode!r}"),
        _C.BAD_TARGET: QT_TRANSLATE_NOOP(
            "Refusals", "expected dispatcher@workstation, got {target!r}"
        ),
        _C.SCRIPT_ERROR: QT_TRANSLATE_NOOP("Refusals", "{op} failed in Redis: {error}"),
        _C.BUSY: QT_TRANSLATE_NOOP("Refusals", "being executed by {holder}"),
        _C.LOCK_UNAVAILABLE: QT_TRANSLATE_NOOP(
            "Refusals", "device lock service unavailable ({error}); not sent"
        ),
        _C.CANCELLED_BEFORE_SENDING: QT_TRANSLATE_NOOP(
            "Refusals", "cancelled before sending; not sent"
        ),
        _C.CANCELLED_AFTER_SENDING: QT_TRANSLATE_NOOP(
            "Refusals", "cancelled after sending; outcome unknown: check the device"
        ),
        _C.BROKEN_BEFORE_SENDING: QT_TRANSLATE_NOOP("Refusals", "{error} before sending; not sent"),
        _C.BROKEN_AFTER_SENDING: QT_TRANSLATE_NOOP(
            "Refusals", "{error} after sending; outcome unknown: check the device"
        ),
    }
)


#: Why a service is out of reach, as a code (``cause``), and its English sentence, marked
#: for lupdate in the context ``RefusalCauses`` (a view translates it by code).
CAUSES: Mapping[str, str] = MappingProxyType(
    {
        "connection_refused": QT_TRANSLATE_NOOP("RefusalCauses", "the connection was refused"),
        "connection_lost": QT_TRANSLATE_NOOP("RefusalCauses", "the connection was lost"),
        "timeout": QT_TRANSLATE_NOOP("RefusalCauses", "no answer in time"),
        "auth": QT_TRANSLATE_NOOP("RefusalCauses", "the user or password was refused"),
        "error": QT_TRANSLATE_NOOP("RefusalCauses", "an error (see the log)"),
    }
)


def local_clock(ms: int) -> str:
    """``HH:MM:SS`` of a wall-clock time in the machine's zone (the English rendering, for
    the log and the CLI; a view shows it in the line's)."""
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


@cache
def parameters(code: RefusalCode) -> tuple[str, ...]:
    """The names of ``code``'s parameters, in the order its template uses them."""
    names: list[str] = []
    for _, field, _, _ in string.Formatter().parse(TEMPLATES[code]):
        if field is not None and field not in names:
            names.append(field)
    return tuple(names)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reason as a value: its code and its parameters (strings, in template order).

    Build one with :meth:`of`, which checks the parameters against the template.
    Equal refusals render equally; ``str(refusal)`` is the English rendering.
    """

    code: RefusalCode
    items: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        wanted = parameters(self.code)
        given = tuple(name for name, _ in self.items)
        if given != wanted:
            raise ValueError(f"refusal {self.code}: parameters {given}, expected {wanted}")

    @classmethod
    def of(cls, code: RefusalCode | str, /, **params: object) -> Refusal:
        """``code`` with ``params``, exactly the template's (ValueError otherwise).

        ``code`` may be the code's text (from a Lua script): an unknown one is a
        ValueError. Every parameter is kept as text (``str(value)``).
        """
        known = RefusalCode(code)
        wanted = parameters(known)
        if set(params) != set(wanted):
            raise ValueError(f"refusal {known}: parameters {sorted(params)}, expected {wanted}")
        return cls(known, tuple((name, str(params[name])) for name in wanted))

    @property
    def params(self) -> dict[str, str]:
        """The parameters by name (a new dict each time)."""
        return dict(self.items)

    @property
    def template(self) -> str:
        """The English template this refusal renders."""
        return TEMPLATES[self.code]

    def shown_params(
        self, clock: Callable[[int], str], cause: Callable[[str], str]
    ) -> dict[str, str]:
        """The parameters as shown: a ``..._ms`` time through ``clock``, a ``cause`` code
        through ``cause``; the rest as they are."""
        out = self.params
        for name, value in out.items():
            if name.endswith("_ms") and value.isdigit():
                out[name] = clock(int(value))
            elif name == "cause":
                out[name] = cause(value)
        return out

    def text(self) -> str:
        """The English rendering."""
        english = self.shown_params(local_clock, lambda c: CAUSES.get(c, c))
        return TEMPLATES[self.code].format_map(english)

    def __str__(self) -> str:
        return self.text()
