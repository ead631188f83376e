"""The alarm list's filters: priority, station, zone, state and text, applied to the
table's proxy (:class:`ui.alarmtable.AlarmFilter`) as they change."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from app.alarms.model import AlarmState
from app.alarms.records import Priority
from ui.alarmtable import AlarmFilter, priority_text, state_text


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


class AlarmFilterBar(QWidget):
    """The filter row over the alarm table."""

    def __init__(
        self,
        proxy: AlarmFilter,
        stations: list[tuple[str, str]],
        zones: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.proxy = proxy
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
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
