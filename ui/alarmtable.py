"""The alarm list's rows on screen: a row-level table model and its filter (ISA-18.2).

The model mirrors the shown rows of the core's :class:`~app.alarms.model.AlarmList`
and is told what changed (:class:`~app.alarms.model.AlarmChanges`), merged once
per frame: one change is one ``rowsInserted``, ``dataChanged`` or
``rowsRemoved``, never a reset (a reset only when a snapshot replaced the whole
list). Rows live in an array with an id → row index; a removal moves the last
row into the hole (one ``dataChanged``) and drops the last row, so every change
costs O(1) however long the list is. Sorting and filtering are the proxy's: priority
first by default (:func:`app.alarms.rows.list_order_key`), or by a column's values.

The station column shows the station's name in the window's language, the device
column a train by its number (the names come from the caller).

Priority is told by text, colour and a shape (colour-blind safe): ◆ 1 critical,
▲ 2 high, ● 3 medium, ○ 4 low. Unacknowledged rows are bold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont

from app.alarms.model import (
    SHOWN_STATES,
    AlarmChanges,
    AlarmList,
    AlarmRow,
    AlarmState,
    OrderHold,
)
from app.alarms.records import AlarmEvent, Priority
from ui import style
from ui.clock import time_text

Index = QModelIndex | QPersistentModelIndex

PRIORITY_LOOK: dict[Priority, tuple[str, QColor]] = {
    Priority.CRITICAL: ("◆", QColor("#ff5c5c")),
    Priority.HIGH: ("▲", QColor("#f2b13c")),
    Priority.MEDIUM: ("●", QColor("#f2e05c")),
    Priority.LOW: ("○", QColor("#8fc1e8")),
}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


def state_text(state: AlarmState) -> str:
    return {
        AlarmState.NORMAL: tr("normal"),
        AlarmState.UNACK_ACTIVE: tr("active, unacknowledged"),
        AlarmState.ACKED_ACTIVE: tr("active, acknowledged"),
        AlarmState.UNACK_RTN: tr("cleared, unacknowledged"),
        AlarmState.SHELVED: tr("shelved"),
        AlarmState.SUPPRESSED: tr("suppressed"),
        AlarmState.OUT_OF_SERVICE: tr("out of service"),
    }[state]


def priority_text(p: Priority) -> str:
    names = {
        Priority.CRITICAL: tr("critical"),
        Priority.HIGH: tr("high"),
        Priority.MEDIUM: tr("medium"),
        Priority.LOW: tr("low"),
    }
    return f"{PRIORITY_LOOK[p][0]} {int(p)} {names[p]}"


class AlarmTableModel(QAbstractTableModel):
    COLUMNS = ("time", "priority", "station", "device", "message", "state")

    def __init__(
        self,
        alarms: AlarmList,
        *,
        language: str = "zh_CN",
        tz: dt.tzinfo | None = None,
        station_name: Callable[[str], str] = str,
        device_name: Callable[[str], str] = str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.alarms = alarms
        self.language = language
        self.tz = tz
        self.station_name = station_name
        self.device_name = device_name
        self.show_hidden = False
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self.resets = 0
        self.reload()

    # -- Qt -----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is not Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(self.COLUMNS):
            return None
        return [
            tr("Time"),
            tr("Priority"),
            tr("Station"),
            tr("Device"),
            tr("Message"),
            tr("State"),
        ][section]

    def message(self, ev: AlarmEvent) -> str:
        """The alarm's text in the window's language (the other when it has none)."""
        if self.language == "en":
            return ev.text_en or ev.text_zh
        return ev.text_zh or ev.text_en

    def row_at(self, row: int) -> AlarmRow | None:
        if 0 <= row < len(self._ids):
            return self.alarms.get(self._ids[row])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        col = index.column()
        ev = row.event
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return time_text(ev.raised_ms, self.tz)
            if col == 1:
                return priority_text(ev.priority)
            if col == 2:
                return self.station_name(ev.station)
            if col == 3:
                return self.device_name(ev.device) if ev.device else ""
            if col == 4:
                return self.message(ev)
            if col == 5:
                return state_text(row.state)
            return None
        if role == SORT_ROLE:
            return (
                ev.raised_ms,
                int(ev.priority),
                ev.station,
                ev.device,
                ev.text_zh,
                row.state.value,
            )[col]
        if role == ID_ROLE:
            return row.alarm_id
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 1:
                return PRIORITY_LOOK[ev.priority][1]
            if row.state in (AlarmState.UNACK_RTN, AlarmState.ACKED_ACTIVE):
                return style.TEXT_SECONDARY
            return style.TEXT_PRIMARY
        if role == Qt.ItemDataRole.FontRole and row.unacked:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            who = tr("by: {0}").format(ev.by)  # not in an f-string: lupdate finds it here
            by = f"\n{who}" if ev.by else ""
            return f"{ev.alarm_id} · {ev.code} · {ev.kind}\n{ev.text_zh}\n{ev.text_en}{by}"
        return None

    # -- changes ------------------------------------------------------------------------

    def _shown(self, row: AlarmRow | None) -> bool:
        return row is not None and (self.show_hidden or row.state in SHOWN_STATES)

    def reload(self) -> None:
        self.beginResetModel()
        self._ids = [r.alarm_id for r in self.alarms.active() if self._shown(r)]
        self._row_of = {aid: i for i, aid in enumerate(self._ids)}
        self.endResetModel()
        self.resets += 1

    def set_show_hidden(self, show: bool) -> None:
        if show != self.show_hidden:
            self.show_hidden = show
            self.reload()

    def apply(self, changes: AlarmChanges) -> None:
        if changes.reset:
            self.reload()
            return
        for aid in changes.removed:
            self._remove(aid)
        for aid in changes.updated | changes.added:
            row = self.alarms.get(aid)
            if not self._shown(row):
                self._remove(aid)
            elif aid in self._row_of:
                r = self._row_of[aid]
                self.dataChanged.emit(self.index(r, 0), self.index(r, len(self.COLUMNS) - 1))
            else:
                self._append(aid)

    def touch(self, ids: set[str]) -> None:
        """Tell the views these rows changed (the proxy puts each in its place again)."""
        last = len(self.COLUMNS) - 1
        for aid in ids:
            r = self._row_of.get(aid)
            if r is not None:
                self.dataChanged.emit(self.index(r, 0), self.index(r, last))

    def _append(self, aid: str) -> None:
        n = len(self._ids)
        self.beginInsertRows(QModelIndex(), n, n)
        self._ids.append(aid)
        self._row_of[aid] = n
        self.endInsertRows()

    def _remove(self, aid: str) -> None:
        r = self._row_of.pop(aid, None)
        if r is None:
            return
        last = len(self._ids) - 1
        if r != last:
            moved = self._ids[last]
            self._ids[r] = moved
            self._row_of[moved] = r
            self.dataChanged.emit(self.index(r, 0), self.index(r, len(self.COLUMNS) - 1))
            # the id now at ``last`` is a duplicate of row r: drop that slot
        self.beginRemoveRows(QModelIndex(), last, last)
        self._ids.pop()
        self.endRemoveRows()


class AlarmFilter(QSortFilterProxyModel):
    """Filter by priority, station, zone, state and text; sort priority first
    (``priority_first``, ascending), or by a column's raw values."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.priorities: set[Priority] = set()  # empty: all
        self.station = ""
        self.zone = ""
        self.states: set[AlarmState] = set()
        self.text = ""
        self.priority_first = True
        #: each row's place in the default order, held while a dispatcher works on the list
        self.hold = OrderHold()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        self.invalidateFilter()

    def lessThan(self, left: Index, right: Index) -> bool:
        if not self.priority_first:
            return super().lessThan(left, right)
        model = self.sourceModel()
        assert isinstance(model, AlarmTableModel)
        a, b = model.row_at(left.row()), model.row_at(right.row())
        if a is None or b is None:
            return a is not None
        return self.hold.key(a) < self.hold.key(b)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, AlarmTableModel)
        row = model.row_at(source_row)
        if row is None:
            return False
        ev = row.event
        if self.priorities and ev.priority not in self.priorities:
            return False
        if self.station and ev.station != self.station:
            return False
        if self.zone and ev.zone != self.zone:
            return False
        if self.states and row.state not in self.states:
            return False
        if self.text:
            needle = self.text.casefold()
            hay = f"{ev.device} {ev.text_zh} {ev.text_en} {ev.code} {ev.station} {ev.alarm_id}"
            if needle not in hay.casefold():
                return False
        return True

    def visible_ids(self) -> list[str]:
        return [str(self.data(self.index(r, 0), ID_ROLE)) for r in range(self.rowCount())]
