"""The start dialog: who sits at the desk, proved by a password against the directory.

Shown when the HMI starts (not for ``--screenshot``, ``--quit-after``,
``--no-login`` or ``--dispatcher``: scripted runs and the bench). The dispatcher
id is pre-filled with the last one used on this machine by this user
(QSettings), else the workstation file's. The password is checked against the
directory (:class:`app.identity.RedisDirectory`, docs/security.md); the role is
the directory's, never chosen here. Wrong passwords slow the next try
(:class:`app.identity.LoginThrottle`), with a countdown. The server checks the
role again on every command (``docs/control.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from asyncio import FIRST_COMPLETED
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.config.workstation import Workstation, dispatcher_id_problem
from app.identity import Identity, LoginRefusal, LoginRefused, LoginThrottle, RedisDirectory
from app.identity.directory import MAX_PASSWORD
from app.model.roles import Role
from ui import style

log = logging.getLogger(__name__)


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


def role_text(role: Role) -> str:
    """A role in words, as the directory gives it."""
    texts = {
        Role.DISPATCHER: QCoreApplication.translate("LoginDialog", "dispatcher"),
        Role.SUPERVISOR: QCoreApplication.translate("LoginDialog", "supervisor"),
        Role.OBSERVER: QCoreApplication.translate("LoginDialog", "observer"),
    }
    return texts[role]


def refusal_text(code: LoginRefusal, params: Mapping[str, Any], dispatcher: str) -> str:
    """A login refusal in the dispatcher's language (the code is a value, never parsed)."""
    translate = QCoreApplication.translate
    if code is LoginRefusal.BAD_NAME:
        return check_dispatcher_id(dispatcher) or ""
    if code is LoginRefusal.NO_PASSWORD:
        return translate("LoginDialog", "enter your password")
    if code is LoginRefusal.WRONG_PASSWORD:
        return translate("LoginDialog", "wrong dispatcher id or password")
    if code is LoginRefusal.NO_ROLE:
        return translate(
            "LoginDialog", "the directory gives {0} no role: ask the administrator"
        ).format(dispatcher)
    if code is LoginRefusal.BAD_ROLE:
        return translate(
            "LoginDialog", "the directory gives {0} an unknown role '{1}': ask the administrator"
        ).format(dispatcher, params.get("value", ""))
    if code is LoginRefusal.UNAVAILABLE:
        return translate(
            "LoginDialog",
            "the directory does not answer (Redis {0}): try again, or call the administrator",
        ).format(params.get("address", ""))
    if code is LoginRefusal.THROTTLED:
        return translate("LoginDialog", "too many wrong passwords: try again in {0} s").format(
            math.ceil(float(params.get("wait_s", 0)))
        )
    if code is LoginRefusal.ROLE_CHANGED:
        return translate(
            "LoginDialog", "the directory now gives {0} the role {1}: quit and log in again"
        ).format(dispatcher, params.get("role", ""))
    return code.value  # type: ignore[unreachable]  # a code added without its words


