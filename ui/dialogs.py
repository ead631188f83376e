"""The confirmation step every command goes through before it is sent.

Selecting an operation in a context menu is step one (the intent is built then,
:mod:`ui.commands`); this dialog is step two. It names the device, the operation
and the control zone, and only an explicit click on the confirm button sends
anything: the default button (the one Enter presses) is Cancel, and Escape or
closing the window cancels too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.control.pipeline import Intent
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.devices import DeviceKind, DeviceRef
from app.model.refusal import Refusal
from ui import style
from ui.i18n import refusal_text


def op_text(op: CommandOp) -> str:
    return {
        CommandOp.THROW_NORMAL: QCoreApplication.translate("Commands", "Throw to normal"),
        CommandOp.THROW_REVERSE: QCoreApplication.translate("Commands", "Throw to reverse"),
        CommandOp.SET_ROUTE: QCoreApplication.translate("Commands", "Set route"),
        CommandOp.CANCEL_ROUTE: QCoreApplication.translate("Commands", "Cancel route"),
        CommandOp.LOCK_SWITCH: QCoreApplication.translate("Commands", "Lock switch (单锁)"),
        CommandOp.UNLOCK_SWITCH: QCoreApplication.translate("Commands", "Unlock switch (单解)"),
        CommandOp.CLOSE_SIGNAL: QCoreApplication.translate("Commands", "Close signal (封闭)"),
        CommandOp.REOPEN_SIGNAL: QCoreApplication.translate("Commands", "Reopen signal (解封)"),
        CommandOp.HOLD_TRAIN: QCoreApplication.translate("Commands", "Hold train (扣车)"),
        CommandOp.RELEASE_TRAIN: QCoreApplication.translate("Commands", "Release train (放行)"),
        CommandOp.COUPLE_TRAIN: QCoreApplication.translate("Commands", "Couple (联挂)"),
        CommandOp.UNCOUPLE_TRAIN: QCoreApplication.translate("Commands", "Uncouple (解编)"),
        CommandOp.INJECT_FAULT: QCoreApplication.translate("Commands", "Inject fault (simulator)"),
        CommandOp.ACK_ALARM: QCoreApplication.translate("Commands", "Acknowledge alarm"),
        CommandOp.SHELVE_ALARM: QCoreApplication.translate("Commands", "Shelve alarm"),
    }.get(op, op.value)


def kind_text(kind: DeviceKind) -> str:
    return {
        DeviceKind.SWITCH: QCoreApplication.translate("Commands", "switch"),
        DeviceKind.SIGNAL: QCoreApplication.translate("Commands", "signal"),
        DeviceKind.ROUTE: QCoreApplication.translate("Commands", "route"),
        DeviceKind.TRAIN: QCoreApplication.translate("Commands", "train"),
    }[kind]


def outcome_text(outcome: Outcome) -> str:
    return {
        Outcome.EXECUTED: QCoreApplication.translate("Commands", "executed"),
        Outcome.REFUSED: QCoreApplication.translate("Commands", "refused"),
        Outcome.FAILED: QCoreApplication.translate("Commands", "failed"),
        Outcome.UNKNOWN: QCoreApplication.translate("Commands", "outcome unknown"),
    }[outcome]


def outcome_look(outcome: Outcome) -> tuple[str, QColor]:
    """The symbol and colour an outcome is shown with (the symbol for colour-blind eyes)."""
    return {
        Outcome.EXECUTED: ("✓", style.LINK_UP),
        Outcome.REFUSED: ("✗", style.ATTENTION),
        Outcome.FAILED: ("!", style.LINK_DOWN),
        # may have been executed: the dispatcher must look at the device
        Outcome.UNKNOWN: ("?", style.ATTENTION),
    }[outcome]


def result_text(result: CommandResult, refusal: Refusal | None = None) -> str:
    """One line for the status bar and the event log; ``refusal``: why, when this
    workstation decided the outcome (translated by code; the server's reasons come
    in its words)."""
    text = QCoreApplication.translate("Commands", "{0} {1}: {2}").format(
        op_text(result.op), result.device, outcome_text(result.outcome)
    )
    if refusal is not None:
        text += f" ({refusal_text(refusal)})"
    elif result.reason:
        text += f" ({result.reason})"
    elif result.reason_code:
        text += f" ({result.reason_code})"
    return text


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command the dispatcher picked: its intent, described for the confirmation dialog."""

    device: DeviceRef
    intent: Intent  # built at the gesture; the one sent on confirmation
    zone: str  # already formatted: "Z2 文庙渡线区 (Wenmiao crossover zone)", or ""
    detail: str = ""

    @property
    def op(self) -> CommandOp:
        return self.intent.op


class ConfirmCommandDialog(QDialog):
    """Asks once more before a command is sent; Cancel is the default."""

    def __init__(self, request: CommandRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle(self.tr("Confirm command"))
        self.setModal(True)
        self.setObjectName("confirmCommandDialog")

        kind = kind_text(request.device.kind)
        what = (kind.capitalize(), request.device.id, op_text(request.op))
        heading = QLabel(self.tr("{0} {1}: {2}?").format(*what))
        heading.setObjectName("heading")
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        heading.setFont(font)

        form = QFormLayout()
        form.addRow(self.tr("Device:"), QLabel(f"{kind} {request.device.id}"))
        form.addRow(self.tr("Operation:"), QLabel(op_text(request.op)))
        form.addRow(self.tr("Control zone:"), QLabel(request.zone or self.tr("(none)")))
        if request.detail:
            detail = QLabel(request.detail)
            detail.setWordWrap(True)
            form.addRow(self.tr("Details:"), detail)

        note = QLabel(
            self.tr("Check the device and the operation on the schematic before confirming.")
        )
        note.setWordWrap(True)

        buttons = QDialogButtonBox()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.confirm_button = QPushButton(
            self.tr("Confirm: {0} {1}").format(op_text(request.op), request.device.id)
        )
        self.confirm_button.setObjectName("confirmButton")
        self.cancel_button.setObjectName("cancelButton")
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        # Enter must never confirm: Cancel is the default and holds the focus.
        self.confirm_button.setAutoDefault(False)
        self.confirm_button.setDefault(False)
        self.cancel_button.setAutoDefault(True)
        self.cancel_button.setDefault(True)
        self.confirm_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self.reject)

        box = QVBoxLayout(self)
        box.addWidget(heading)
        box.addLayout(form)
        box.addWidget(note)
        box.addWidget(buttons)
        self.cancel_button.setFocus(Qt.FocusReason.OtherFocusReason)
