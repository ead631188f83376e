"""Why the server refused a command (or what it notes on one it executed), as a value.

A COMMAND_RESULT carries ``reason_code`` (what a program decides by: ``section_occupied``),
and since this release ``reason_form`` and ``reason_params`` (``docs/protocol.md``,
COMMAND_RESULT): which sentence says why, and its parameters. :data:`FORMS` holds
each form's code and English template, marked for Qt's lupdate in the context
``ServerReasons``; the simulator words its ``reason`` from them, and a view
translates by form: ``translate("ServerReasons", template).format_map(params)``. An
old server sends no form: its ``reason`` (English prose) is shown as it came.

Parameters are device, route, train and alarm ids, numbers, and ``position``, a
switch position (``normal``, ``reverse``) a view may word in its language.

Pure data: no I/O, no Qt.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from app.model.refusal import QT_TRANSLATE_NOOP

#: form -> (reason code, English template). A form is one sentence; a code may have several.
FORMS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # who may command, and where
        "not_master": (
            "not_master",
            QT_TRANSLATE_NOOP("ServerReasons", "server {server} is standby"),
        ),
        "session_may_not_command": (
            "not_authorised",
            QT_TRANSLATE_NOOP("ServerReasons", "a session with role {role!r} may not command"),
        ),
        "role_may_not_command": (
            "not_authorised",
            QT_TRANSLATE_NOOP("ServerReasons", "role {role!r} may not command"),
        ),
        "role_not_the_session": (
            "not_authorised",
            QT_TRANSLATE_NOOP(
                "ServerReasons", "the command says role {role!r}, its session is {session!r}"
            ),
        ),
        "dispatcher_not_the_session": (
            "not_authorised",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "the command names dispatcher {dispatcher!r}, its session is {session!r}",
            ),
        ),
        "no_alarms": (
            "unsupported_op",
            QT_TRANSLATE_NOOP("ServerReasons", "this server produces no alarms"),
        ),
        "op_unsupported": (
            "unsupported_op",
            QT_TRANSLATE_NOOP("ServerReasons", "operation {op} is not supported by this server"),
        ),
        # which device
        "no_switch": (
            "unknown_device",
            QT_TRANSLATE_NOOP("ServerReasons", "no switch {switch} on this line"),
        ),
        "no_signal": (
            "unknown_device",
            QT_TRANSLATE_NOOP("ServerReasons", "no signal {signal} on this line"),
        ),
        "no_route": (
            "unknown_device",
            QT_TRANSLATE_NOOP("ServerReasons", "no route {route} on this line"),
        ),
        "no_train": (
            "unknown_device",
            QT_TRANSLATE_NOOP("ServerReasons", "no train {train} on this line"),
        ),
        # the interlocking
        "switch_locked": (
            "switch_locked",
            QT_TRANSLATE_NOOP(
                "ServerReasons", "switch {switch} is locked {position} (单锁); unlock it first"
            ),
        ),
        "switch_in_route": (
            "route_locked",
            QT_TRANSLATE_NOOP("ServerReasons", "switch {switch} is locked in route {route}"),
        ),
        "switch_occupied": (
            "section_occupied",
            QT_TRANSLATE_NOOP("ServerReasons", "section {section} at switch {switch} is occupied"),
        ),
        "switch_moving": (
            "switch_moving",
            QT_TRANSLATE_NOOP(
                "ServerReasons", "switch {switch} is moving; lock it once it lies in position"
            ),
        ),
        "route_set": (
            "route_set",
            QT_TRANSLATE_NOOP("ServerReasons", "route {route} is already set"),
        ),
        "signal_closed": (
            "signal_closed",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "signal {signal} is closed (封闭); reopen it before setting route {route}",
            ),
        ),
        "route_occupied": (
            "section_occupied",
            QT_TRANSLATE_NOOP("ServerReasons", "section {section} in route {route} is occupied"),
        ),
        "section_in_route": (
            "section_locked",
            QT_TRANSLATE_NOOP("ServerReasons", "section {section} is locked in route {route}"),
        ),
        "route_switch_locked": (
            "switch_locked",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "route {route} needs switch {switch} {needed}, but it is locked {position} (单锁)",
            ),
        ),
        "route_switch_lost": (
            "switch_lost",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "route {route} needs switch {switch}, which has lost its position (表示丢失)",
            ),
        ),
        "route_switch_occupied": (
            "section_occupied",
            QT_TRANSLATE_NOOP(
                "ServerReasons", "switch {switch} must move but section {section} is occupied"
            ),
        ),
        "route_not_set": (
            "route_not_set",
            QT_TRANSLATE_NOOP("ServerReasons", "route {route} is not set"),
        ),
        "route_in_use": (
            "route_in_use",
            QT_TRANSLATE_NOOP("ServerReasons", "a train is in route {route}"),
        ),
        # coupling (联挂解编)
        "already_coupled": (
            "already_coupled",
            QT_TRANSLATE_NOOP("ServerReasons", "train {train} is in a consist ({coupling})"),
        ),
        "train_moving": (
            "not_stopped",
            QT_TRANSLATE_NOOP("ServerReasons", "train {train} is moving"),
        ),
        "no_partner": (
            "no_partner",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "no stopped unit stands end to end with train {train} within {metres} m",
            ),
        ),
        "not_coupled": (
            "not_coupled",
            QT_TRANSLATE_NOOP("ServerReasons", "train {train} is not in a consist"),
        ),
        "coupling_in_progress": (
            "coupling_in_progress",
            QT_TRANSLATE_NOOP("ServerReasons", "the consist of train {train} is {coupling}"),
        ),
        "consist_moving": (
            "not_stopped",
            QT_TRANSLATE_NOOP("ServerReasons", "the consist of train {train} is moving"),
        ),
        "bad_fault": (
            "bad_argument",
            QT_TRANSLATE_NOOP("ServerReasons", "fault {fault!r} is not one of {faults}"),
        ),
        "bad_fault_duration": (
            "bad_argument",
            QT_TRANSLATE_NOOP("ServerReasons", "fault duration {value!r} is not seconds >= 0"),
        ),
        "disagree_needs_consist": (
            "bad_argument",
            QT_TRANSLATE_NOOP("ServerReasons", "disagree needs a consist of two units or more"),
        ),
        # alarms
        "shelve_needs_minutes": (
            "bad_argument",
            QT_TRANSLATE_NOOP("ServerReasons", "shelve needs minutes, got {arg!r}"),
        ),
        "shelve_range": (
            "bad_argument",
            QT_TRANSLATE_NOOP("ServerReasons", "shelve for 1..{max} minutes, not {minutes}"),
        ),
        "unknown_alarm": (
            "unknown_alarm",
            QT_TRANSLATE_NOOP("ServerReasons", "no alarm {alarm} is active or unacknowledged"),
        ),
        "alarm_shelved": (
            "alarm_shelved",
            QT_TRANSLATE_NOOP("ServerReasons", "alarm {alarm} is shelved"),
        ),
        # the command's safety fields
        "key_reused": (
            "key_reused",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "idempotency key {key} was used for {op} {device}{arg}: one key is one intent; "
                "not executed",
            ),
        ),
        "no_key": (
            "no_key",
            QT_TRANSLATE_NOOP("ServerReasons", "this server requires an idempotency key"),
        ),
        "no_token": (
            "no_token",
            QT_TRANSLATE_NOOP("ServerReasons", "this server requires a fencing token"),
        ),
        "bad_token": (
            "bad_token",
            QT_TRANSLATE_NOOP("ServerReasons", "fencing token {token} is outside 0..{max}"),
        ),
        "stale_token": (
            "stale_token",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "fencing token {token} is older than {highest} already seen for {device}",
            ),
        ),
        "token_unverified": (
            "token_unverified",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "the lock service could not confirm fencing token {token} for {device}; "
                "not executed",
            ),
        ),
        "token_not_issued": (
            "token_not_issued",
            QT_TRANSLATE_NOOP(
                "ServerReasons",
                "fencing token {token} is above what the lock service has issued for {device}; "
                "not executed",
            ),
        ),
        # notes on a command executed that changed nothing (reason_code "")
        "switch_already_lies": (
            "",
            QT_TRANSLATE_NOOP("ServerReasons", "switch already lies {position}"),
        ),
        "switch_already_locked": ("", QT_TRANSLATE_NOOP("ServerReasons", "switch already locked")),
        "signal_already_closed": ("", QT_TRANSLATE_NOOP("ServerReasons", "signal already closed")),
        "train_already_held": ("", QT_TRANSLATE_NOOP("ServerReasons", "train already held")),
        "switch_was_not_locked": ("", QT_TRANSLATE_NOOP("ServerReasons", "switch was not locked")),
        "signal_was_not_closed": ("", QT_TRANSLATE_NOOP("ServerReasons", "signal was not closed")),
        "train_was_not_held": ("", QT_TRANSLATE_NOOP("ServerReasons", "train was not held")),
        "coupling_with": ("", QT_TRANSLATE_NOOP("ServerReasons", "coupling with train:{partner}")),
        "no_fault_injected": ("", QT_TRANSLATE_NOOP("ServerReasons", "no fault was injected")),
        "alarm_already_acked": (
            "",
            QT_TRANSLATE_NOOP("ServerReasons", "alarm already acknowledged"),
        ),
    }
)


@cache
def form_parameters(form: str) -> frozenset[str]:
    """The names ``form``'s template uses."""
    return frozenset(f for _, f, _, _ in string.Formatter().parse(FORMS[form][1]) if f is not None)


def form_template(form: str, params: Mapping[str, str]) -> str | None:
    """The English template of ``form`` when ``params`` are exactly its parameters; None
    for a form this release does not know (a newer server's) or parameters that do not
    fit it: the view shows the server's ``reason`` instead."""
    entry = FORMS.get(form)
    if entry is None or form_parameters(form) != set(params):
        return None
    return entry[1]


def worded(form: str, **params: object) -> tuple[str, str, dict[str, str]]:
    """(reason code, English reason, parameters as text) of ``form``; KeyError if unknown,
    ValueError if the parameters are not the template's."""
    code, template = FORMS[form]
    texts = {name: str(value) for name, value in params.items()}
    if set(texts) != form_parameters(form):
        raise ValueError(f"reason form {form}: parameters {sorted(texts)}")
    return code, template.format_map(texts), texts
