"""The confirmation step every command goes through before it is sent.

Selecting an operation in a context menu is step one (the intent is built then,
:mod:`ui.commands`); this dialog is step two. It names the device, the operation
and the control zone, and only the confirm button sends anything: the default
button (the one Enter presses) is Cancel, Enter presses the confirm button only
when the dispatcher has moved the focus to it (Tab; the focus is framed), and
Escape or closing the window cancels.

It opens away from the device it asks about (:func:`away_from`), so the device
stays in sight; :mod:`ui.commands` frames the device on the schematic while the
dialog is open. When the line state already shows what the interlocking will
refuse (:mod:`app.model.foresee`), the dialog says so and so does its button.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QKeyEvent
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
from ui.i18n import refusal_text, server_reason_text


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


def result_text(
    result: CommandResult, refusal: Refusal | None = None, name: str | None = None
) -> str:
    """One line for the status bar and the event log; ``refusal``: why, when this
    workstation decided the outcome (translated by code; the server's by their form,
    an old server's in its words); ``name``: the device as the dispatcher knows it (a
    train's number, :func:`ui.names.device_name`), its id if not given."""
    text = QCoreApplication.translate("Commands", "{0} {1}: {2}").format(
        op_text(result.op), name or result.device, outcome_text(result.outcome)
    )
    if refusal is not None:
        text += f" ({refusal_text(refusal)})"
    elif result.reason or result.reason_code:
        text += f" ({server_reason_text(result)})"
    return text


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command the dispatcher picked: its intent, described for the confirmation dialog."""

    device: DeviceRef
    intent: Intent  # built at the gesture; the one sent on confirmation
    zone: str  # already formatted: "Z2 文庙渡线区 (Wenmiao crossover zone)", or ""
    detail: str = ""
    #: the device as the dispatcher knows it ("train 0101", "W0602"); its id if ""
    name: str = ""
    #: what the interlocking will refuse, foreseen from the state shown ("" if nothing)
    foreseen: str = ""

    @property
    def op(self) -> CommandOp:
        return self.intent.op

    @property
    def device_name(self) -> str:
        return self.name or self.device.id


def away_from(size: QSize, avoid: QRect, area: QRect, margin: int = 24) -> QPoint:
    """Where a window of ``size`` goes inside ``area`` (both global) so that it keeps
    clear of ``avoid`` (the device asked about): on the side of ``area`` with more room
    beside ``avoid``, or above or below it when neither side has room enough."""
    w, h = size.width(), size.height()
    left_room = avoid.left() - area.left()
    right_room = area.right() - avoid.right()
    top_room = avoid.top() - area.top()
    bottom_room = area.bottom() - avoid.bottom()

    def clamp(v: int, lo: int, hi: int) -> int:
        return max(lo, min(v, hi)) if hi >= lo else lo

    y_mid = clamp(area.center().y() - h // 2, area.top() + margin, area.bottom() - margin - h)
    if max(left_room, right_room) >= w + 2 * margin:
        # the roomier side, at the area's edge (the far side from the device)
        x = area.right() - margin - w if right_room >= left_room else area.left() + margin
        return QPoint(x, y_mid)
    x_mid = clamp(area.center().x() - w // 2, area.left() + margin, area.right() - margin - w)
    if bottom_room >= top_room:
        return QPoint(x_mid, max(avoid.bottom() + margin, area.bottom() - margin - h))
    return QPoint(x_mid, min(avoid.top() - margin - h, area.top() + margin))


#: the focus frame of the dialog's buttons: Enter presses the button that has it
FOCUS_SHEET = (
    "QPushButton {{ padding: 5px 14px; border: 1px solid #56606b; border-radius: 3px;"
    " background: #3a4047; }}"
    "QPushButton:focus {{ border: 3px solid {0}; padding: 3px 12px; }}"
    "QPushButton:hover {{ background: #454c54; }}"
)


class ConfirmCommandDialog(QDialog):
    """Asks once more before a command is sent; Cancel is the default."""

    def __init__(self, request: CommandRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle(self.tr("Confirm command"))
        self.setModal(True)
        self.setObjectName("confirmCommandDialog")

        kind = kind_text(request.device.kind)
        name = request.device_name
        what = (kind.capitalize(), name, op_text(request.op))
        heading = QLabel(self.tr("{0} {1}: {2}?").format(*what))
        heading.setObjectName("heading")
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        heading.setFont(font)

        form = QFormLayout()
        form.addRow(self.tr("Device:"), QLabel(f"{kind} {name}"))
        form.addRow(self.tr("Operation:"), QLabel(op_text(request.op)))
        form.addRow(self.tr("Control zone:"), QLabel(request.zone or self.tr("(none)")))
        if request.detail:
            detail = QLabel(request.detail)
            detail.setWordWrap(True)
            form.addRow(self.tr("Details:"), detail)

        self.warning: QLabel | None = None
        if request.foreseen:
            self.warning = QLabel(
                self.tr("Expect a refusal: the server will refuse this: {0}.").format(
                    request.foreseen
                )
            )
            self.warning.setObjectName("foreseenRefusal")
            self.warning.setWordWrap(True)
            self.warning.setStyleSheet(
                f"color: {style.ATTENTION.name()}; font-weight: bold;"
                f" border: 1px solid {style.ATTENTION.name()}; padding: 4px;"
            )

        note = QLabel(
            self.tr(
                "Check the device and the operation on the schematic (framed) before confirming."
            )
        )
        note.setWordWrap(True)

        buttons = QDialogButtonBox()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        if request.foreseen:
            label = self.tr("Send anyway (will be refused): {0} {1}")
        else:
            label = self.tr("Confirm: {0} {1}")
        self.confirm_button = QPushButton(label.format(op_text(request.op), name))
        self.confirm_button.setObjectName("confirmButton")
        self.cancel_button.setObjectName("cancelButton")
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        # Enter never confirms by default: Cancel is the default and holds the focus;
        # only with the focus moved to the confirm button (framed) does Enter press it.
        self.confirm_button.setAutoDefault(False)
        self.confirm_button.setDefault(False)
        self.cancel_button.setAutoDefault(True)
        self.cancel_button.setDefault(True)
        self.confirm_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self.reject)

        box = QVBoxLayout(self)
        box.addWidget(heading)
        box.addLayout(form)
        if self.warning is not None:
            box.addWidget(self.warning)
        box.addWidget(note)
        box.addWidget(buttons)
        self.setStyleSheet(FOCUS_SHEET.format(style.TARGET.name()))
        self.cancel_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.focusWidget() is self.confirm_button
        ):
            self.confirm_button.click()
            return
        super().keyPressEvent(event)

    def place_away(self, avoid: QRect, area: QRect) -> None:
        """Move the dialog inside ``area`` clear of ``avoid`` (global coordinates)."""
        self.adjustSize()
        self.move(away_from(self.sizeHint().expandedTo(self.size()), avoid, area))
