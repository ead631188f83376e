"""What a command sends, and the outcomes the workstation gives it itself
(``docs/control.md``, "Outcomes").

Pure: :func:`new_command` builds the COMMAND; :func:`refusal` is the check made
before anything is sent (refused: an observer; failed, nothing sent: no link to the
master, or only a standby reachable); the others are the outcomes of a command whose
answer never came. Once a command may have left, its outcome without the server's
answer is ``unknown``, never "not sent".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.roles import Role
from app.session.election import MasterView


def _new_id() -> str:
    return uuid.uuid4().hex


def new_command(
    device: str,
    op: CommandOp,
    *,
    dispatcher: str,
    role: Role,
    zone: str | None,
    idempotency_key: str = "",
    fencing_token: int = 0,
    arg: str = "",
    new_id: Callable[[], str] = _new_id,
) -> Command:
    """The COMMAND for one intent: a fresh ``command_id``; ``idempotency_key`` is the
    intent's (a fresh one when empty); ``zone`` None or empty is sent as ``""``."""
    command_id = new_id()
    return Command(
        command_id=command_id,
        device=device,
        op=op,
        dispatcher=dispatcher,
        role=role.value,
        zone=zone or "",
        idempotency_key=idempotency_key or new_id(),
        fencing_token=fencing_token,
        arg=arg,
    )


def result(cmd: Command, outcome: Outcome, code: str, reason: str) -> CommandResult:
    """The workstation's own result for ``cmd``."""
    return CommandResult(cmd.command_id, cmd.device, cmd.op, outcome, code, reason)


def refusal(
    cmd: Command, role: Role, master: MasterView, link_server: str | None
) -> CommandResult | None:
    """The outcome of ``cmd`` decided before sending it, or None: it may go.

    ``link_server`` is the server of the link it would go on (None: no link up to the
    followed server).
    """
    if not role.may_command:
        return result(cmd, Outcome.REFUSED, "not_authorised", "observers may not command")
    if link_server is None:
        return result(cmd, Outcome.FAILED, "no_link", "no link to the master; not sent")
    if not master.can_command:
        return result(
            cmd,
            Outcome.FAILED,
            "master_unreachable",
            f"the master is unreachable; showing standby {link_server}'s state; not sent",
        )
    return None


def not_sent(cmd: Command, why: object) -> CommandResult:
    """The link refused it before anything left: failed, nothing sent."""
    return result(cmd, Outcome.FAILED, "no_link", f"not sent: {why}")


def link_failed(cmd: Command, link_name: str, cause: object) -> CommandResult:
    """Sent, and the link failed before the result came: unknown."""
    return result(
        cmd,
        Outcome.UNKNOWN,
        "link_down",
        f"sent on {link_name}, but the link failed before the result "
        f"({cause}); outcome unknown: check the device",
    )


def timed_out(cmd: Command, timeout_s: float) -> CommandResult:
    """Sent, and no result within the timeout: unknown."""
    return result(
        cmd,
        Outcome.UNKNOWN,
        "timeout",
        f"no result within {timeout_s:g} s; outcome unknown: check the device",
    )
