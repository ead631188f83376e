"""Commands a dispatcher sends, and the server's answer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandOp(StrEnum):
    THROW_NORMAL = "throw_normal"
    THROW_REVERSE = "throw_reverse"
    SET_ROUTE = "set_route"
    CANCEL_ROUTE = "cancel_route"


class Outcome(StrEnum):
    EXECUTED = "executed"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Command:
    """One send of one dispatcher intent. A retry keeps ``idempotency_key``."""

    command_id: str
    device: str
    op: CommandOp
    dispatcher: str
    role: str
    zone: str = ""
    idempotency_key: str = ""
    fencing_token: int = 0


@dataclass(frozen=True, slots=True)
class CommandResult:
    command_id: str
    device: str
    op: CommandOp
    outcome: Outcome
    reason_code: str = ""
    reason: str = ""
