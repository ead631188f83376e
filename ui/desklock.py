"""The desk's lock: after ``login.idle_lock_ms`` without a key or a button (or File ▸
Lock the desk, Ctrl+L), the window stays up and the line keeps moving, but every
key, button, shortcut and context menu is refused except the password field of
the lock panel. Open dialogs (a command's confirmation) are cancelled when it
locks. Only the dispatcher logged in unlocks it, with the password checked
against the directory again, rate-limited like the login. The states and what
moves them are a table (:mod:`app.identity.idle`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.identity import DeskEvent, DeskState, IdleLock, LoginRefusal, LoginRefused
from app.identity.directory import MAX_PASSWORD
from app.model.roles import Role
from ui import style
from ui.login import PasswordCheck, refusal_text, role_text

log = logging.getLogger(__name__)

#: the input that says someone is at the desk (and that a locked desk refuses)
INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
    }
)
#: refused while locked, outside the lock panel
BLOCKED_EVENTS = INPUT_EVENTS | {
    QEvent.Type.KeyRelease,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.Shortcut,
    QEvent.Type.ShortcutOverride,
    QEvent.Type.ContextMenu,
    QEvent.Type.GraphicsSceneMousePress,
    QEvent.Type.GraphicsSceneMouseDoubleClick,
    QEvent.Type.GraphicsSceneContextMenu,
}
TICK_MS = 1000


class LockPanel(QFrame):
    """What a locked desk shows, over the top of the window: who, and the password."""

    def __init__(self, dispatcher: str, role: Role, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("deskLockPanel")
        self.setStyleSheet(
            f"QFrame#deskLockPanel {{ background: #1b1f24; border: 2px solid "
            f"{style.ATTENTION.name()}; border-radius: 6px; }}"
        )
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 6, 10, 6)
        column.setSpacing(4)
        title = QLabel(self.tr("Desk locked: the line stays in view, commands need the password"))
        title.setObjectName("deskLockTitle")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        title.setWordWrap(True)
        column.addWidget(title)
        who = QLabel(self.tr("Logged in: {0} ({1})").format(dispatcher, role_text(role)))
        who.setStyleSheet(f"color: {style.TEXT_SECONDARY.name()};")
        column.addWidget(who)
        row = QHBoxLayout()
        self.password = QLineEdit()
        self.password.setObjectName("deskLockPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(MAX_PASSWORD)
        self.password.setPlaceholderText(self.tr("password of {0}").format(dispatcher))
        self.unlock_button = QPushButton(self.tr("Unlock"))
        self.unlock_button.setObjectName("deskUnlock")
        self.unlock_button.setDefault(True)
        row.addWidget(self.password, 1)
        row.addWidget(self.unlock_button)
        column.addLayout(row)
        self.error = QLabel()
        self.error.setObjectName("deskLockError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {style.LINK_DOWN.name()};")
        self.error.hide()  # shown with a refusal only: the panel stays small
        column.addWidget(self.error)
        self.setFixedWidth(560)
        self.hide()

    def say(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        self.place()

    def place(self) -> None:
        """Centred, below the header and the alarm banner (never over them)."""
        parent = self.parentWidget()
        if parent is None:
            return
        self.adjustSize()
        top = max(120, int(parent.height() * 0.42) - self.height() // 2)
        self.move(max(0, (parent.width() - self.width()) // 2), top)
        self.raise_()


class DeskLock(QObject):
    """The idle lock of one window, for the dispatcher who logged in."""

    lockedChanged = Signal(bool)

    def __init__(
        self,
        window: QMainWindow,
        checker: PasswordCheck,
        *,
        dispatcher: str,
        role: Role,
        idle_ms: int,
        log_event: Callable[[str], None],
        menu: QMenu | None = None,
        before: QAction | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.checker = checker
        self.dispatcher = dispatcher
        self.role = role
        self.idle = IdleLock(idle_ms, clock)
        self._log_event = log_event
        self.panel = LockPanel(dispatcher, role, window)
        self.panel.unlock_button.clicked.connect(self.unlock)
        self.panel.password.returnPressed.connect(self.unlock)
        self.action = QAction(self.tr("&Lock the desk"), window)
        self.action.setObjectName("lockDeskAction")
        self.action.setShortcut(QKeySequence("Ctrl+L"))
        self.action.triggered.connect(self.lock)
        window.addAction(self.action)
        if menu is not None and before is not None:
            menu.insertAction(before, self.action)
        elif menu is not None:
            menu.addAction(self.action)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._count_down)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def locked(self) -> bool:
        return self.idle.state is DeskState.LOCKED

    # -- input ------------------------------------------------------------------------

    def _in_panel(self, obj: QObject) -> bool:
        widget = obj if isinstance(obj, QWidget) else None
        while widget is not None:
            if widget is self.panel:
                return True
            widget = widget.parentWidget()
        return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind is QEvent.Type.Resize and obj is self.window and self.panel.isVisible():
            self.panel.place()
        if not self.locked:
            if kind in INPUT_EVENTS:
                self.idle.handle(DeskEvent.INPUT)
            return False
        if kind in BLOCKED_EVENTS and not self._in_panel(obj):
            if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress):
                self.panel.password.setFocus(Qt.FocusReason.OtherFocusReason)
            event.accept()
            return True
        return False

    # -- states -----------------------------------------------------------------------

    def _tick(self) -> None:
        was = self.idle.state
        if self.idle.tick() is DeskState.LOCKED and was is DeskState.ACTIVE:
            minutes = self.idle.idle_ms / 60_000
            self._entered(self.tr("Desk locked after {0:g} min without input").format(minutes))

    def lock(self) -> None:
        if self.idle.handle(DeskEvent.LOCK) is DeskState.LOCKED and not self.panel.isVisible():
            self._entered(self.tr("Desk locked by {0}").format(self.dispatcher))

    def _entered(self, why: str) -> None:
        log.info("desk locked (%s)", self.dispatcher)
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()  # a command half confirmed is cancelled
            elif isinstance(widget, QMenu) and widget.isVisible():
                widget.close()
        self.panel.say("")
        self.panel.password.clear()
        self.panel.place()
        self.panel.show()
        self.panel.password.setFocus(Qt.FocusReason.OtherFocusReason)
        self._log_event(why)
        self.lockedChanged.emit(True)

    def unlock(self) -> None:
        if not self.locked or self.checker.busy:
            return
        password = self.panel.password.text()
        self.panel.unlock_button.setEnabled(False)
        self.checker.task = asyncio.get_running_loop().create_task(self._unlock(password))

    async def _unlock(self, password: str) -> None:
        try:
            identity = await self.checker.check(self.dispatcher, password)
            if identity.role is not self.role:
                raise LoginRefused(LoginRefusal.ROLE_CHANGED, {"role": role_text(identity.role)})
        except LoginRefused as exc:
            self.panel.password.clear()
            self.panel.say(refusal_text(exc.code, exc.params, self.dispatcher))
            if self.checker.throttle.wait_s(self.dispatcher) > 0:
                self._countdown.start()
                self._count_down()
            else:
                self.panel.unlock_button.setEnabled(True)
            return
        self.idle.handle(DeskEvent.UNLOCK)
        self.panel.hide()
        self.panel.unlock_button.setEnabled(True)
        self._log_event(self.tr("Desk unlocked by {0}").format(self.dispatcher))
        log.info("desk unlocked (%s)", self.dispatcher)
        self.lockedChanged.emit(False)

    def _count_down(self) -> None:
        wait = self.checker.throttle.wait_s(self.dispatcher)
        if wait <= 0:
            self._countdown.stop()
            self.panel.unlock_button.setEnabled(True)
            self.panel.say("")
            return
        self.panel.unlock_button.setEnabled(False)
        self.panel.say(refusal_text(LoginRefusal.THROTTLED, {"wait_s": wait}, self.dispatcher))

    async def aclose(self) -> None:
        self._timer.stop()
        self._countdown.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        await self.checker.aclose()
