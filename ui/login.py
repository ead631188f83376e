"""The start dialog: who sits at the desk, and in which role.

Shown when the HMI starts (not for ``--screenshot``, ``--quit-after``, or
when ``--dispatcher`` is given). It is pre-filled with the last choice made
on this machine by this user (QSettings), else the workstation file's. The
role decides what the window offers: an observer gets no command entries, a
supervisor may also switch a zone's mode and force a transfer. The server
checks the role again on every command (``docs/control.md``).
"""

from __future__ import annotations

import asyncio
import dataclasses

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.config.workstation import Workstation, dispatcher_id_problem
from app.model.roles import Role
from ui import style


def check_dispatcher_id(text: str) -> str | None:
    """None when ``text`` is a usable dispatcher id, else what is wrong (translated)."""
    if not text:
        return QCoreApplication.translate("LoginDialog", "enter your dispatcher id")
    if dispatcher_id_problem(text) is not None:
        return QCoreApplication.translate(
            "LoginDialog",
            "a dispatcher id is 1 to 32 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
        )
    return None


class LoginDialog(QDialog):
    def __init__(self, ws: Workstation, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle(self.tr("Dispatcher workstation {0}").format(ws.id))
        self.settings = settings
        column = QVBoxLayout(self)
        title = QLabel(self.tr("Who is at this desk?"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        column.addWidget(title)
        form = QFormLayout()
        self.dispatcher = QLineEdit(str(settings.value("login/dispatcher", ws.dispatcher)))
        self.dispatcher.setObjectName("loginDispatcher")
        self.dispatcher.setMaxLength(32)
        self.role = QComboBox()
        self.role.setObjectName("loginRole")
        for role, text in (
            (Role.DISPATCHER, self.tr("dispatcher: commands in the zones held")),
            (Role.SUPERVISOR, self.tr("supervisor: also zone modes and forced transfers")),
            (Role.OBSERVER, self.tr("observer: watches, never commands")),
        ):
            self.role.addItem(text, role.value)
        saved = str(settings.value("login/role", ws.role.value))
        index = self.role.findData(saved)
        self.role.setCurrentIndex(index if index >= 0 else 0)
        form.addRow(self.tr("Dispatcher id"), self.dispatcher)
        form.addRow(self.tr("Role"), self.role)
        column.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("loginError")
        self.error.setStyleSheet(f"color: {style.LINK_DOWN.name()};")
        self.error.setWordWrap(True)
        column.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Start"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        column.addWidget(self.buttons)
        self.dispatcher.textChanged.connect(lambda _t: self.error.clear())
        self.dispatcher.selectAll()
        self.dispatcher.setFocus(Qt.FocusReason.OtherFocusReason)
        self.resize(460, 0)

    def choice(self) -> tuple[str, Role]:
        return self.dispatcher.text().strip(), Role(self.role.currentData())

    def accept(self) -> None:
        dispatcher, role = self.choice()
        problem = check_dispatcher_id(dispatcher)
        if problem is not None:
            self.error.setText(problem)
            return
        self.settings.setValue("login/dispatcher", dispatcher)
        self.settings.setValue("login/role", role.value)
        self.settings.sync()
        super().accept()


async def ask_identity(ws: Workstation, settings: QSettings | None = None) -> Workstation | None:
    """Show the start dialog; the workstation with the chosen identity, None if cancelled."""
    dialog = LoginDialog(ws, settings if settings is not None else QSettings())
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not done.done():
            done.set_result(result)

    dialog.finished.connect(finished)
    dialog.open()
    try:
        result = await done
    finally:
        dialog.deleteLater()
    if result != QDialog.DialogCode.Accepted:
        return None
    dispatcher, role = dialog.choice()
    return dataclasses.replace(ws, dispatcher=dispatcher, role=role)
