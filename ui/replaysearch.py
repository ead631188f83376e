"""The replay's search dock: find moments in the recording (``app.replay.search``) by
time range, device, station, dispatcher, kind and text; a double-click on a result
takes the replay there."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.model.topology import Line
from app.replay.search import HIT_KINDS, Hit, Query, search
from app.replay.store import Recording
from ui.clock import time_text
from ui.replaybar import ReplayDriver


class ReplaySearchDock(QDockWidget):
    """Fields, a Search button, the hits; a double-click on a hit seeks the replay."""

    def __init__(
        self,
        recording: Recording,
        driver: ReplayDriver,
        tz: dt.tzinfo | None,
        parent: QWidget | None = None,
        line: Line | None = None,
    ) -> None:
        super().__init__(self.tr("Search the recording"), parent)
        self.setObjectName("replaySearchDock")
        self.recording = recording
        self.driver = driver
        self.tz = tz
        self.line = line if line is not None else driver.player.line
        self.hits: list[Hit] = []
        body = QWidget()
        column = QVBoxLayout(body)
        form = QFormLayout()
        start, end = driver.player.start_ms, driver.player.end_ms
        self.from_edit = self._time_edit("replaySearchFrom", start)
        self.to_edit = self._time_edit("replaySearchTo", end)
        times = QHBoxLayout()
        times.addWidget(self.from_edit)
        times.addWidget(self.to_edit)
        form.addRow(self.tr("From / to"), times)
        self.device = QLineEdit()
        self.device.setObjectName("replaySearchDevice")
        form.addRow(self.tr("Device"), self.device)
        self.station = QLineEdit()
        self.station.setObjectName("replaySearchStation")
        form.addRow(self.tr("Station"), self.station)
        self.dispatcher = QLineEdit()
        self.dispatcher.setObjectName("replaySearchDispatcher")
        form.addRow(self.tr("Dispatcher"), self.dispatcher)
        self.text = QLineEdit()
        self.text.setObjectName("replaySearchText")
        form.addRow(self.tr("Text"), self.text)
        kinds = QWidget()
        grid = QHBoxLayout(kinds)
        grid.setContentsMargins(0, 0, 0, 0)
        self.kinds: dict[str, QCheckBox] = {}
        for kind in HIT_KINDS:
            box = QCheckBox(self.kind_text(kind))
            box.setObjectName(f"replaySearchKind_{kind}")
            grid.addWidget(box)
            self.kinds[kind] = box
        form.addRow(self.tr("Kind"), kinds)
        column.addLayout(form)
        self.go = QPushButton(self.tr("Search"))
        self.go.setObjectName("replaySearchGo")
        column.addWidget(self.go)
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("replaySearchHits")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Time"),
                self.tr("Kind"),
                self.tr("Device"),
                self.tr("Station"),
                self.tr("Text"),
            ]
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        column.addWidget(self.table, 1)
        self.setWidget(body)
        self.go.clicked.connect(self.run)
        for edit in (self.device, self.station, self.dispatcher, self.text):
            edit.returnPressed.connect(self.run)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.jump(row))

    def kind_text(self, kind: str) -> str:
        return {
            "alarm": self.tr("alarm"),
            "command": self.tr("command"),
            "failover": self.tr("failover"),
            "master": self.tr("master"),
            "local_alarm": self.tr("local alarm"),
            "link": self.tr("link"),
        }.get(kind, kind)

    def _time_edit(self, name: str, ms: int) -> QDateTimeEdit:
        """A date and time (the line's zone): a recording may run past midnight."""
        edit = QDateTimeEdit()
        edit.setObjectName(name)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.set_moment(edit, ms)
        return edit

    def set_moment(self, edit: QDateTimeEdit, ms: int) -> None:
        """``edit`` at the moment ``ms``, as the line's clock reads it."""
        t = dt.datetime.fromtimestamp(ms / 1000, self.tz)
        edit.setDateTime(
            QDateTime(QDate(t.year, t.month, t.day), QTime(t.hour, t.minute, t.second))
        )

    def _ms(self, edit: QDateTimeEdit, *, end: bool) -> int:
        """The moment in ``edit`` (the line's zone); an end takes its whole second."""
        d, q = edit.date(), edit.time()
        t = dt.datetime(d.year(), d.month(), d.day(), q.hour(), q.minute(), q.second())
        local = t.replace(tzinfo=self.tz) if self.tz is not None else t
        return int(local.timestamp() * 1000) + (999 if end else 0)

    def query(self) -> Query:
        return Query(
            start_ms=self._ms(self.from_edit, end=False),
            end_ms=self._ms(self.to_edit, end=True),
            device=self.device.text().strip(),
            station=self.station.text().strip(),
            dispatcher=self.dispatcher.text().strip(),
            kinds=frozenset(k for k, box in self.kinds.items() if box.isChecked()),
            text=self.text.text().strip(),
        )

    def run(self) -> list[Hit]:
        """Search with the fields as they are; the hits in the table, oldest first."""
        self.hits = search(self.recording, self.query(), self.line)
        self.table.setRowCount(0)
        self.table.setRowCount(len(self.hits))
        for row, hit in enumerate(self.hits):
            values = [
                time_text(hit.time_ms, self.tz),
                self.kind_text(hit.kind),
                hit.device,
                hit.station,
                hit.text,
            ]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, hit.time_ms)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        return self.hits

    def jump(self, row: int) -> None:
        """The replay to the moment of the hit in ``row``."""
        if 0 <= row < len(self.hits):
            self.driver.seek(self.hits[row].time_ms)
