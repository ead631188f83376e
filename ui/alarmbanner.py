"""The alarm banner: a strip under the header, outside every dock, that always shows the
newest most urgent unacknowledged alarm, the counts per priority (unacknowledged /
shown) and the horn's state (issue 18: the alarm list could vanish behind a tab).

It flashes while the horn sounds (the only signal where there is no audio device);
a click on it shows that alarm in the list.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.alarms.records import Priority
from app.alarms.rows import AlarmRow, PriorityCounts
from ui import style
from ui.alarmtable import PRIORITY_LOOK

FLASH_BG = "#5a1e1e"
QUIET_BG = "#1d2024"


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # lupdate files a bare tr() under ""


class AlarmBanner(QFrame):
    """One line: the alarm, the counts, the horn; :meth:`show_alarm` and friends fill it."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 4, 2)
        row.setSpacing(10)
        self.alarm = QLabel()
        self.alarm.setObjectName("alarmBannerText")
        self.alarm.setTextFormat(Qt.TextFormat.RichText)
        self.alarm.setMinimumWidth(120)
        row.addWidget(self.alarm, 1)
        self.counts = QLabel()
        self.counts.setObjectName("alarmBannerCounts")
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.counts.setToolTip(tr("unacknowledged / shown, per priority"))
        row.addWidget(self.counts)
        self.horn = QLabel()
        self.horn.setObjectName("alarmBannerHorn")
        row.addWidget(self.horn)
        self._buttons = row
        self.flashing = False
        self._style()

    def add_action(self, action: QAction) -> QToolButton:
        """A button for one of the alarm actions (silence, next unacknowledged)."""
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setAutoRaise(True)
        button.setCursor(Qt.CursorShape.ArrowCursor)
        self._buttons.addWidget(button)
        return button

    def text(self) -> str:
        return self.alarm.text()

    def show_alarm(self, row: AlarmRow | None, station: str, device: str, message: str) -> None:
        if row is None:
            none = tr("No unacknowledged alarms")  # not in the f-string: lupdate finds it here
            self.alarm.setText(f'<span style="color:{style.TEXT_SECONDARY.name()}">{none}</span>')
            return
        shape, colour = PRIORITY_LOOK[row.event.priority]
        self.alarm.setText(
            f'<b><span style="color:{colour.name()}">{shape} {int(row.event.priority)}</span></b>'
            f"&nbsp; {station} · {device} · <b>{message}</b>"
        )

    def show_counts(self, counts: dict[Priority, PriorityCounts]) -> None:
        parts = []
        for p, c in counts.items():
            shape, colour = PRIORITY_LOOK[p]
            weight = "bold" if c.unacked else "normal"
            parts.append(
                f'<span style="color:{colour.name()}; font-weight:{weight}">{shape}{int(p)}</span>'
                f" {c.unacked}/{c.total}"
            )
        self.counts.setText("&nbsp;&nbsp;".join(parts))

    def show_horn(self, text: str, sounding: bool) -> None:
        self.horn.setText(text)
        colour = style.ATTENTION if sounding else style.TEXT_SECONDARY
        self.horn.setStyleSheet(f"color: {colour.name()};")

    def set_flash(self, on: bool) -> None:
        if on != self.flashing:
            self.flashing = on
            self._style()

    def _style(self) -> None:
        bg = FLASH_BG if self.flashing else QUIET_BG
        self.setStyleSheet(
            f"QFrame#alarmBanner {{ background: {bg}; border-bottom: 1px solid #3a4047; }}"
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)
