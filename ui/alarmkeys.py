"""The alarm keys: acknowledge the selected alarms (F9), the page (Shift+F9), silence the
horn (F7), go to the next unacknowledged alarm (F8). Each is one action, in the window's
*Alarms* menu, on the dock's buttons and the banner, its key named in every tooltip
(Help → Keyboard shortcuts reads them off the window)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

ACK_KEY = QKeySequence(Qt.Key.Key_F9)
ACK_PAGE_KEY = QKeySequence("Shift+F9")
SILENCE_KEY = QKeySequence(Qt.Key.Key_F7)
NEXT_KEY = QKeySequence(Qt.Key.Key_F8)


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # lupdate files a bare tr() under ""


def with_key(text: str, action: QAction) -> str:
    """A tooltip that names the action's key."""
    key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    return f"{text} ({key})" if key else text


class AlarmKeys(QObject):
    """The four actions, each calling what it is given."""

    def __init__(
        self,
        owner: QWidget,
        *,
        acknowledge: Callable[[], object],
        acknowledge_page: Callable[[], object],
        silence: Callable[[], object],
        next_unacked: Callable[[], object],
        can_acknowledge: bool,
    ) -> None:
        super().__init__(owner)
        self.ack = self._action(owner, tr("&Acknowledge selected"), "ackSelectedAction", ACK_KEY)
        self.ack_page = self._action(owner, tr("Acknowledge &page"), "ackPageAction", ACK_PAGE_KEY)
        self.silence = self._action(owner, tr("&Silence horn"), "silenceAction", SILENCE_KEY)
        self.next = self._action(
            owner, tr("&Next unacknowledged alarm"), "nextUnackedAction", NEXT_KEY
        )
        self.ack.triggered.connect(acknowledge)
        self.ack_page.triggered.connect(acknowledge_page)
        self.silence.triggered.connect(silence)
        self.next.triggered.connect(next_unacked)
        self.ack.setEnabled(can_acknowledge)
        self.ack_page.setEnabled(can_acknowledge)
        self.ack.setToolTip(with_key(tr("acknowledge the selected alarms"), self.ack))
        self.ack_page.setToolTip(
            with_key(tr("acknowledge the unacknowledged alarms on screen"), self.ack_page)
        )
        self.silence.setToolTip(
            with_key(tr("stop the horn; the alarms stay unacknowledged"), self.silence)
        )
        self.next.setToolTip(
            with_key(tr("select the next unacknowledged alarm and show its device"), self.next)
        )

    def _action(self, owner: QWidget, text: str, name: str, key: QKeySequence) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setShortcut(key)
        owner.addAction(action)  # the keys work in the dock when it floats, too
        return action

    @property
    def all(self) -> list[QAction]:
        return [self.ack, self.ack_page, self.silence, self.next]

    def fill(self, menu: QMenu) -> None:
        for action in self.all:
            menu.addAction(action)
