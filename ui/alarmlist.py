"""The alarm list (ISA-18.2) on screen: a row-level table model, its filter, and the dock.

The model mirrors the shown rows of the core's :class:`~app.alarms.model.AlarmList`
and is told what changed (:class:`~app.alarms.model.AlarmChanges`), merged once
per frame: one change is one ``rowsInserted``, ``dataChanged`` or
``rowsRemoved``, never a reset (a reset only when a snapshot replaced the whole
list). Rows live in an array with an id → row index; a removal moves the last
row into the hole (one ``dataChanged``) and drops the last row, so every change
costs O(1) however long the list is. Sorting and filtering are the proxy's.

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
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.alarms.consumer import BadRecord, FeedState, FeedStatus
from app.alarms.model import SHOWN_STATES, AlarmChanges, AlarmList, AlarmRow, AlarmState
from app.alarms.records import Priority
from app.alarms.service import AlarmService
from ui import style

FRAME_MS = 16
FLASH_MS = 500

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
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.alarms = alarms
        self.language = language
        self.tz = tz
        self.station_name = station_name
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
                when = dt.datetime.fromtimestamp(ev.raised_ms / 1000, self.tz)
                return f"{when:%H:%M:%S}"
            if col == 1:
                return priority_text(ev.priority)
            if col == 2:
                return self.station_name(ev.station)
            if col == 3:
                return ev.device
            if col == 4:
                return (
                    (ev.text_en or ev.text_zh)
                    if self.language == "en"
                    else (ev.text_zh or ev.text_en)
                )
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
            by = f"\n{tr('by')} {ev.by}" if ev.by else ""
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
    """Filter by priority, station, zone, state and text; sort by the raw values."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.priorities: set[Priority] = set()  # empty: all
        self.station = ""
        self.zone = ""
        self.states: set[AlarmState] = set()
        self.text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        self.invalidateFilter()

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


class AlarmBridge(QObject):
    """The service's events as Qt signals; ``changed`` merged and flushed once per frame."""

    changed = Signal(object)  # AlarmChanges
    statusChanged = Signal(object)  # FeedStatus
    badRecord = Signal(object)  # BadRecord

    def __init__(self, service: AlarmService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.pending = AlarmChanges()
        self.flushes = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.flush)
        service.changed.connect(self._on_changed)
        service.status_changed.connect(self._on_status)
        service.bad_record.connect(self._on_bad)

    def detach(self) -> None:
        self.service.changed.disconnect(self._on_changed)
        self.service.status_changed.disconnect(self._on_status)
        self.service.bad_record.disconnect(self._on_bad)
        self._timer.stop()

    def _on_changed(self, changes: AlarmChanges) -> None:
        self.pending.merge(changes)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        if not self.pending and not self.pending.unshelved:
            return
        changes, self.pending = self.pending, AlarmChanges()
        self.flushes += 1
        self.changed.emit(changes)

    def _on_status(self, status: FeedStatus) -> None:
        self.statusChanged.emit(status)

    def _on_bad(self, bad: BadRecord) -> None:
        self.badRecord.emit(bad)


