"""What a dispatcher's gesture points at: a device of the line, by kind and id.

A :class:`DeviceRef` is built where the gesture happens (a context menu, a
shortcut, a dock button) and travels with the command: the confirmation dialog
names the device by it, and its ``id`` is the device the command pipeline is
asked about and sends to (``docs/control.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.model.commands import parse_train_device, train_device


class DeviceKind(StrEnum):
    """The kinds of device a dispatcher commands (``OP_DEVICE_KIND``'s line devices)."""

    SWITCH = "switch"
    SIGNAL = "signal"
    ROUTE = "route"
    TRAIN = "train"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """One device: its kind, and its id as commands name it.

    ``id`` is the line file's id for a switch, a signal or a route (``W0602``,
    ``X0104``, ``R_X0104_X0106``), and ``train:<id>`` for a train (see
    :func:`~app.model.commands.train_device`). ``kind`` may be given as its text
    (``DeviceRef("switch", "W0602")``); an unknown kind raises ``ValueError``.
    """

    kind: DeviceKind
    id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DeviceKind(self.kind))

    @classmethod
    def train(cls, train_id: int) -> DeviceRef:
        """Train ``train_id`` (its ``TrainState.id``), as commands name it."""
        return cls(DeviceKind.TRAIN, train_device(train_id))

    @property
    def train_id(self) -> int | None:
        """The train's id for a train, else None."""
        return parse_train_device(self.id) if self.kind is DeviceKind.TRAIN else None

    def __str__(self) -> str:
        return self.id
