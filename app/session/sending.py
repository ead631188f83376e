"""One command on a link, and its outcome (``docs/control.md``, "Outcomes").

:func:`send_and_wait` is the only place a COMMAND leaves the session: checked first
(:func:`app.session.commands.refusal`), then sent on the master's link and awaited.
Once it may have left, its outcome without the server's answer is ``unknown``
(the link failed, or no answer in time), never "not sent".
"""

from __future__ import annotations

import asyncio

from app.comms.link import LinkDown, ServerLink
from app.model.commands import Command, CommandResult
from app.model.roles import Role
from app.session.commands import link_failed, not_sent, refusal, timed_out
from app.session.election import MasterView


async def send_and_wait(
    link: ServerLink | None, cmd: Command, role: Role, master: MasterView, timeout_s: float
) -> CommandResult:
    """Send ``cmd`` on ``link`` (the master's best, None: none up) and wait at most
    ``timeout_s`` for the answer. Never raises: failures are outcomes."""
    refused = refusal(cmd, role, master, None if link is None else link.server)
    if refused is not None:
        return refused
    assert link is not None  # refusal() says no_link otherwise
    try:
        fut = link.request(cmd)
    except LinkDown as exc:
        return not_sent(cmd, exc)
    # From here on the command may have left: without the server's answer its
    # outcome is unknown, never "not sent" (docs/control.md, "Outcomes").
    try:
        async with asyncio.timeout(timeout_s):
            return await fut
    except LinkDown as exc:
        return link_failed(cmd, link.name, exc.__cause__)
    except TimeoutError:
        return timed_out(cmd, timeout_s)
    finally:
        link.forget(cmd.command_id)
