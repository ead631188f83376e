"""The event log: what happened at this desk, newest first, with the time (bounded)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QDockWidget, QListWidget, QWidget

from app.clock import ClockMs, wall_ms
from ui.clock import time_text

LOG_LIMIT = 500


class EventLogDock(QDockWidget):
    def __init__(self, tz: dt.tzinfo | None, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Event log"), parent)
        self.setObjectName("eventLogDock")
        self.tz = tz
        #: the clock its lines are stamped by (a replay's clock in replay mode)
        self.clock_ms: ClockMs = wall_ms
        self.list = QListWidget()
        self.list.setObjectName("eventLog")
        self.list.setAlternatingRowColors(False)
        self.setWidget(self.list)
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )

    def log(self, text: str) -> None:
        self.list.insertItem(0, f"{time_text(self.clock_ms(), self.tz)}  {text}")
        while self.list.count() > LOG_LIMIT:
            self.list.takeItem(self.list.count() - 1)

    def lines(self) -> list[str]:
        """The log as text, newest first (for tests and copying)."""
        return [self.list.item(i).text() for i in range(self.list.count())]