class AlarmDock(QDockWidget):
    """The alarm list with its filters, actions, counts, banner and horn."""

    focusDevice = Signal(str)
    openInIscs = Signal(str, str, str)  # alarm id, device, station
    message = Signal(str)  # for the event log

    def __init__(
        self,
        service: AlarmService,
        *,
        language: str = "zh_CN",
        tz: dt.tzinfo | None = None,
        station_name: Callable[[str], str] = str,
        stations: list[tuple[str, str]] = (),  # type: ignore[assignment]
        zones: list[str] = (),  # type: ignore[assignment]
        can_acknowledge: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(tr("Alarms"), parent)
        self.setObjectName("alarmDock")
        self.service = service
        self.bridge = AlarmBridge(service, self)
        self.model = AlarmTableModel(
            service.list, language=language, tz=tz, station_name=station_name, parent=self
        )
        self.proxy = AlarmFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.sort(0, Qt.SortOrder.DescendingOrder)
        self.horn_on = False
        self.flash_visible = False
        self.bad: list[BadRecord] = []
        self._tz = tz

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(4)

        # banner: the newest most urgent unacknowledged alarm; flashes while the horn sounds
        self.banner = QLabel()
        self.banner.setObjectName("alarmBanner")
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.banner)

        self.stale = QLabel()
        self.stale.setObjectName("alarmStale")
        self.stale.setStyleSheet(
            f"background: {style.LINK_DOWN.name()}; color: white; font-weight: bold; padding: 4px;"
        )
        self.stale.hide()
        column.addWidget(self.stale)
        self.progress = QProgressBar()
        self.progress.setObjectName("alarmCatchUp")
        self.progress.setRange(0, 100)
        self.progress.setFormat(tr("catching up on today's alarms… %p%"))
        self.progress.hide()
        column.addWidget(self.progress)

        bar = QHBoxLayout()
        self.priority_box = QComboBox()
        self.priority_box.setObjectName("alarmPriorityFilter")
        self.priority_box.addItem(tr("all priorities"), None)
        for p in Priority:
            self.priority_box.addItem(priority_text(p), int(p))
        self.station_box = QComboBox()
        self.station_box.setObjectName("alarmStationFilter")
        self.station_box.addItem(tr("all stations"), "")
        for sid, name in stations:
            self.station_box.addItem(name, sid)
        self.zone_box = QComboBox()
        self.zone_box.setObjectName("alarmZoneFilter")
        self.zone_box.addItem(tr("all zones"), "")
        for z in zones:
            self.zone_box.addItem(z, z)
        self.state_box = QComboBox()
        self.state_box.setObjectName("alarmStateFilter")
        self.state_box.addItem(tr("all states"), "")
        self.state_box.addItem(tr("unacknowledged"), "unacked")
        for s in (AlarmState.UNACK_ACTIVE, AlarmState.ACKED_ACTIVE, AlarmState.UNACK_RTN):
            self.state_box.addItem(state_text(s), s.value)
        self.text_box = QLineEdit()
        self.text_box.setObjectName("alarmTextFilter")
        self.text_box.setPlaceholderText(tr("filter: device, text, code…"))
        self.text_box.setClearButtonEnabled(True)
        for w in (self.priority_box, self.station_box, self.zone_box, self.state_box):
            w.currentIndexChanged.connect(self._filters_changed)
            bar.addWidget(w)
        self.text_box.textChanged.connect(self._filters_changed)
        bar.addWidget(self.text_box, 1)
        self.counts = QLabel()
        self.counts.setObjectName("alarmCounts")
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        bar.addWidget(self.counts)
        self.flood_label = QLabel()
        self.flood_label.setObjectName("alarmFlood")
        bar.addWidget(self.flood_label)
        column.addLayout(bar)

        self.table = QTableView()
        self.table.setObjectName("alarmTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for col, width in enumerate((70, 100, 90, 110, 360, 190)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_row_menu)
        self._iscs_available = False
        column.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.ack_selected = QPushButton(tr("Acknowledge selected"))
        self.ack_selected.setObjectName("ackSelected")
        self.ack_visible = QPushButton(tr("Acknowledge visible"))
        self.ack_visible.setObjectName("ackVisible")
        self.shelve_button = QPushButton(tr("Shelve…"))
        self.shelve_button.setObjectName("shelve")
        self.shelve_button.setToolTip(tr("hide the selected alarms for a while (they return)"))
        self.silence_button = QPushButton(tr("Silence horn"))
        self.silence_button.setObjectName("silence")
        self.diagnostics_button = QPushButton(tr("Diagnostics"))
        self.diagnostics_button.setObjectName("alarmDiagnostics")
        self.ack_selected.clicked.connect(self.acknowledge_selected)
        self.ack_visible.clicked.connect(self.acknowledge_visible)
        self.silence_button.clicked.connect(self.silence)
        self.shelve_button.clicked.connect(self._ask_shelve)
        self.diagnostics_button.clicked.connect(self.show_diagnostics)
        can = can_acknowledge and service.acks is not None
        self.ack_selected.setEnabled(can)
        self.ack_visible.setEnabled(can)
        self.shelve_button.setEnabled(can)
        if not can:
            self.ack_selected.setToolTip(tr("this workstation may not acknowledge alarms"))
        self.show_hidden = QCheckBox(tr("show shelved"))
        self.show_hidden.setObjectName("showHidden")
        self.show_hidden.toggled.connect(self.model.set_show_hidden)
        for b in (self.ack_selected, self.ack_visible, self.shelve_button, self.silence_button):
            buttons.addWidget(b)
        buttons.addWidget(self.show_hidden)
        buttons.addStretch(1)
        buttons.addWidget(self.diagnostics_button)
        column.addLayout(buttons)
        self.setWidget(body)

        self._flash = QTimer(self)
        self._flash.setInterval(FLASH_MS)
        self._flash.timeout.connect(self._toggle_flash)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_status)
        self._tick.start()
        self.bridge.changed.connect(self.apply)
        self.bridge.statusChanged.connect(lambda _s: self._refresh_status())
        self.bridge.badRecord.connect(self._on_bad)
        self.refresh()
        self._refresh_status()

    # -- updates ------------------------------------------------------------------------

    def apply(self, changes: AlarmChanges) -> None:
        self.model.apply(changes)
        # new, raised again, or back from shelving while active: annunciated (ISA-18.2)
        new_unacked = [
            aid
            for aid in changes.annunciated
            if (row := self.service.list.get(aid)) is not None
            and row.state is AlarmState.UNACK_ACTIVE
        ]
        if new_unacked and self.service.status.state is FeedState.LIVE:
            self.sound()
        self.refresh()

    def refresh(self) -> None:
        alarms = self.service.list
        parts = []
        for p, c in alarms.counts_by_priority().items():
            shape, colour = PRIORITY_LOOK[p]
            parts.append(
                f'<span style="color:{colour.name()}">{shape}{int(p)}</span> {c.unacked}/{c.total}'
            )
        self.counts.setText("&nbsp;&nbsp;".join(parts))
        self.counts.setToolTip(tr("unacknowledged / shown, per priority"))
        flood = alarms.flood()
        self.flood_label.setText(tr("FLOOD") if flood else "")
        self.flood_label.setStyleSheet(
            f"color: {style.ATTENTION.name()}; font-weight: bold;" if flood else ""
        )
        top = alarms.newest_highest_unacked()
        if top is None:
            self.banner.setText(tr("No unacknowledged alarms"))
            self.banner.setStyleSheet(f"color: {style.TEXT_SECONDARY.name()}; padding: 4px;")
        else:
            ev = top.event
            shape, colour = PRIORITY_LOOK[ev.priority]
            text = ev.text_zh if self.model.language != "en" else (ev.text_en or ev.text_zh)
            self.banner.setText(
                f'<b><span style="color:{colour.name()}">{shape} {int(ev.priority)}</span></b>'
                f"&nbsp; {self.model.station_name(ev.station)} · {ev.device} · {text}"
            )
            self._style_banner()

    def _style_banner(self) -> None:
        on = self.horn_on and self.flash_visible
        bg = "#5a1e1e" if on else "#1d2024"
        self.banner.setStyleSheet(
            f"QLabel#alarmBanner {{ background: {bg}; padding: 4px; border: 1px solid #3a4047; }}"
        )

    def _refresh_status(self) -> None:
        st = self.service.status
        if st.state in (FeedState.STARTING, FeedState.CATCHING_UP):
            self.progress.setValue(int(st.progress * 100))
            self.progress.show()
        else:
            self.progress.hide()
        stale = self.service.stale_for_s()
        if stale is None:
            self.stale.hide()
        else:
            self.stale.setText(
                tr("ALARM LIST STALE for {0} s: {1}").format(int(stale), st.reason or "")
            )
            self.stale.show()

    # -- horn ---------------------------------------------------------------------------

    def sound(self) -> None:
        """A new unacknowledged alarm: flash (and beep) until silenced."""
        if not self.horn_on:
            self.horn_on = True
            self._flash.start()
        QApplication.beep()

    def silence(self) -> None:
        """Silence the horn; the alarms stay unacknowledged."""
        self.horn_on = False
        self._flash.stop()
        self.flash_visible = False
        self._style_banner()

    def _toggle_flash(self) -> None:
        self.flash_visible = not self.flash_visible
        self._style_banner()

    # -- actions ------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [str(self.proxy.data(r, ID_ROLE)) for r in rows]

    def acknowledge_selected(self) -> None:
        self._acknowledge(self.selected_ids())

    def acknowledge_visible(self) -> None:
        self._acknowledge(self.proxy.visible_ids())

    def _acknowledge(self, ids: list[str]) -> None:
        if not ids or self.service.acks is None:
            return
        queued = self.service.acknowledge(ids)
        self.message.emit(tr("Acknowledging {0} alarm(s)").format(len(queued)))

    def _ask_shelve(self) -> None:
        # Not connected straight to shelve_selected: clicked(bool) would pass minutes.
        self.shelve_selected()

    def shelve_selected(self, minutes: int | None = None) -> bool:
        """Shelve the selected alarms; asks for how long unless ``minutes`` is given."""
        ids = self.selected_ids()
        if not ids or self.service.acks is None:
            return False
        if minutes is None:
            minutes, ok = QInputDialog.getInt(
                self,
                tr("Shelve alarms"),
                tr("Shelve {0} alarm(s) for minutes:").format(len(ids)),
                30,
                1,
                480,
            )
            if not ok:
                return False
        self.service.shelve(ids, minutes)
        self.message.emit(tr("Shelving {0} alarm(s) for {1} min").format(len(ids), minutes))
        return True

    def _filters_changed(self) -> None:
        p = self.priority_box.currentData()
        state = self.state_box.currentData()
        if state == "unacked":
            states = {AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN}
        elif state:
            states = {AlarmState(state)}
        else:
            states = set()
        self.proxy.set_filter(
            priorities={Priority(p)} if p else set(),
            station=self.station_box.currentData() or "",
            zone=self.zone_box.currentData() or "",
            states=states,
            text=self.text_box.text().strip(),
        )

    def set_iscs_available(self, available: bool) -> None:
        """Whether the row menu's "Open in ISCS" is offered (a workstation may have none)."""
        self._iscs_available = available

    def show_station(self, station_id: str) -> None:
        """Filter the list to one station's alarms (from the schematic's station menu)."""
        i = self.station_box.findData(station_id)
        if i >= 0:
            self.station_box.setCurrentIndex(i)
        self.show()
        self.raise_()

    def row_menu(self, row: AlarmRow) -> QMenu:
        """What one alarm offers: show its device, acknowledge, shelve, open in ISCS."""
        ev = row.event
        menu = QMenu(self)
        menu.setObjectName("alarmMenu")
        menu.addAction(f"{ev.alarm_id} · {ev.device or ev.station}").setEnabled(False)
        menu.addSeparator()
        show = menu.addAction(tr("Show on schematic"))
        show.setObjectName("showOnSchematic")
        show.setEnabled(bool(ev.device))
        show.triggered.connect(lambda: self.focusDevice.emit(ev.device))
        can = self.ack_selected.isEnabled()
        ack = menu.addAction(tr("Acknowledge"))
        ack.setObjectName("acknowledge")
        ack.setEnabled(can and row.unacked)
        ack.triggered.connect(lambda: self._acknowledge([ev.alarm_id]))
        shelve = menu.addAction(tr("Shelve…"))
        shelve.setObjectName("shelve")
        shelve.setEnabled(can)
        shelve.triggered.connect(self._ask_shelve)
        menu.addSeparator()
        iscs = menu.addAction(tr("Open in ISCS"))
        iscs.setObjectName("openInIscs")
        iscs.setEnabled(self._iscs_available)
        iscs.triggered.connect(lambda: self.openInIscs.emit(ev.alarm_id, ev.device, ev.station))
        return menu

    def _show_row_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        aid = self.proxy.data(index, ID_ROLE) if index.isValid() else None
        row = self.service.list.get(str(aid)) if aid else None
        if row is None:
            return
        self.table.selectRow(index.row())
        menu = self.row_menu(row)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _double_clicked(self, index: QModelIndex) -> None:
        aid = self.proxy.data(index, ID_ROLE)
        row = self.service.list.get(str(aid)) if aid else None
        if row is not None and row.event.device:
            self.focusDevice.emit(row.event.device)

    def _on_bad(self, bad: BadRecord) -> None:
        self.bad.append(bad)
        del self.bad[:-200]
        self.diagnostics_button.setText(tr("Diagnostics ({0})").format(len(self.bad)))

    def show_diagnostics(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(tr("Alarm feed diagnostics"))
        box = QVBoxLayout(dialog)
        st = self.service.status
        stats = self.service.list.stats
        box.addWidget(
            QLabel(
                tr(
                    "Topic {0} at offset {1} ({2}); records {3}, malformed {4}, duplicates {5}"
                ).format(
                    st.topic,
                    st.offset,
                    st.state.value,
                    st.records,
                    st.bad_records,
                    stats.duplicates,
                )
            )
        )
        listing = QListWidget()
        listing.setObjectName("badRecords")
        for b in reversed(self.bad):
            when = dt.datetime.fromtimestamp(b.seen_ms / 1000, self._tz)
            listing.addItem(f"{when:%H:%M:%S}  {b.topic}@{b.offset}  {b.error}")
        box.addWidget(listing)
        dialog.resize(720, 320)
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        self._flash.stop()
        self._tick.stop()
        self.bridge.detach()
