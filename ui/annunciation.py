"""Alarm annunciation in the window (ISA-18.2, ``docs/alarms.md``, issue 18).

- the banner (:mod:`ui.alarmbanner`): a strip under the header, outside every dock,
  with the newest most urgent unacknowledged alarm, the counts per priority and the
  horn; it cannot be closed or tabbed away;
- the *Alarms* dock (:mod:`ui.alarmlist`): bottom, beside the logs (not tabbed with
  them), movable and floatable but not closable; a new unacknowledged alarm brings it
  to the front (shown, its tab raised) wherever a dispatcher put it;
- the *Alarms* menu: acknowledge (F9), acknowledge the page (Shift+F9), silence the
  horn (F7), next unacknowledged alarm (F8);
- a tag on the schematic by every device with an unacknowledged alarm
  (:mod:`ui.alarmmarks`): the priority's colour and number, blinking;
- the alarm feed's state in the status bar: live, catching up, STALE with the time since.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QVBoxLayout

from app.alarms.consumer import FeedState
from app.alarms.service import AlarmService
from app.iscs.messages import HandoffKind
from app.model.roles import Role
from ui import style
from ui.alarmlist import AlarmDock
from ui.alarmmarks import AlarmMarks
from ui.host import Host
from ui.i18n import active_language
from ui.iscsactions import IscsActions
from ui.names import device_name
from ui.style import coloured


class AlarmAnnunciation(QObject):
    def __init__(self, host: Host, alarms: AlarmService, label: QLabel, iscs: IscsActions) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.alarms = alarms
        self.label = label  # in the status bar
        line = host.session.line
        english = active_language() == "en"
        session = host.session

        def station_name(sid: str) -> str:
            station = line.station_by_id.get(sid)
            if station is None:
                return sid
            return station.name_en if english else station.name_zh

        self.dock = AlarmDock(
            alarms,
            language="en" if english else "zh_CN",
            tz=host.tz,
            station_name=station_name,
            device_name=lambda device: device_name(device, session.state.trains),
            stations=[(s.id, f"{s.name_zh} {s.name_en}") for s in line.stations],
            zones=[z.id for z in line.zones],
            can_acknowledge=Role(session.role).may_command,
            parent=host.main_window,
        )
        # Issue 18: the alarm list could be closed or tabbed away behind a log. It is not
        # closable (the View menu's entry is greyed), docked beside the logs rather than
        # tabbed with them, and a new unacknowledged alarm brings it to the front.
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        host.add_dock(self.dock, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.banner = self.dock.banner
        self._place_banner()
        self.menu = self._alarm_menu()
        self.dock.focusDevice.connect(host.focus_device)
        self.dock.notice.connect(host.show_status)
        self.dock.openInIscs.connect(
            lambda aid, device, station: iscs.open(
                HandoffKind.SHOW_ALARM, alarm_id=aid, device=device, station=station
            )
        )
        self.dock.set_iscs_available(iscs.available)
        self.dock.message.connect(host.log_event)
        self.alarm_marks = AlarmMarks(host.scene, alarms.list, self)
        self.dock.bridge.changed.connect(lambda _c: self.refresh_marks())
        self.dock.bridge.statusChanged.connect(lambda _s: self.refresh_label())
        self.refresh_label()

    @property
    def marks(self) -> dict[str, object]:
        """The devices marked on the schematic (their tags)."""
        return dict(self.alarm_marks.marks)

    def refresh_marks(self) -> None:
        self.alarm_marks.refresh()

    def _place_banner(self) -> None:
        """The banner under the header, above the schematic: outside every dock."""
        central = self.host.main_window.centralWidget()
        column = central.layout() if central is not None else None
        if isinstance(column, QVBoxLayout):
            column.insertWidget(1, self.banner)
        else:  # a frame without the column (never in this program): under the menu bar
            self.host.main_window.setMenuWidget(self.banner)

    def _alarm_menu(self) -> QMenu:
        """The window's Alarms menu, before Help: the alarm keys."""
        bar = self.host.main_window.menuBar()
        menu = QMenu(QCoreApplication.translate("AlarmKeys", "&Alarms"), bar)
        menu.setObjectName("alarmMenu")
        self.dock.keys.fill(menu)
        bar.insertMenu(self.host.help_menu.menuAction(), menu)
        return menu

    def refresh_label(self) -> None:
        """The feed's state in the status bar (the stale time moves on: every second)."""
        st = self.alarms.status
        stale = self.alarms.stale_for_s()
        if stale is not None:
            text = coloured(
                style.LINK_DOWN, "■ " + self.tr("ALARMS STALE {0} s").format(int(stale))
            )
        elif st.state is FeedState.LIVE:
            text = coloured(style.LINK_UP, "● " + self.tr("Alarms live"))
            if st.lag > 0:
                text += " " + self.tr("lag {0}").format(st.lag)
        elif st.state in (FeedState.STARTING, FeedState.CATCHING_UP):
            text = coloured(
                style.ATTENTION,
                "◆ " + self.tr("Alarms catching up {0}%").format(int(st.progress * 100)),
            )
        else:
            state = {
                FeedState.STALE: self.tr("stale"),
                FeedState.STOPPED: self.tr("stopped"),
                FeedState.REPLAY: self.tr("replayed from the recording"),
            }
            text = coloured(
                style.TEXT_MUTED,
                self.tr("Alarms: {0}").format(state.get(st.state, st.state.value)),
            )
        self.label.setText(text)
        self.label.setToolTip(
            self.tr("topic {0}, offset {1}, lag {2}, malformed {3}").format(
                st.topic, st.offset, st.lag, st.bad_records
            )
        )

    async def aclose(self) -> None:
        self.alarm_marks.stop()
        await self.dock.aclose()
