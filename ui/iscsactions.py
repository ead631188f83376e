"""'Open in ISCS': a device's, a station's or an alarm's context handed to the ISCS
program (started if need be, ``docs/iscs.md``), and the program's state in the
status bar. A workstation without one offers the entries disabled.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMenu

from app.iscs.handoff import LANGUAGE_ENV, IscsHandoff, IscsState
from app.iscs.messages import Handoff, HandoffKind
from ui import style
from ui.host import Host
from ui.i18n import active_language
from ui.style import coloured


class IscsActions(QObject):
    def __init__(self, host: Host, iscs: IscsHandoff | None, label: QLabel) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.iscs = iscs
        self.label = label  # in the status bar
        if iscs is not None:
            iscs.env[LANGUAGE_ENV] = active_language()  # the program speaks the desk's
            iscs.state_changed.connect(lambda _st: self.refresh())
            iscs.superseded.connect(self._on_superseded)
        self.refresh()

    @property
    def available(self) -> bool:
        return self.iscs is not None

    def add_entry(
        self, menu: QMenu, kind: HandoffKind, *, station: str = "", device: str = ""
    ) -> None:
        """An "Open in ISCS" entry at the end of ``menu``."""
        action = menu.addAction(self.tr("Open in ISCS"))
        action.setObjectName("openInIscs")
        action.setEnabled(self.available)
        action.triggered.connect(lambda: self.open(kind, station=station, device=device))

    def open(
        self, kind: HandoffKind, *, station: str = "", device: str = "", alarm_id: str = ""
    ) -> bool:
        """Hand a context to the ISCS program (started if need be); False if there is none."""
        if self.iscs is None:
            return False
        if not station and device:
            station = self._station_of(device)
        self.iscs.hand_off(kind, station=station, device=device, alarm_id=alarm_id)
        what = {
            HandoffKind.SHOW_STATION: self.tr("show station"),
            HandoffKind.SHOW_DEVICE: self.tr("show device"),
            HandoffKind.SHOW_ALARM: self.tr("show alarm"),
        }.get(kind, kind.value)
        self.host.log_event(self.tr("ISCS: {0} {1}").format(what, device or station or alarm_id))
        return True

    def _station_of(self, device: str) -> str:
        line = self.host.session.line
        x = None
        if device in line.switch_by_id:
            x = line.switch_by_id[device].x
        elif device in line.signal_by_id:
            x = line.signal_by_id[device].x
        if x is None or not line.stations:
            return ""
        return min(line.stations, key=lambda st: abs(st.x - x)).id

    def _on_superseded(self, item: Handoff) -> None:
        self.host.log_event(
            self.tr("ISCS not keeping up: an older {0} was replaced by a newer one").format(
                item.kind.value
            )
        )

    def refresh(self) -> None:
        if self.iscs is None:
            self.label.setText("")
            return
        st = self.iscs.status()
        text, colour = {
            IscsState.NOT_RUNNING: (self.tr("ISCS not running"), style.TEXT_MUTED),
            IscsState.STARTING: (self.tr("ISCS starting"), style.ATTENTION),
            IscsState.READY: (self.tr("ISCS ready"), style.LINK_UP),
            IscsState.NOT_ANSWERING: (self.tr("ISCS NOT ANSWERING"), style.LINK_DOWN),
        }[st.state]
        self.label.setText(coloured(colour, "● " + text))
        self.label.setToolTip(
            self.tr("pending {0}, delivered {1}, replaced {2}, launches {3}").format(
                st.pending, st.delivered, st.superseded, st.launches
            )
        )
