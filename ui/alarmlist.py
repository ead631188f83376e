"""The alarm list dock (ISA-18.2): the rows (:mod:`ui.alarmtable`) with their filters,
the actions (acknowledge, shelve, show on the schematic, open in ISCS), the counts,
the banner of the most urgent alarm, and the horn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QModelIndex, QPoint, Qt, QTimer, Signal
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

from app.alarms.consumer import BadRecord, FeedState
from app.alarms.model import AlarmChanges, AlarmRow, AlarmState
from app.alarms.records import Priority
from app.alarms.service import AlarmService
from ui import style
from ui.alarmtable import (
    ID_ROLE,
    PRIORITY_LOOK,
    AlarmFilter,
    AlarmTableModel,
    priority_text,
    state_text,
)
from ui.bridge import AlarmBridge
from ui.clock import time_text

FLASH_MS = 500


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


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
            listing.addItem(f"{time_text(b.seen_ms, self._tz)}  {b.topic}@{b.offset}  {b.error}")
        box.addWidget(listing)
        dialog.resize(720, 320)
        dialog.open()
        return dialog

    async def aclose(self) -> None:
        """Stop the timers and leave the alarm service (a widget: ``close`` is Qt's)."""
        self._flash.stop()
        self._tick.stop()
        self.bridge.close()
