"""The alarm list dock (ISA-18.2): the rows (:mod:`ui.alarmtable`) with their filters,
the actions (acknowledge, shelve, show on the schematic, open in ISCS, next
unacknowledged), the horn (:mod:`ui.horn`) and the banner (:mod:`ui.alarmbanner`),
which the window shows outside every dock.

**Order.** Priority first by default (:func:`app.alarms.rows.list_order_key`:
unacknowledged, then priority, then newest); a click on a column header sorts by that
column until *Priority first* is pressed. While a row is selected or the pointer is over
the rows the order holds still (:class:`app.alarms.rows.OrderHold`) and "n new" counts
what came meanwhile; it sorts again when both let go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
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
from ui.alarmbanner import AlarmBanner
from ui.alarmdiag import diagnostics_dialog
from ui.alarmfilters import AlarmFilterBar
from ui.alarmkeys import AlarmKeys
from ui.alarmorder import AlarmOrder
from ui.alarmtable import (
    ID_ROLE,
    AlarmFilter,
    AlarmTableModel,
)
from ui.bridge import AlarmBridge
from ui.horn import Horn
from ui.i18n import feed_cause_text


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


class AlarmDock(QDockWidget):
    """The alarm list with its filters, actions, counts, banner and horn."""

    focusDevice = Signal(str)
    openInIscs = Signal(str, str, str)  # alarm id, device, station
    message = Signal(str)  # for the event log
    notice = Signal(str)  # for the status bar: what an action did

    def __init__(
        self,
        service: AlarmService,
        *,
        language: str = "zh_CN",
        tz: dt.tzinfo | None = None,
        station_name: Callable[[str], str] = str,
        device_name: Callable[[str], str] = str,
        stations: list[tuple[str, str]] = (),  # type: ignore[assignment]
        zones: list[str] = (),  # type: ignore[assignment]
        can_acknowledge: bool = True,
        horn: Horn | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(tr("Alarms"), parent)
        self.setObjectName("alarmDock")
        self.service = service
        self.bridge = AlarmBridge(service, self)
        self.model = AlarmTableModel(
            service.list,
            language=language,
            tz=tz,
            station_name=station_name,
            device_name=device_name,
            parent=self,
        )
        self.proxy = AlarmFilter(self)
        self.proxy.setSourceModel(self.model)
        self.horn = horn if horn is not None else Horn(self)
        self.horn.setParent(self)
        self.bad: list[BadRecord] = []
        self._tz = tz
        # the banner lives outside the dock (the window puts it under the header)
        self.banner = AlarmBanner()

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(4)

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
        self.filters = AlarmFilterBar(self.proxy, stations, zones)
        self.priority_box = self.filters.priority_box
        self.station_box = self.filters.station_box
        self.zone_box = self.filters.zone_box
        self.state_box = self.filters.state_box
        self.text_box = self.filters.text_box
        bar.addWidget(self.filters, 1)
        self.flood_label = QLabel()
        self.flood_label.setObjectName("alarmFlood")
        bar.addWidget(self.flood_label)
        column.addLayout(bar)

        self.table = QTableView()
        self.table.setObjectName("alarmTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header.setStretchLastSection(False)
        for col, width in enumerate((70, 100, 90, 110, 360, 190)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_row_menu)
        self.order = AlarmOrder(self.table, self.proxy, self.model, released=self.refresh)
        bar.insertWidget(1, self.order.priority_first_button)
        column.addWidget(self.order.new_button)
        self._iscs_available = False
        column.addWidget(self.table, 1)

        can = can_acknowledge and service.acks is not None
        self.keys = AlarmKeys(
            self,
            acknowledge=self.acknowledge_selected,
            acknowledge_page=self.acknowledge_visible,
            silence=self.silence,
            next_unacked=self.next_unacknowledged,
            can_acknowledge=can,
        )
        self.banner.add_action(self.keys.silence)
        self.banner.add_action(self.keys.next)

        buttons = QHBoxLayout()
        self.ack_selected = QPushButton(tr("Acknowledge selected"))
        self.ack_selected.setObjectName("ackSelected")
        self.ack_visible = QPushButton(tr("Acknowledge page"))
        self.ack_visible.setObjectName("ackVisible")
        self.shelve_button = QPushButton(tr("Shelve…"))
        self.shelve_button.setObjectName("shelve")
        self.shelve_button.setToolTip(tr("hide the selected alarms for a while (they return)"))
        self.silence_button = QPushButton(tr("Silence horn"))
        self.silence_button.setObjectName("silence")
        self.diagnostics_button = QPushButton(tr("Diagnostics"))
        self.diagnostics_button.setObjectName("alarmDiagnostics")
        self.ack_selected.clicked.connect(self.keys.ack.trigger)
        self.ack_visible.clicked.connect(self.keys.ack_page.trigger)
        self.silence_button.clicked.connect(self.keys.silence.trigger)
        self.shelve_button.clicked.connect(self._ask_shelve)
        self.diagnostics_button.clicked.connect(self.show_diagnostics)
        self.ack_selected.setToolTip(self.keys.ack.toolTip())
        self.ack_visible.setToolTip(self.keys.ack_page.toolTip())
        self.silence_button.setToolTip(self.keys.silence.toolTip())
        for w in (self.ack_selected, self.ack_visible, self.shelve_button):
            w.setEnabled(can)
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

        self.horn.flash.connect(self.banner.set_flash)
        self.horn.changed.connect(self._refresh_horn_label)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_status)
        self._tick.start()
        self.banner.clicked.connect(self.show_top)
        self.bridge.changed.connect(self.apply)
        self.bridge.statusChanged.connect(lambda _s: self._refresh_status())
        self.bridge.badRecord.connect(self._on_bad)
        self.refresh()
        self._refresh_status()

    # -- updates ------------------------------------------------------------------------

    def apply(self, changes: AlarmChanges) -> None:
        self.order.note(changes)  # first: a held row keeps its place as it changes
        self.model.apply(changes)
        # new, raised again, or back from shelving while active: annunciated (ISA-18.2)
        new_unacked = [
            row
            for aid in changes.annunciated
            if (row := self.service.list.get(aid)) is not None
            and row.state is AlarmState.UNACK_ACTIVE
        ]
        if new_unacked and self.service.status.state is FeedState.LIVE:
            self.sound(min(r.event.priority for r in new_unacked))
            self.bring_forward()
        self.refresh()

    def refresh(self) -> None:
        alarms = self.service.list
        self.banner.show_counts(alarms.counts_by_priority())
        flood = alarms.flood()
        self.flood_label.setText(tr("FLOOD") if flood else "")
        self.flood_label.setStyleSheet(
            f"color: {style.ATTENTION.name()}; font-weight: bold;" if flood else ""
        )
        top = alarms.newest_highest_unacked()
        if top is None:
            self.banner.show_alarm(None, "", "", "")
            self.horn.stop()  # nothing left to acknowledge
        else:
            ev = top.event
            self.banner.show_alarm(
                top,
                self.model.station_name(ev.station),
                self.model.device_name(ev.device) if ev.device else "",
                self.model.message(ev),
            )
            self.horn.follow(ev.priority)
        self._refresh_horn_label()

    def _refresh_horn_label(self) -> None:
        self.banner.show_horn(self.horn.status_text(), self.horn.sounding is not None)

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
                tr("ALARM LIST STALE for {0} s: {1}").format(
                    int(stale), feed_cause_text(st.cause) or st.reason
                )
            )
            self.stale.show()
        if self.parentWidget() is not None and self.isHidden():
            self.show()  # the alarm list cannot be closed (a saved layout may have hidden it)

    def bring_forward(self) -> None:
        """A new unacknowledged alarm: the list in front (shown, its tab raised)."""
        if self.parentWidget() is None:
            return
        if self.isHidden():
            self.show()
        self.raise_()

    # -- horn ---------------------------------------------------------------------------

    @property
    def horn_on(self) -> bool:
        return self.horn.sounding is not None

    @property
    def flash_visible(self) -> bool:
        return self.horn.flash_on

    def sound(self, priority: Priority | None = None) -> None:
        """A new unacknowledged alarm: the horn sounds (its priority's sound, or only the
        banner's flashing where there is no audio device) until silenced."""
        if priority is None:
            top = self.service.list.newest_highest_unacked()
            priority = top.event.priority if top is not None else Priority.LOW
        self.horn.sound(priority)

    def silence(self) -> str:
        """Silence the horn; the alarms stay unacknowledged. Says what it did."""
        was = self.horn.stop()
        unacked = sum(c.unacked for c in self.service.list.counts_by_priority().values())
        if was is not None:
            text = tr("Horn silenced: {0} unacknowledged alarm(s) remain").format(unacked)
            self.message.emit(text)
        else:
            text = tr("The horn was not sounding: {0} unacknowledged alarm(s)").format(unacked)
        self.notice.emit(text)
        return text

    # -- actions ------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [str(self.proxy.data(r, ID_ROLE)) for r in rows]

    def acknowledge_selected(self) -> None:
        self._acknowledge(self.selected_ids())

    def page_ids(self) -> list[str]:
        """The rows on screen now (the table's visible page), top to bottom."""
        n = self.proxy.rowCount()
        if n == 0:
            return []
        first = max(0, self.table.rowAt(0))
        last = self.table.rowAt(self.table.viewport().height() - 1)
        last = n - 1 if last < 0 else last
        return [
            str(self.proxy.data(self.proxy.index(r, 0), ID_ROLE)) for r in range(first, last + 1)
        ]

    def acknowledge_visible(self) -> None:
        """Acknowledge the unacknowledged alarms the dispatcher can see (ISA-18.2: only
        what has been seen), not every row the filter lets through."""
        rows = [self.service.list.get(aid) for aid in self.page_ids()]
        self._acknowledge([r.alarm_id for r in rows if r is not None and r.unacked])

    def _acknowledge(self, ids: list[str]) -> None:
        if not ids or self.service.acks is None:
            return
        queued = self.service.acknowledge(ids)
        self.message.emit(tr("Acknowledging {0} alarm(s)").format(len(queued)))

    def next_unacknowledged(self) -> str | None:
        """Select the next unacknowledged row below the selected one (from the top, and
        round), show it and its device; its id, None when there is none."""
        n = self.proxy.rowCount()
        current = self.table.currentIndex().row() if self.table.currentIndex().isValid() else -1
        for step in range(1, n + 1):
            r = (current + step) % n
            aid = str(self.proxy.data(self.proxy.index(r, 0), ID_ROLE))
            row = self.service.list.get(aid)
            if row is not None and row.unacked:
                self.bring_forward()
                self.table.selectRow(r)
                self.table.scrollTo(self.proxy.index(r, 0))
                if row.event.device:
                    self.focusDevice.emit(row.event.device)
                return aid
        self.notice.emit(tr("No unacknowledged alarm in the list"))
        return None

    def show_top(self) -> None:
        """The banner's alarm, selected in the list (a click on the banner)."""
        top = self.service.list.newest_highest_unacked()
        if top is None:
            return
        self.bring_forward()
        for r in range(self.proxy.rowCount()):
            if self.proxy.data(self.proxy.index(r, 0), ID_ROLE) == top.alarm_id:
                self.table.selectRow(r)
                self.table.scrollTo(self.proxy.index(r, 0))
                break
        if top.event.device:
            self.focusDevice.emit(top.event.device)

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
        return diagnostics_dialog(self, self.service, self.bad, self._tz)

    async def aclose(self) -> None:
        """Stop the timers and the horn, leave the alarm service (``close`` is Qt's)."""
        self._tick.stop()
        self.horn.stop()
        self.bridge.close()
        if self.banner.parentWidget() is None:
            self.banner.deleteLater()
