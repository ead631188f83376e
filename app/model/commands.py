"""Commands a dispatcher sends, and the server's answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class CommandOp(StrEnum):
    THROW_NORMAL = "throw_normal"
    THROW_REVERSE = "throw_reverse"
    SET_ROUTE = "set_route"
    CANCEL_ROUTE = "cancel_route"
    LOCK_SWITCH = "lock_switch"
    UNLOCK_SWITCH = "unlock_switch"
    CLOSE_SIGNAL = "close_signal"
    REOPEN_SIGNAL = "reopen_signal"
    HOLD_TRAIN = "hold_train"
    RELEASE_TRAIN = "release_train"
    COUPLE_TRAIN = "couple_train"  # 联挂: with the unit standing end to end with it
    UNCOUPLE_TRAIN = "uncouple_train"  # 解编: split the train's consist
    INJECT_FAULT = "inject_fault"  # simulator only: arg KIND[:SECONDS] (docs/coupling.md)
    ACK_ALARM = "ack_alarm"
    SHELVE_ALARM = "shelve_alarm"  # arg: minutes


#: What each operation's ``device`` names.
OP_DEVICE_KIND: dict[CommandOp, str] = {
    CommandOp.THROW_NORMAL: "switch",
    CommandOp.THROW_REVERSE: "switch",
    CommandOp.LOCK_SWITCH: "switch",
    CommandOp.UNLOCK_SWITCH: "switch",
    CommandOp.SET_ROUTE: "route",
    CommandOp.CANCEL_ROUTE: "route",
    CommandOp.CLOSE_SIGNAL: "signal",
    CommandOp.REOPEN_SIGNAL: "signal",
    CommandOp.HOLD_TRAIN: "train",
    CommandOp.RELEASE_TRAIN: "train",
    CommandOp.COUPLE_TRAIN: "train",
    CommandOp.UNCOUPLE_TRAIN: "train",
    CommandOp.INJECT_FAULT: "train",
    CommandOp.ACK_ALARM: "alarm",  # device: the alarm id
    CommandOp.SHELVE_ALARM: "alarm",
}

#: A train is not in the line file; commands name it ``train:<id>`` (TrainState.id,
#: stable for the train's life, unlike its number, which changes every trip).
TRAIN_DEVICE_PREFIX = "train:"


def train_device(train_id: int) -> str:
    """The command device id of train ``train_id``."""
    return f"{TRAIN_DEVICE_PREFIX}{train_id}"


def lock_resource(device: str) -> str:
    """The name of ``device``'s lock (and fence counter) in the lock service."""
    return f"device:{device}"


def parse_train_device(device: str) -> int | None:
    """The train id in a ``train:<id>`` device id, or None if ``device`` names no train."""
    if not device.startswith(TRAIN_DEVICE_PREFIX):
        return None
    digits = device[len(TRAIN_DEVICE_PREFIX) :]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 5:
        return None
    train_id = int(digits)
    # one spelling per train: "train:07" is not train 7
    return train_id if str(train_id) == digits and train_id <= 0xFFFF else None


class Outcome(StrEnum):
    """What became of a command, as far as this workstation can know."""

    EXECUTED = "executed"  # the server carried it out
    REFUSED = "refused"  # decided against, by the server or before sending; not executed
    FAILED = "failed"  # nothing reached the server: not sent, not executed
    # It may have left and the answer was lost: it may have been executed. Check the
    # device; a new intent would be a second command (only the same key is safe).
    UNKNOWN = "unknown"


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
    arg: str = ""  # an operation's parameter (shelve_alarm: minutes); optional on the wire


@dataclass(frozen=True, slots=True)
class CommandResult:
    command_id: str
    device: str
    op: CommandOp
    outcome: Outcome
    reason_code: str = ""
    reason: str = ""
    #: the sentence ``reason`` is (a form of app/model/server_reasons.py) and its
    #: parameters, for a view to word in its language; "" and {} from an old server
    reason_form: str = ""
    reason_params: dict[str, str] = field(default_factory=dict)


class CommandSender(Protocol):
    """What sends a command to the master and reports its outcome (the session; the
    pipeline and the alarm acknowledgements send through it). Never raises: a
    failure is an outcome (``docs/control.md``, "Outcomes")."""

    role: str  # a Role's value

    async def command(
        self,
        device: str,
        op: CommandOp,
        *,
        idempotency_key: str = "",
        fencing_token: int = 0,
        zone: str | None = None,
        arg: str = "",
    ) -> CommandResult: ...