class PasswordCheck:
    """One password check at a time, with the rate limit: shared by the login and the lock.

    ``finished(identity_or_None, refusal_or_None)`` is called on the loop when done.
    """

    def __init__(self, directory: RedisDirectory, throttle: LoginThrottle) -> None:
        self.directory = directory
        self.throttle = throttle
        self.task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    async def check(self, dispatcher: str, password: str) -> Identity:
        """The identity, or :class:`LoginRefused` (``throttled`` with its wait included)."""
        wait = self.throttle.wait_s(dispatcher)
        if wait > 0:
            raise LoginRefused(LoginRefusal.THROTTLED, {"wait_s": wait})
        try:
            identity = await self.directory.verify(dispatcher, password)
        except LoginRefused as exc:
            if exc.code is LoginRefusal.WRONG_PASSWORD:
                log.warning("login refused for %s: wrong password", dispatcher)
                self.throttle.failed(dispatcher)
            elif exc.code is LoginRefusal.UNAVAILABLE:
                exc.params = {**exc.params, "address": self.directory.address}
            raise
        self.throttle.succeeded(dispatcher)
        return identity

    async def aclose(self) -> None:
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class LoginDialog(QDialog):
    def __init__(
        self,
        ws: Workstation,
        settings: QSettings,
        checker: PasswordCheck,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle(self.tr("Dispatcher workstation {0}").format(ws.id))
        self.settings = settings
        self.checker = checker
        self.identity: Identity | None = None
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
        self.password = QLineEdit()
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(MAX_PASSWORD)
        form.addRow(self.tr("Dispatcher id"), self.dispatcher)
        form.addRow(self.tr("Password"), self.password)
        column.addLayout(form)
        where = QLabel(
            self.tr("Checked against the directory (Redis {0}); your role comes from it.").format(
                checker.directory.address
            )
        )
        where.setObjectName("loginWhere")
        where.setStyleSheet(f"color: {style.TEXT_MUTED.name()};")
        where.setWordWrap(True)
        column.addWidget(where)
        self.error = QLabel()
        self.error.setObjectName("loginError")
        self.error.setStyleSheet(f"color: {style.LINK_DOWN.name()};")
        self.error.setWordWrap(True)
        column.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText(self.tr("Log in"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        column.addWidget(self.buttons)
        self.dispatcher.textChanged.connect(self._edited)
        self.password.textChanged.connect(self._edited)
        self.countdown = QTimer(self)
        self.countdown.setInterval(250)
        self.countdown.timeout.connect(self._count_down)
        if self.dispatcher.text():
            self.password.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.dispatcher.setFocus(Qt.FocusReason.OtherFocusReason)
        self.resize(480, 0)

    def _edited(self, _text: str) -> None:
        if not self.countdown.isActive():
            self.error.clear()

    def _count_down(self) -> None:
        """While the rate limit holds: the countdown, and no Log in."""
        name = self.dispatcher.text().strip()
        wait = self.checker.throttle.wait_s(name)
        if wait <= 0:
            self.countdown.stop()
            self.start_button.setEnabled(True)
            self.error.setText(self.tr("you may try again"))
            return
        self.start_button.setEnabled(False)
        self.error.setText(refusal_text(LoginRefusal.THROTTLED, {"wait_s": wait}, name))

    def accept(self) -> None:
        """Check the password (on the loop); the dialog closes only on a right one."""
        if self.checker.busy:
            return
        dispatcher = self.dispatcher.text().strip()
        problem = check_dispatcher_id(dispatcher)
        if problem is not None:
            self.error.setText(problem)
            return
        password = self.password.text()
        self.start_button.setEnabled(False)
        self.error.setStyleSheet(f"color: {style.TEXT_MUTED.name()};")
        self.error.setText(self.tr("checking…"))
        self.checker.task = asyncio.get_running_loop().create_task(
            self._check(dispatcher, password)
        )

    async def _check(self, dispatcher: str, password: str) -> None:
        try:
            identity = await self.checker.check(dispatcher, password)
        except LoginRefused as exc:
            self.password.clear()  # first: typing clears the complaint
            self.error.setStyleSheet(f"color: {style.LINK_DOWN.name()};")
            self.error.setText(refusal_text(exc.code, exc.params, dispatcher))
            self.password.setFocus(Qt.FocusReason.OtherFocusReason)
            if self.checker.throttle.wait_s(dispatcher) > 0:
                self.countdown.start()
                self._count_down()
            else:
                self.start_button.setEnabled(True)
            return
        self.identity = identity
        self.settings.setValue("login/dispatcher", identity.dispatcher)
        self.settings.sync()
        log.info("%s logged in as %s", identity.dispatcher, identity.role.value)
        super().accept()


async def ask_identity(
    ws: Workstation,
    checker: PasswordCheck,
    settings: QSettings | None = None,
    stopping: asyncio.Event | None = None,
) -> Workstation | None:
    """Show the login; the workstation with the proved identity, None if cancelled
    (or ``stopping`` is set meanwhile: a stop signal closes the dialog)."""
    dialog = LoginDialog(ws, settings if settings is not None else QSettings(), checker)
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not done.done():
            done.set_result(result)

    dialog.finished.connect(finished)
    dialog.open()
    stop: asyncio.Future[Any] | None = (
        asyncio.ensure_future(stopping.wait()) if stopping is not None else None
    )
    waited: list[asyncio.Future[Any]] = [done] if stop is None else [done, stop]
    try:
        await asyncio.wait(waited, return_when=FIRST_COMPLETED)
        if not done.done():
            dialog.reject()  # stopped while asked: nobody logged in
        result = await done
    finally:
        if stop is not None:
            stop.cancel()
        await checker.aclose()
        dialog.deleteLater()
    if result != QDialog.DialogCode.Accepted or dialog.identity is None:
        return None
    identity = dialog.identity
    return dataclasses.replace(ws, dispatcher=identity.dispatcher, role=identity.role)
