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
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
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


class DelayModel(QAbstractTableModel):
    """The rows as a table: texts, the values they sort by, the deviation's colours.
    Replaced whole once a second (one reset, not a signal per cell)."""

    COLUMNS = (
        QT_TRANSLATE_NOOP("DelayList", "Trip"),
        QT_TRANSLATE_NOOP("DelayList", "Unit"),
        QT_TRANSLATE_NOOP("DelayList", "To"),
        QT_TRANSLATE_NOOP("DelayList", "Delay min"),
        QT_TRANSLATE_NOOP("DelayList", "Last at"),
        QT_TRANSLATE_NOOP("DelayList", "Departs in"),
    )

    def __init__(self, on_time_s: float, station_name: Callable[[str], str]) -> None:
        super().__init__()
        self.on_time_s = on_time_s
        self.station_name = station_name
        self.rows: list[DelayRow] = []
        self._cells: list[tuple[tuple[str, float | str], ...]] = []
        self._looks: list[tuple[Punctuality, str]] = []

    def set_rows(self, rows: list[DelayRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self._cells = []
        self._looks = []
        for row in rows:
            p = classify(row.delay_s, self.on_time_s)
            delay = "" if row.delay_s is None else delay_text(row.delay_s)
            self._looks.append((p, delay))
            self._cells.append(
                (
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
            )
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("DelayList", str(self.COLUMNS[section]))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r, c = index.row(), index.column()
        if not (0 <= r < len(self._cells)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[r][c][0]
        if role == SORT_ROLE:
            return self._cells[r][c][1]
        if role == UNIT_ROLE:
            return self.rows[r].unit
        p, delay = self._looks[r]
        late_or_early = p in (Punctuality.LATE, Punctuality.EARLY)
        overdue = c == 5 and (self.rows[r].departs_in_s or 0) < 0
        # the deviation as a coloured cell (black text): readable on any table palette
        if role == Qt.ItemDataRole.BackgroundRole:
            if c == 3 and late_or_early:
                return deviation_colour(p)
            if overdue:
                return style.GRAPH_LATE
        if role == Qt.ItemDataRole.ForegroundRole and ((c == 3 and late_or_early) or overdue):
            return style.TRAIN_TEXT
        if role == Qt.ItemDataRole.ToolTipRole and c == 3:
            return punctuality_text(p, delay)
        return None


class DelayListDock(QDockWidget):
    """The trains by delay; ``trainActivated(unit)`` on a double click."""

    trainActivated = Signal(int)

    def __init__(
        self,
        on_time_s: float,
        station_name: Callable[[str], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(tr("Delays"), parent)
        self.setObjectName("delayListDock")
        self.model = DelayModel(on_time_s, station_name)
        self.model.setParent(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("delayList")
        self.table.setModel(self.proxy)
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
        """What the list shows, row by row in its order (tests)."""
        p = self.proxy
        return [
            tuple(str(p.data(p.index(r, c))) for c in range(p.columnCount()))
            for r in range(p.rowCount())
        ]

    def show_rows(self, rows: list[DelayRow]) -> None:
        """Replace the rows, keeping the sort and the selected train."""
        selected = self._selected_unit()
        self.model.set_rows(rows)
        if selected is not None:
            self.select_unit(selected)

    def select_unit(self, unit: int) -> None:
        p = self.proxy
        for r in range(p.rowCount()):
            if p.data(p.index(r, 0), UNIT_ROLE) == unit:
                self.table.selectRow(r)
                return
        self.table.clearSelection()

    def _selected_unit(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        unit = self.proxy.data(rows[0], UNIT_ROLE)
        return int(unit) if unit is not None else None

    def _activated(self, index: Index) -> None:
        unit = self.proxy.data(index, UNIT_ROLE)
        if unit is not None:
            self.trainActivated.emit(int(unit))
