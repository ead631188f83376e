"""The command log dock: every intent of this workstation, from "sending" to its outcome.

Newest first, bounded. The outcome is told by a symbol as well as a colour
(✓ executed, ✗ refused, ! failed, … in flight, = joined an identical one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.clock import ClockMs, wall_ms
from app.control.pipeline import CommandRecord, Intent
from ui import style
from ui.clock import time_text
from ui.dialogs import op_text, outcome_look, outcome_text
from ui.i18n import refusal_text, server_reason_text

LIMIT = 500


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


class CommandLogDock(QDockWidget):
    COLUMNS = 8  # time, dispatcher, device, operation, zone, outcome, reason, token

    def __init__(self, dispatcher: str, tz: dt.tzinfo | None, parent: QWidget | None = None):
        super().__init__(tr("Command log"), parent)
        self.setObjectName("commandLogDock")
        self.dispatcher = dispatcher
        self._tz = tz
        #: the clock its rows are stamped by (a replay's clock in replay mode)
        self.clock_ms: ClockMs = wall_ms
        self.table = QTableWidget(0, self.COLUMNS)
        self.table.setObjectName("commandLog")
        self.table.setHorizontalHeaderLabels(
            [
                tr("Time"),
                tr("Dispatcher"),
                tr("Device"),
                tr("Operation"),
                tr("Zone"),
                tr("Outcome"),
                tr("Reason"),
                tr("Token"),
            ]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.setWidget(self.table)
        self._rows_by_key: dict[str, QTableWidgetItem] = {}  # key -> its time cell (in flight)
        #: a device as the dispatcher knows it (a train by its number); the command flow sets it
        self.namer: Callable[[str], str] = str

    def _now(self) -> str:
        return time_text(self.clock_ms(), self._tz)

    def _insert(self, values: list[str], colour: QColor) -> QTableWidgetItem:
        self.table.insertRow(0)
        first = QTableWidgetItem(values[0])
        self.table.setItem(0, 0, first)
        for col, value in enumerate(values[1:], 1):
            self.table.setItem(0, col, QTableWidgetItem(value))
        self._colour_row(0, colour)
        while self.table.rowCount() > LIMIT:
            self.table.removeRow(self.table.rowCount() - 1)
        return first

    def _colour_row(self, row: int, colour: QColor) -> None:
        item = self.table.item(row, 5)
        if item is not None:
            item.setForeground(colour)

    def on_started(self, intent: Intent) -> None:
        first = self._insert(
            [
                self._now(),
                self.dispatcher,
                self.namer(intent.device),
                op_text(intent.op),
                intent.zone,
                "… " + tr("sending"),
                "",
                "",
            ],
            style.TEXT_SECONDARY,
        )
        self._rows_by_key[intent.key] = first

    def on_finished(self, rec: CommandRecord) -> None:
        result = rec.result
        if rec.joined:
            symbol, colour = "=", style.TEXT_SECONDARY
            outcome = tr("joined: {0}").format(outcome_text(result.outcome))
            reason = tr("an identical command was already sent; nothing sent again")
        else:
            symbol, colour = outcome_look(result.outcome)
            outcome = outcome_text(result.outcome)
            reason = (
                refusal_text(rec.refusal) if rec.refusal is not None else server_reason_text(result)
            )
        values = [
            self._now(),
            self.dispatcher,
            self.namer(rec.intent.device),
            op_text(rec.intent.op),
            rec.intent.zone,
            f"{symbol} {outcome}",
            reason,
            str(rec.fencing_token) if rec.fencing_token else "",
        ]
        first = self._rows_by_key.pop(rec.intent.key, None)
        row = self.table.row(first) if first is not None else -1
        if row < 0:
            self._insert(values, colour)
            return
        for col, value in enumerate(values[1:], 1):
            item = self.table.item(row, col)
            if item is not None:
                item.setText(value)
        self._colour_row(row, colour)

    def rows(self) -> list[list[str]]:
        """The table as text, newest first (for tests and copying)."""
        out = []
        for r in range(self.table.rowCount()):
            row = []
            for c in range(self.COLUMNS):
                item = self.table.item(r, c)
                row.append(item.text() if item is not None else "")
            out.append(row)
        return out
