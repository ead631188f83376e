"""The dispatcher's main window: a thin frame its features plug into.

The frame holds the schematic (its scene and view), the header above it, the
menu bar, and the place of every dock. It is the :class:`~ui.host.Host` of its
features, each in a module of its own, built here in the order their docks,
menu entries and status-bar labels appear:

========================  =====================================================
``ui/menus.py``           the menu bar; the devices' context menus
``ui/statusbar.py``       links, master, feeds, control, sync, clock; messages
``ui/eventlog.py``        the event log dock
``ui/commands.py``        the command flow (gesture → intent → check → confirm →
                          pipeline) and the command log dock
``ui/zonecontrol.py``     zone brackets, the zone control dock, Redis status
``ui/iscsactions.py``     "Open in ISCS", the ISCS program's state
``ui/annunciation.py``    the alarm list dock, alarm rings, the feed's state
``ui/coupling.py``        consists on the schematic, the coupling dock
``ui/workspace.py``       link health, station detail, find, layout, help
========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QShowEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QVBoxLayout, QWidget

from app.alarms.service import AlarmService
from app.control.service import ControlService
from app.iscs.handoff import IscsHandoff
from app.model.commands import CommandOp
from app.model.devices import DeviceRef
from app.model.state import Changes
from ui.annunciation import AlarmAnnunciation
from ui.bridge import ControlBridge, SessionBridge, SessionLike
from ui.clock import line_zone, session_clock, set_line_zone
from ui.commands import CommandFlow
from ui.coupling import install as install_coupling
from ui.dialogs import ConfirmCommandDialog
from ui.eventlog import EventLogDock
from ui.header import Header
from ui.host import CommandEntry
from ui.i18n import add_language_menu
from ui.iscsactions import IscsActions
from ui.menus import DeviceMenus, MenuBar
from ui.scale import apply_saved as apply_saved_scale
from ui.schematic import SchematicScene, SchematicView
from ui.statusbar import RESULT_SHOW_MS, StatusBar
from ui.timetabledesk import install as install_timetable
from ui.workspace import Workspace
from ui.zonecontrol import ZoneControl


class MainWindow(QMainWindow):
    """Shows one session's line; every command goes through :mod:`ui.commands`."""

    closing = Signal()
    commandSent = Signal(str, str)  # device, op: after confirmation, as it goes out

    def __init__(
        self,
        session: SessionLike,
        control: ControlService,
        alarms: AlarmService | None = None,
        parent: QWidget | None = None,
        iscs: IscsHandoff | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        # the UI scale first: widgets that size their own fonts from the application's follow
        apply_saved_scale(settings if settings is not None else QSettings(), self)
        self.session = session
        self.control = control
        self.alarms = alarms
        self.iscs = iscs
        line = session.line
        self.tz = line_zone(line.timezone)
        set_line_zone(self.tz)  # every time on screen in the line's zone (ui/clock.py)
        self.bridge = SessionBridge(session, self)
        self.control_bridge = ControlBridge(control, self)
        self.scene = SchematicScene(line, parent=self)
        self.view = SchematicView(self.scene)
        self.header = Header(session)
        central = QWidget()
        self._column = QVBoxLayout(central)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(0)
        self._column.addWidget(self.header)
        self._column.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self._shown = False
        self.close_guard: Callable[[], bool] | None = None
        title = self.tr("{0} {1} — dispatcher {2}")
        self.setWindowTitle(title.format(line.name_zh, line.name_en, session.dispatcher))

        self.menu_bar = MenuBar(self, self.view)
        self.view_menu = self.menu_bar.view_menu
        self.help_menu = self.menu_bar.help_menu
        self.status_bar = StatusBar(self)
        self.events = EventLogDock(self.tz, self)
        self.add_dock(self.events, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.events], [110], Qt.Orientation.Vertical)
        self.commands = CommandFlow(self, control, self.control_bridge)
        self.commands.sent.connect(self.commandSent)
        self.zones = ZoneControl(self, control, self.control_bridge, self.status_bar.control_label)
        self._column.insertWidget(1, self.zones.banner)
        self.iscs_actions = IscsActions(self, iscs, self.status_bar.iscs_label)
        self.annunciation = (
            AlarmAnnunciation(self, alarms, self.status_bar.alarm_label, self.iscs_actions)
            if alarms is not None
            else None
        )
        self.coupling_view = install_coupling(self, alarms, session_clock(session))
        self.timetable_desk = install_timetable(self)

        self.status_bar.synchronisedChanged.connect(self._on_synchronised)
        self.bridge.stateChanged.connect(self._on_state)
        self.bridge.linksChanged.connect(self.status_bar.on_links)
        self.bridge.masterChanged.connect(self.status_bar.on_master)
        self.bridge.alarmRaised.connect(self.status_bar.on_local_alarm)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()
        self.scene.apply(session.state, Changes(full=True))
        self.status_bar.on_links(session.link_infos())
        self.status_bar.on_master(session.master)
        self._on_tick()
        self.zones.refresh()
        # last, once every dock exists: link health, find, saved layout, help
        alarm_dock = self.annunciation.dock if self.annunciation is not None else None
        self.workspace = Workspace(self, settings, alarm_dock=alarm_dock, alarms=alarms, iscs=iscs)
        self.menus = DeviceMenus(
            self,
            self.iscs_actions,
            follow=self.workspace.follow,
            station_detail=self.workspace.show_station_detail,
            station_alarms=alarm_dock.show_station if alarm_dock is not None else None,
        )
        self.language_menu = add_language_menu(self, self.view_menu, self.workspace.settings)

    # -- the host of the features (ui/host.py) ----------------------------------------------

    @property
    def main_window(self) -> QMainWindow:
        return self

    def add_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea, *, tabbed: bool = False
    ) -> QDockWidget | None:
        beside = None
        if tabbed:
            beside = next(
                (
                    d
                    for d in self.findChildren(QDockWidget)
                    if d is not dock and self.dockWidgetArea(d) == area
                ),
                None,
            )
        self.addDockWidget(area, dock)
        if beside is not None:
            self.tabifyDockWidget(beside, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        return beside

    def add_strip(self, widget: QWidget, index: int = 1) -> None:
        """A strip across the window in the schematic's column (under the header: the
        replay's banner); no dock or saved layout can hide it."""
        self._column.insertWidget(index, widget)

    def log_event(self, text: str) -> None:
        self.events.log(text)

    def show_status(
        self, text: str, colour: QColor | None = None, timeout_ms: int = RESULT_SHOW_MS
    ) -> None:
        self.status_bar.show_message(text, colour, timeout_ms)

    def focus_device(self, device: str) -> bool:
        item = self.scene.device_item(device)
        if item is None:
            self.show_status(self.tr("{0} is not on the schematic").format(device))
            return False
        self.view.centerOn(item.sceneBoundingRect().center())
        return True

    def request_command(
        self, device: DeviceRef, op: CommandOp, detail: str = ""
    ) -> ConfirmCommandDialog | None:
        return self.commands.request(device, op, detail)

    def command_entry(
        self,
        menu: QMenu,
        device: DeviceRef,
        op: CommandOp,
        *,
        possible: bool = True,
        detail: str = "",
    ) -> CommandEntry:
        return self.commands.entry(menu, device, op, possible=possible, detail=detail)

    # -- state ------------------------------------------------------------------------------

    def _on_state(self, changes: Changes) -> None:
        self.scene.apply(self.session.state, changes)
        self.status_bar.refresh_sync()
        self.header.refresh_counts()

    def _on_synchronised(self, _synchronised: bool) -> None:
        # the scene greys out (or back in) everything when the data goes stale
        self.scene.apply(self.session.state, Changes())
        self.header.refresh_counts()

    def _on_tick(self) -> None:
        self.status_bar.tick()
        if self.annunciation is not None:
            self.annunciation.refresh_label()  # the stale time moves on

    # -- life -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop timers, forget the session, and wait for commands in flight to end."""
        self._tick.stop()
        self.bridge.close()
        if self.coupling_view is not None:
            self.coupling_view.close()
        if self.timetable_desk is not None:
            self.timetable_desk.close()
        self.control_bridge.close()
        await self.zones.aclose()
        if self.annunciation is not None:
            await self.annunciation.aclose()
        await self.commands.aclose()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            # Dock sizes given before the first show are overridden by the layout.
            if self.zones.dock is not None:
                self.resizeDocks([self.zones.dock], [400], Qt.Orientation.Horizontal)
            if self.annunciation is not None:
                self.resizeDocks([self.annunciation.dock], [330], Qt.Orientation.Vertical)
            else:
                self.resizeDocks([self.events], [150], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        # the runtime's quit guard (ui/quitguard.py) may keep the window open
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        self.closing.emit()
        event.accept()
