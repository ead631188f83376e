"""The delay list: every train running to the timetable, by how late it is.

One row per unit in service with a trip of the plan: its trip number, destination,
delay (minutes; early negative), where its last event was, and, while it stands at a
platform, the countdown to its planned departure (overdue: how long past). Sorted by
delay, latest first, by default; any column sorts on a click. A double click on a row
centres the schematic on the train and selects it (and its line on the train graph).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QHeaderView, QTableView, QWidget

from app.timetable.delays import Punctuality, classify
from app.timetable.times import delay_text
from ui import style
from ui.trains import deviation_colour, punctuality_text

Index = QModelIndex | QPersistentModelIndex
#: the numeric value a column sorts by
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
UNIT_ROLE = Qt.ItemDataRole.UserRole + 2


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # lupdate files a bare tr() under ""


@dataclass(frozen=True, slots=True)
class DelayRow:
    """One train in the list (the desk builds them from the session's service feed)."""

    unit: int
    trip: str
    destination: str
    delay_s: float | None  # None: no actual yet
    at: str  # the station of its last event
    standing: bool
    departs_in_s: float | None  # while standing at a platform: to its planned departure


def countdown_text(seconds: float | None) -> str:
    """``1:05`` to the planned departure; ``-0:40`` past it; "" when not standing."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    return f"{sign}{s // 60}:{s % 60:02d}"


class DelayListDock(QDockWidget):
    """The trains by delay; ``trainActivated(unit)`` on a double click."""

    trainActivated = Signal(int)

    COLUMNS = (
        QCoreApplication.translate("DelayList", "Trip"),
        QCoreApplication.translate("DelayList", "Unit"),
        QCoreApplication.translate("DelayList", "To"),
        QCoreApplication.translate("DelayList", "Delay min"),
        QCoreApplication.translate("DelayList", "Last at"),
        QCoreApplication.translate("DelayList", "Departs in"),
    )

    def __init__(
        self,
        on_time_s: float,
        station_name: Callable[[str], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(tr("Delays"), parent)
        self.setObjectName("delayListDock")
        self.on_time_s = on_time_s
        self.station_name = station_name
        self.model = QStandardItemModel(0, len(self.COLUMNS), self)
        self.model.setHorizontalHeaderLabels(
            [QCoreApplication.translate("DelayList", c) for c in self.COLUMNS]
        )
        self.model.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("delayList")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(self._activated)
        self.setWidget(self.table)

    def rows(self) -> list[tuple[str, ...]]:
        """What the list shows, row by row (tests)."""
        m = self.model
        return [
            tuple(m.item(r, c).text() for c in range(m.columnCount())) for r in range(m.rowCount())
        ]

    def show_rows(self, rows: list[DelayRow]) -> None:
        """Replace the rows, keeping the sort and the selected train."""
        selected = self._selected_unit()
        m = self.model
        m.setRowCount(len(rows))
        for r, row in enumerate(rows):
            p = classify(row.delay_s, self.on_time_s)
            delay = "" if row.delay_s is None else delay_text(row.delay_s)
            cells = (
                (row.trip, row.trip),
                (str(row.unit), row.unit),
                (self.station_name(row.destination), row.destination),
                (delay, row.delay_s if row.delay_s is not None else -1e9),
                (self.station_name(row.at), row.at),
                (
                    countdown_text(row.departs_in_s),
                    row.departs_in_s if row.departs_in_s is not None else 1e9,
                ),
            )
            for c, (text, key) in enumerate(cells):
                item: QStandardItem | None = m.item(r, c)
                if item is None:
                    item = QStandardItem()
                    m.setItem(r, c, item)
                item.setText(text)
                item.setData(key, SORT_ROLE)
                item.setData(row.unit, UNIT_ROLE)
            # the deviation as a coloured cell (black text): readable on any table palette
            delay_item = m.item(r, 3)
            colour = deviation_colour(p) if p in (Punctuality.LATE, Punctuality.EARLY) else None
            delay_item.setData(colour, Qt.ItemDataRole.BackgroundRole)
            delay_item.setData(
                style.TRAIN_TEXT if colour is not None else None, Qt.ItemDataRole.ForegroundRole
            )
            delay_item.setToolTip(punctuality_text(p, delay))
            overdue = row.departs_in_s is not None and row.departs_in_s < 0
            due = m.item(r, 5)
            due.setData(style.GRAPH_LATE if overdue else None, Qt.ItemDataRole.BackgroundRole)
            due.setData(style.TRAIN_TEXT if overdue else None, Qt.ItemDataRole.ForegroundRole)
        self.model.sort(
            self.table.horizontalHeader().sortIndicatorSection(),
            self.table.horizontalHeader().sortIndicatorOrder(),
        )
        if selected is not None:
            self.select_unit(selected)

    def select_unit(self, unit: int) -> None:
        for r in range(self.model.rowCount()):
            if self.model.item(r, 0).data(UNIT_ROLE) == unit:
                self.table.selectRow(r)
                return
        self.table.clearSelection()

    def _selected_unit(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        unit = self.model.item(rows[0].row(), 0).data(UNIT_ROLE)
        return int(unit) if unit is not None else None

    def _activated(self, index: Index) -> None:
        unit = self.model.item(index.row(), 0).data(UNIT_ROLE)
        if unit is not None:
            self.trainActivated.emit(int(unit))

