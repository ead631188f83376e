"""The dispatcher's main window: line overview, menus, status bar and event log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QLocale, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QKeySequence, QPen, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.alarms.consumer import FeedState
from app.alarms.service import AlarmService
from app.comms.link import LinkInfo, LinkState
from app.control.authority import ZoneAuthority
from app.control.pipeline import CommandRecord
from app.control.service import ControlMode, ControlService
from app.iscs.handoff import IscsHandoff, IscsState
from app.iscs.messages import Handoff, HandoffKind
from app.model.commands import CommandOp, CommandResult, parse_train_device
from app.model.state import Changes, SwitchPosition
from app.model.topology import Route
from app.session import LocalAlarm, MasterView
from ui import style
from ui.alarmlist import AlarmDock
from ui.bridge import ControlBridge, SessionBridge, SessionLike
from ui.commandlog import CommandLogDock
from ui.coupling import add_coupling_actions
from ui.coupling import install as install_coupling
from ui.dialogs import (
    CommandRequest,
    ConfirmCommandDialog,
    op_text,
    outcome_look,
    result_text,
)
from ui.i18n import add_language_menu, reason_text
from ui.items import Z, position_text
from ui.schematic import SchematicScene, SchematicView
from ui.workspace import Workspace
from ui.zones import ZoneDock, zone_look

log = logging.getLogger(__name__)

RESULT_SHOW_MS = 20_000
LOG_LIMIT = 500


def _colour(name: str, text: str) -> str:
    return f'<span style="color:{name}">{text}</span>'


class MainWindow(QMainWindow):
    """Shows one session's line; commands go through :class:`ConfirmCommandDialog`."""

    closing = Signal()
    commandSent = Signal(str, str)  # device, op: after confirmation, as it goes out

    def __init__(
        self,
        session: SessionLike,
        control: ControlService | None = None,
        alarms: AlarmService | None = None,
        parent: QWidget | None = None,
        iscs: IscsHandoff | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.control = control
        self.alarms = alarms
        self.iscs = iscs
        self.line = session.line
        self.bridge = SessionBridge(session, self)
        self.control_bridge = ControlBridge(control, self) if control is not None else None
        self.scene = SchematicScene(self.line, parent=self)
        self.view = SchematicView(self.scene)
        self.header = self._build_header()
        self.banner = QLabel()
        self.banner.setObjectName("controlBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            f"QLabel#controlBanner {{ background: {style.LINK_DOWN.name()}; color: #ffffff;"
            " font-weight: bold; padding: 6px 12px; }"
        )
        self.banner.hide()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.header)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.dialog: ConfirmCommandDialog | None = None
        self._shown = False
        self._tasks: set[asyncio.Task[CommandResult | None]] = set()
        self._synchronised: bool | None = None
        try:
            self._tz: dt.tzinfo | None = ZoneInfo(self.line.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self._tz = None

        self.setWindowTitle(
            self.tr("{0} {1} — dispatcher {2}").format(
                self.line.name_zh, self.line.name_en, session.dispatcher
            )
        )
        self._build_menus()
        self._build_status_bar()
        self._build_log_dock()
        self.zone_dock: ZoneDock | None = None
        self._zone_requests: dict[str, tuple[str, ...]] = {}  # to tell new requests
        self.command_log: CommandLogDock | None = None
        if self.control is not None:
            self._build_control_docks(self.control)
        self.alarm_dock: AlarmDock | None = None
        self.alarm_marks: dict[str, QGraphicsEllipseItem] = {}
        self.alarm_label = QLabel()
        self.alarm_label.setObjectName("alarmFeedLabel")
        self.alarm_label.setTextFormat(Qt.TextFormat.RichText)
        self.statusBar().insertPermanentWidget(2, self.alarm_label)
        if self.alarms is not None:
            self._build_alarm_dock(self.alarms)
        self.iscs_label = QLabel()
        self.iscs_label.setObjectName("iscsLabel")
        self.iscs_label.setTextFormat(Qt.TextFormat.RichText)
        self.statusBar().insertPermanentWidget(3, self.iscs_label)
        if self.iscs is not None:
            self.iscs.state_changed.connect(lambda _st: self._refresh_iscs())
            self.iscs.superseded.connect(self._on_iscs_superseded)
        self._refresh_iscs()
        self.coupling_view = install_coupling(self)  # dock, consists drawn, alarms

        self.bridge.stateChanged.connect(self._on_state)
        self.bridge.linksChanged.connect(self._on_links)
        self.bridge.commandFinished.connect(self._on_command_finished)
        self.bridge.masterChanged.connect(self._on_master)
        self.bridge.alarmRaised.connect(self._on_alarm)
        self.view.switchMenuRequested.connect(self._show_switch_menu)
        self.view.signalMenuRequested.connect(self._show_signal_menu)
        self.view.trainMenuRequested.connect(self._show_train_menu)
        self.view.stationMenuRequested.connect(self._show_station_menu)

        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()
        self.scene.apply(session.state, Changes(full=True))
        self._on_links(session.link_infos())
        self._on_master(session.master)
        self._on_tick()
        self._refresh_control()
        # last, once every dock exists: link health, find, saved layout, help
        self.workspace = Workspace(self, settings)
        self.language_menu = add_language_menu(self, self.log_menu, self.workspace.settings)

    # -- construction ----------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        self.quit_action = QAction(self.tr("&Quit"), self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu(self.tr("&View"))
        self.fit_action = QAction(self.tr("Zoom to &fit"), self)
        self.fit_action.setShortcut(QKeySequence(Qt.Key.Key_F))
        self.fit_action.triggered.connect(self.view.zoom_to_fit)
        zoom_in = QAction(self.tr("Zoom &in"), self)
        zoom_in.setShortcut(QKeySequence.StandardKey.ZoomIn)
        zoom_in.triggered.connect(self.view.zoom_in)
        zoom_out = QAction(self.tr("Zoom &out"), self)
        zoom_out.setShortcut(QKeySequence.StandardKey.ZoomOut)
        zoom_out.triggered.connect(self.view.zoom_out)
        for action in (self.fit_action, zoom_in, zoom_out):
            view_menu.addAction(action)
        view_menu.addSeparator()
        self.log_menu = view_menu

        help_menu = bar.addMenu(self.tr("&Help"))
        self.help_menu = help_menu
        self.about_action = QAction(self.tr("&About Dispatcher HMI"), self)
        self.about_action.triggered.connect(self._show_about)
        help_menu.addAction(self.about_action)

    def about_text(self) -> str:
        return self.tr("Dispatcher workstation (metro ATS HMI)\nVersion {0}").format(__version__)

    def _show_about(self) -> None:
        QMessageBox.about(self, self.tr("About Dispatcher HMI"), self.about_text())

    def _build_header(self) -> QFrame:
        """A strip above the schematic: the line, live counts, and who is at the desk."""
        header = QFrame()
        header.setObjectName("header")
        header.setStyleSheet(
            "QFrame#header { background: #1d2024; border-bottom: 1px solid #3a4047; }"
            "QLabel { color: #e6e9ed; }"
        )
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 6, 12, 6)
        row.setSpacing(24)
        name = QLabel(f"{self.line.name_zh}  ·  {self.line.name_en}")
        font = name.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        name.setFont(font)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("countsLabel")
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        desk = QLabel(
            self.tr("Workstation {0} · {1} ({2})").format(
                self.session.node, self.session.dispatcher, self.role_text(self.session.role)
            )
        )
        desk.setStyleSheet(f"color: {style.TEXT_SECONDARY.name()};")
        row.addWidget(name)
        row.addWidget(self.counts_label, 1)
        row.addWidget(desk)
        return header

    def role_text(self, role: str) -> str:
        return {
            "dispatcher": self.tr("dispatcher"),
            "supervisor": self.tr("supervisor"),
            "observer": self.tr("observer"),
        }.get(role, role)

    def _refresh_counts(self) -> None:
        state = self.session.state
        if not state.synchronised:
            self.counts_label.setText(_colour(style.ATTENTION.name(), self.tr("no live data")))
            return
        occupied = sum(1 for s in state.sections.values() if s.occupied)
        faults = sum(1 for s in state.sections.values() if s.fault)
        moving = sum(1 for w in state.switches.values() if w.position is SwitchPosition.MOVING)
        lost = sum(1 for w in state.switches.values() if w.position is SwitchPosition.LOST)
        reverse = sum(1 for w in state.switches.values() if w.position is SwitchPosition.REVERSE)

        def count(text: str, n: int, alarm: bool = False) -> str:
            value = str(n)
            if alarm and n:
                value = _colour(style.TRACK_OCCUPIED.name(), f"<b>{n}</b>")
            return f"{text} {value}"

        parts = [
            count(self.tr("Trains"), len(state.trains)),
            count(self.tr("Routes"), len(state.routes)),
            count(self.tr("Occupied"), occupied),
            count(self.tr("Switches reverse"), reverse),
            count(self.tr("moving"), moving),
            count(self.tr("lost"), lost, alarm=True),
            count(self.tr("Track faults"), faults, alarm=True),
        ]
        self.counts_label.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(parts))

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.links_widget = QWidget()
        self.links_layout = QHBoxLayout(self.links_widget)
        self.links_layout.setContentsMargins(0, 0, 0, 0)
        self.links_layout.setSpacing(14)
        self.link_labels: dict[str, QLabel] = {}
        self.master_label = QLabel()
        self.master_label.setObjectName("masterLabel")
        self.master_label.setTextFormat(Qt.TextFormat.RichText)
        self.sync_label = QLabel()
        self.sync_label.setObjectName("syncLabel")
        self.sync_label.setTextFormat(Qt.TextFormat.RichText)
        self.clock_label = QLabel()
        self.clock_label.setObjectName("clockLabel")
        font = self.clock_label.font()
        font.setFamilies(style.MONO_FAMILIES)
        self.clock_label.setFont(font)
        self.control_label = QLabel()
        self.control_label.setObjectName("controlLabel")
        self.control_label.setTextFormat(Qt.TextFormat.RichText)
        status.addPermanentWidget(self.links_widget)
        status.addPermanentWidget(self.master_label)
        status.addPermanentWidget(self.control_label)
        status.addPermanentWidget(self.sync_label)
        status.addPermanentWidget(self.clock_label)

    def _build_log_dock(self) -> None:
        self.log_list = QListWidget()
        self.log_list.setObjectName("eventLog")
        self.log_list.setAlternatingRowColors(False)
        dock = QDockWidget(self.tr("Event log"), self)
        dock.setObjectName("eventLogDock")
        dock.setWidget(self.log_list)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [110], Qt.Orientation.Vertical)
        self.log_menu.addAction(dock.toggleViewAction())
        self.log_dock = dock

    def _build_control_docks(self, control: ControlService) -> None:
        assert self.control_bridge is not None
        self.command_log = CommandLogDock(self.session.dispatcher, self._tz, self)
        self.command_log.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.command_log)
        self.tabifyDockWidget(self.log_dock, self.command_log)
        self.log_menu.addAction(self.command_log.toggleViewAction())
        self.control_bridge.commandStarted.connect(self.command_log.on_started)
        self.control_bridge.commandFinished.connect(self._on_pipeline_finished)
        if control.authority is not None:
            self.zone_dock = ZoneDock(control.authority, self)
            self.zone_dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.zone_dock)
            self.log_menu.addAction(self.zone_dock.toggleViewAction())
            self.zone_dock.message.connect(self.log_event)
        self.control_bridge.zoneChanged.connect(self._on_zone)
        self.control_bridge.availabilityChanged.connect(self._on_control_availability)
        self.control_bridge.statusChanged.connect(lambda _status: self._refresh_control())

    # -- alarms -------------------------------------------------------------------------

    def _build_alarm_dock(self, alarms: AlarmService) -> None:
        line = self.line
        dock = AlarmDock(
            alarms,
            language="en" if QLocale().name().startswith("en") else "zh_CN",
            tz=self._tz,
            station_name=lambda sid: (
                line.station_by_id[sid].name_zh if sid in line.station_by_id else sid
            ),
            stations=[(s.id, f"{s.name_zh} {s.name_en}") for s in line.stations],
            zones=[z.id for z in line.zones],
            can_acknowledge=self.session.role != "observer",
            parent=self,
        )
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        # The alarm list is what a dispatcher watches most: bottom, in front of the logs.
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.tabifyDockWidget(self.log_dock, dock)
        dock.raise_()
        self.log_menu.addAction(dock.toggleViewAction())
        dock.focusDevice.connect(self.focus_device)
        dock.openInIscs.connect(
            lambda aid, device, station: self.open_in_iscs(
                HandoffKind.SHOW_ALARM, alarm_id=aid, device=device, station=station
            )
        )
        dock.set_iscs_available(self.iscs is not None)
        dock.message.connect(self.log_event)
        dock.bridge.changed.connect(lambda _c: self._refresh_alarm_marks())
        dock.bridge.statusChanged.connect(lambda _s: self._refresh_alarm_label())
        self.alarm_dock = dock
        self._blink_alarms = QTimer(self)
        self._blink_alarms.setInterval(500)
        self._blink_alarms.timeout.connect(self._toggle_alarm_marks)
        self._blink_alarms.start()
        self._refresh_alarm_label()

    def device_item(self, device: str) -> QGraphicsItem | None:
        scene = self.scene
        train_id = parse_train_device(device)
        if train_id is not None:
            return scene.train_items.get(train_id)
        for items in (scene.switch_items, scene.signal_items, scene.section_items):
            item = items.get(device)
            if item is not None:
                return item
        return None

    def focus_device(self, device: str) -> bool:
        """Centre the schematic on ``device`` (switch, signal, section or train:<id>)."""
        item = self.device_item(device)
        if item is None:
            self.show_status(self.tr("{0} is not on the schematic").format(device))
            return False
        self.view.centerOn(item.sceneBoundingRect().center())
        return True

    def _refresh_alarm_marks(self) -> None:
        """A ring around every device with an unacknowledged alarm (it blinks)."""
        if self.alarms is None:
            return
        wanted = {d for d in self.alarms.list.unacked_devices() if self.device_item(d)}
        for device in list(self.alarm_marks):
            if device not in wanted:
                self.scene.removeItem(self.alarm_marks.pop(device))
        for device in wanted - set(self.alarm_marks):
            item = self.device_item(device)
            assert item is not None
            centre = item.sceneBoundingRect().center()
            ring = QGraphicsEllipseItem(centre.x() - 7, centre.y() - 7, 14, 14)
            pen = QPen(style.ATTENTION, 1.6)
            pen.setStyle(Qt.PenStyle.DashLine)  # a shape, not only a colour
            ring.setPen(pen)
            ring.setZValue(Z.BANNER)
            ring.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.scene.addItem(ring)
            self.alarm_marks[device] = ring

    def _toggle_alarm_marks(self) -> None:
        for ring in self.alarm_marks.values():
            ring.setVisible(not ring.isVisible())

    def _refresh_alarm_label(self) -> None:
        if self.alarms is None:
            self.alarm_label.setText("")
            return
        st = self.alarms.status
        stale = self.alarms.stale_for_s()
        if stale is not None:
            text = _colour(
                style.LINK_DOWN.name(), "■ " + self.tr("ALARMS STALE {0} s").format(int(stale))
            )
        elif st.state is FeedState.LIVE:
            text = _colour(style.LINK_UP.name(), "● " + self.tr("Alarms live"))
            if st.lag > 0:
                text += " " + self.tr("lag {0}").format(st.lag)
        elif st.state in (FeedState.STARTING, FeedState.CATCHING_UP):
            text = _colour(
                style.ATTENTION.name(),
                "◆ " + self.tr("Alarms catching up {0}%").format(int(st.progress * 100)),
            )
        else:
            state = {FeedState.STALE: self.tr("stale"), FeedState.STOPPED: self.tr("stopped")}
            text = _colour(
                style.TEXT_MUTED.name(),
                self.tr("Alarms: {0}").format(state.get(st.state, st.state.value)),
            )
        self.alarm_label.setText(text)
        self.alarm_label.setToolTip(
            self.tr("topic {0}, offset {1}, lag {2}, malformed {3}").format(
                st.topic, st.offset, st.lag, st.bad_records
            )
        )

    # -- ISCS ---------------------------------------------------------------------------

    def _add_iscs_entry(self, menu: QMenu, device: str) -> None:
        menu.addSeparator()
        action = menu.addAction(self.tr("Open in ISCS"))
        action.setObjectName("openInIscs")
        action.setEnabled(self.iscs is not None)
        action.triggered.connect(lambda: self.open_in_iscs(HandoffKind.SHOW_DEVICE, device=device))

    def open_in_iscs(
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
        self.log_event(self.tr("ISCS: {0} {1}").format(what, device or station or alarm_id))
        return True

    def _station_of(self, device: str) -> str:
        line = self.line
        x = None
        if device in line.switch_by_id:
            x = line.switch_by_id[device].x
        elif device in line.signal_by_id:
            x = line.signal_by_id[device].x
        if x is None or not line.stations:
            return ""
        return min(line.stations, key=lambda st: abs(st.x - x)).id

    def _on_iscs_superseded(self, item: Handoff) -> None:
        self.log_event(
            self.tr("ISCS not keeping up: an older {0} was replaced by a newer one").format(
                item.kind.value
            )
        )

    def _refresh_iscs(self) -> None:
        if self.iscs is None:
            self.iscs_label.setText("")
            return
        st = self.iscs.status()
        text, colour = {
            IscsState.NOT_RUNNING: (self.tr("ISCS not running"), style.TEXT_MUTED),
            IscsState.STARTING: (self.tr("ISCS starting"), style.ATTENTION),
            IscsState.READY: (self.tr("ISCS ready"), style.LINK_UP),
            IscsState.NOT_ANSWERING: (self.tr("ISCS NOT ANSWERING"), style.LINK_DOWN),
        }[st.state]
        self.iscs_label.setText(_colour(colour.name(), "● " + text))
        self.iscs_label.setToolTip(
            self.tr("pending {0}, delivered {1}, replaced {2}, launches {3}").format(
                st.pending, st.delivered, st.superseded, st.launches
            )
        )

    # -- zone control -------------------------------------------------------------------

    def _on_zone(self, state: ZoneAuthority) -> None:
        store = self.control.authority if self.control is not None else None
        if store is None:
            return
        self.scene.set_zone_look(state.zone, zone_look(state, store.who, store.available))
        if self.zone_dock is not None:
            self.zone_dock.show_zone(state.zone, state, store.available)
            self.zone_dock.refresh_buttons()
        before = self._zone_requests.get(state.zone, ())
        self._zone_requests[state.zone] = tuple(state.requests)
        if state.holder == store.who:
            for asker in state.requests:
                if asker != store.who and asker not in before:
                    zone = self.line.zone_by_id.get(state.zone)
                    text = self.tr("{0} asks for zone {1} {2}: grant or keep it in Zone control")
                    text = text.format(asker, state.zone, zone.name_zh if zone else "")
                    self.log_event(text)
                    self.statusBar().showMessage(text, 15_000)

    def _on_control_availability(self, available: bool) -> None:
        self.log_event(
            self.tr("Zone control available again")
            if available
            else self.tr("Zone control unavailable: commands refused")
        )
        self._refresh_control()

    def _refresh_control(self) -> None:
        """The status-bar label, the banner, every zone bracket and the zone dock."""
        control = self.control
        if control is None:
            self.control_label.setText(
                _colour(style.TEXT_MUTED.name(), self.tr("no command pipeline"))
            )
            return
        status = control.status()
        if status.mode is ControlMode.LOCAL:
            text = _colour(style.ATTENTION.name(), "◆ " + self.tr("single-workstation lock"))
        elif status.ok:
            text = _colour(style.LINK_UP.name(), "● " + self.tr("Redis up"))
        else:
            text = _colour(style.LINK_DOWN.name(), "■ " + self.tr("REDIS DOWN"))
        self.control_label.setText(text)
        self.control_label.setToolTip(reason_text(status.detail))
        if status.ok:
            self.banner.hide()
        else:
            self.banner.setText(
                self.tr("Zone control unavailable: every command is refused. {0}").format(
                    reason_text(status.detail)
                )
            )
            self.banner.show()
        store = control.authority
        if store is not None:
            snapshot = store.snapshot()
            for zone in self.line.zones:
                self.scene.set_zone_look(
                    zone.id, zone_look(snapshot.get(zone.id), store.who, store.available)
                )
            if self.zone_dock is not None:
                self.zone_dock.refresh()

    def _on_pipeline_finished(self, rec: CommandRecord) -> None:
        if self.command_log is not None:
            self.command_log.on_finished(rec)
        if rec.joined:
            return
        self.log_event(result_text(rec.result))
        self.show_status(result_text(rec.result), outcome_look(rec.result.outcome)[1])

    # -- state ------------------------------------------------------------------------------

    def _on_state(self, changes: Changes) -> None:
        self.scene.apply(self.session.state, changes)
        self._refresh_sync()
        self._refresh_counts()

    def _refresh_sync(self) -> None:
        state = self.session.state
        synced = state.synchronised
        if synced:
            self.sync_label.setText(
                _colour(style.LINK_UP.name(), "●")
                + " "
                + self.tr("Line state synchronised (seq {0})").format(state.seq)
            )
        else:
            self.sync_label.setText(
                _colour(style.ATTENTION.name(), "●")
                + " "
                + _colour(style.ATTENTION.name(), self.tr("Waiting for snapshot"))
            )
        if synced != self._synchronised:
            if self._synchronised is not None:
                self.log_event(
                    self.tr("Line state synchronised")
                    if synced
                    else self.tr("Line state not current: waiting for a snapshot")
                )
            self._synchronised = synced
            # the scene greys out (or back in) everything when the data goes stale
            self.scene.apply(state, Changes())
            self._refresh_counts()

    def _on_links(self, infos: list[LinkInfo]) -> None:
        per_server: dict[str, int] = {}
        for info in infos:
            per_server[info.server] = per_server.get(info.server, 0) + 1
            short = f"{info.server}{per_server[info.server]}"
            label = self.link_labels.get(info.name)
            if label is None:
                label = QLabel()
                label.setObjectName(f"link:{info.name}")
                label.setTextFormat(Qt.TextFormat.RichText)
                self.links_layout.addWidget(label)
                self.link_labels[info.name] = label
            old = label.property("linkState")
            label.setText(self.link_text(info, short))
            label.setToolTip(self.link_tooltip(info))
            label.setProperty("linkState", info.state.value)
            # log what matters to the dispatcher: a link coming up, and an up link lost
            # (not every reconnect attempt of a link that stays down)
            was_up = old == LinkState.UP.value
            if old is not None and (info.state is LinkState.UP) != was_up:
                self.log_event(
                    self.tr("Link {0} {1}:{2} is {3}").format(
                        info.server, info.host, info.port, self.link_state_text(info.state)
                    )
                )
        self._refresh_sync()

    def link_state_text(self, state: LinkState) -> str:
        return {
            LinkState.DOWN: self.tr("down"),
            LinkState.CONNECTING: self.tr("connecting"),
            LinkState.HANDSHAKE: self.tr("handshake"),
            LinkState.UP: self.tr("up"),
            LinkState.DRAINING: self.tr("closing"),
            LinkState.CLOSED: self.tr("closed"),
        }[state]

    def link_text(self, info: LinkInfo, short: str) -> str:
        """Compact: server and network number, state, round-trip time (details in the tooltip)."""
        if info.state is LinkState.UP:
            colour = style.LINK_UP
        elif info.state is LinkState.DOWN:
            colour = style.LINK_DOWN
        else:
            colour = style.LINK_PENDING
        text = f"{short} {self.link_state_text(info.state)}"
        if info.state is LinkState.UP and info.rtt_ms is not None:
            text += f" {info.rtt_ms:.0f} ms"
        return _colour(colour.name(), "● " + text)

    def link_tooltip(self, info: LinkInfo) -> str:
        lines = [
            self.tr("Server {0} at {1}:{2}: {3}").format(
                info.server, info.host, info.port, self.link_state_text(info.state)
            )
        ]
        if info.peer_role:
            lines.append(self.tr("role {0}, epoch {1}").format(info.peer_role, info.peer_epoch))
        if info.rtt_ms is not None:
            lines.append(self.tr("round trip {0:.1f} ms").format(info.rtt_ms))
        if info.last_rx_age_s is not None:
            lines.append(self.tr("last frame {0:.1f} s ago").format(info.last_rx_age_s))
        lines.append(
            self.tr("reconnects {0}, bad frames {1}, bad datagrams {2}").format(
                info.reconnects, info.bad_frames, info.bad_datagrams
            )
        )
        if info.last_error:
            lines.append(self.tr("last error: {0}").format(info.last_error))
        return "\n".join(lines)

    def _on_master(self, view: MasterView) -> None:
        alarm = self.session.alarms.get("dual_master")
        if view.server is None:
            text = _colour(style.LINK_DOWN.name(), self.tr("No server reachable"))
        elif view.role == "master":
            text = _colour(
                style.LINK_UP.name(),
                self.tr("Master {0} (epoch {1})").format(view.server, view.epoch),
            )
        else:
            text = _colour(
                style.ATTENTION.name(),
                self.tr("Master unreachable: showing standby {0}").format(view.server),
            )
        if alarm is not None:
            text = _colour(style.LINK_DOWN.name(), self.tr("DUAL MASTER")) + " · " + text
        self.master_label.setText(text)
        self.master_label.setToolTip(alarm.text if alarm is not None else "")

    def _on_alarm(self, alarm: LocalAlarm) -> None:
        self.log_event(
            (self.tr("ALARM: {0}") if alarm.active else self.tr("Cleared: {0}")).format(alarm.text)
        )
        self._on_master(self.session.master)

    def _on_tick(self) -> None:
        now = dt.datetime.now(self._tz) if self._tz is not None else dt.datetime.now()
        self.clock_label.setText(now.strftime("%Y-%m-%d %H:%M:%S"))
        self._on_links(self.session.link_infos())  # round-trip times and ages move on
        if self.alarms is not None:
            self._refresh_alarm_label()  # the stale time moves on

    # -- event log --------------------------------------------------------------------------

    def log_event(self, text: str) -> None:
        now = dt.datetime.now(self._tz) if self._tz is not None else dt.datetime.now()
        self.log_list.insertItem(0, f"{now:%H:%M:%S}  {text}")
        while self.log_list.count() > LOG_LIMIT:
            self.log_list.takeItem(self.log_list.count() - 1)

    def _on_command_finished(self, result: CommandResult) -> None:
        if self.control is None:  # with a pipeline, its records are logged instead
            self.log_event(result_text(result))

    # -- commands ---------------------------------------------------------------------------

    def _can_command(self) -> str:
        """Why commands are impossible now, or "" when they are possible."""
        if self.session.role == "observer":
            return self.tr("observer workstation: commands disabled")
        if not self.session.state.synchronised:
            return self.tr("no live data: commands disabled")
        if not self.session.master.can_command:
            return self.tr("master unreachable: commands disabled")
        if self.control is not None and not self.control.status().ok:
            return self.tr("zone control unavailable (Redis down): commands refused")
        return ""

    def _zone_block(self, device: str) -> str:
        """For a context menu: why this dispatcher may not command ``device`` now."""
        return self.authority_block(device, CommandOp.THROW_NORMAL)

    def authority_block(self, device: str, op: CommandOp) -> str:
        """Why this dispatcher may not command ``device`` now ("" when they may)."""
        if self.control is None:
            return ""
        pipeline = self.control.pipeline
        return reason_text(pipeline.check(pipeline.intent(device, op)))

    def _zone_text(self, device: str) -> str:
        zid = self.session.state.zone_of(device)  # a train's: its section's zone
        if zid is None:
            return ""
        zone = self.line.zone_by_id.get(zid)
        return f"{zid} {zone.name_zh} ({zone.name_en})" if zone else zid

    def switch_menu(self, switch_id: str) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("switchMenu")
        menu.setTitle(self.tr("Switch {0}").format(switch_id))
        title = menu.addAction(self.tr("Switch {0}").format(switch_id))
        title.setEnabled(False)
        menu.addSeparator()
        rec = self.session.state.switches.get(switch_id)
        blocked = self._can_command() or self._zone_block(switch_id)
        for op, lies in (
            (CommandOp.THROW_NORMAL, SwitchPosition.NORMAL),
            (CommandOp.THROW_REVERSE, SwitchPosition.REVERSE),
        ):
            action = menu.addAction(op_text(op))
            action.setObjectName(op.value)
            action.setEnabled(
                not blocked and (rec is None or (rec.position is not lies and not rec.locked))
            )
            request = CommandRequest(switch_id, self.tr("switch"), op, self._zone_text(switch_id))
            action.triggered.connect(self._requester(request))
        menu.addSeparator()
        locked = rec is not None and rec.locked
        moving = rec is not None and rec.position is SwitchPosition.MOVING
        for op, enabled in (
            (CommandOp.LOCK_SWITCH, not locked and not moving),
            (CommandOp.UNLOCK_SWITCH, locked),
        ):
            action = menu.addAction(op_text(op))
            action.setObjectName(op.value)
            action.setEnabled(not blocked and enabled)
            request = CommandRequest(switch_id, self.tr("switch"), op, self._zone_text(switch_id))
            action.triggered.connect(self._requester(request))
        if locked:
            menu.addAction(self.tr("Locked (单锁): unlock before throwing")).setEnabled(False)
        if blocked:
            menu.addSeparator()
            menu.addAction(blocked).setEnabled(False)
        self._add_iscs_entry(menu, switch_id)
        return menu

    def signal_menu(self, signal_id: str) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("signalMenu")
        title = menu.addAction(self.tr("Signal {0}").format(signal_id))
        title.setEnabled(False)
        menu.addSeparator()
        blocked = self._can_command() or self._zone_block(signal_id)
        routes = [r for r in self.line.routes if r.entry == signal_id]
        live = self.session.state.routes
        sig = self.session.state.signals.get(signal_id)
        closed = sig is not None and sig.closed
        set_menu = menu.addMenu(self.tr("Set route"))
        set_menu.setObjectName("setRouteMenu")
        cancel_menu = menu.addMenu(self.tr("Cancel route"))
        cancel_menu.setObjectName("cancelRouteMenu")
        for route in routes:
            action = set_menu.addAction(self._route_label(route))
            action.setObjectName(route.id)
            action.setEnabled(not blocked and not closed and route.id not in live)
            action.triggered.connect(
                self._requester(self._route_request(route, CommandOp.SET_ROUTE))
            )
            if route.id in live:
                cancel = cancel_menu.addAction(self._route_label(route))
                cancel.setObjectName(route.id)
                cancel.setEnabled(not blocked)
                cancel.triggered.connect(
                    self._requester(self._route_request(route, CommandOp.CANCEL_ROUTE))
                )
        set_menu.setEnabled(bool(routes))
        cancel_menu.setEnabled(not cancel_menu.isEmpty())
        if not routes:
            menu.addAction(self.tr("No routes start at this signal")).setEnabled(False)
        menu.addSeparator()
        for op, enabled in (
            (CommandOp.CLOSE_SIGNAL, not closed),
            (CommandOp.REOPEN_SIGNAL, closed),
        ):
            action = menu.addAction(op_text(op))
            action.setObjectName(op.value)
            action.setEnabled(not blocked and enabled)
            request = CommandRequest(signal_id, self.tr("signal"), op, self._zone_text(signal_id))
            action.triggered.connect(self._requester(request))
        if closed:
            note = menu.addAction(self.tr("Closed (封闭): reopen before setting a route"))
            note.setEnabled(False)
        if blocked:
            menu.addSeparator()
            menu.addAction(blocked).setEnabled(False)
        self._add_iscs_entry(menu, signal_id)
        return menu

    def train_menu(self, device: str) -> QMenu:
        """Hold or release a train; ``device`` is its command device id, ``train:<id>``."""
        menu = QMenu(self)
        menu.setObjectName("trainMenu")
        train_id = parse_train_device(device)
        train = self.session.state.trains.get(train_id) if train_id is not None else None
        name = (
            self.tr("Train {0} (#{1})").format(train.number, train.id)
            if train is not None
            else self.tr("Train {0}").format(device)
        )
        title = menu.addAction(name)
        title.setEnabled(False)
        menu.addSeparator()
        blocked = self._can_command() or self._zone_block(device)
        held = train is not None and train.held
        for op, enabled in ((CommandOp.HOLD_TRAIN, not held), (CommandOp.RELEASE_TRAIN, held)):
            action = menu.addAction(op_text(op))
            action.setObjectName(op.value)
            action.setEnabled(not blocked and train is not None and enabled)
            detail = (
                self.tr("train {0}, in section {1}").format(train.number, train.section)
                if train is not None
                else ""
            )
            request = CommandRequest(device, self.tr("train"), op, self._zone_text(device), detail)
            action.triggered.connect(self._requester(request))
        add_coupling_actions(self, menu, device, train, blocked)  # 联挂 / 解编
        if train is None:
            menu.addAction(self.tr("This train is no longer reported")).setEnabled(False)
        if blocked:
            menu.addSeparator()
            menu.addAction(blocked).setEnabled(False)
        menu.addSeparator()
        follow = menu.addAction(self.tr("Follow on the schematic"))
        follow.setObjectName("followTrain")
        follow.setEnabled(train is not None)
        if train_id is not None:
            tid = train_id
            follow.triggered.connect(lambda: self.workspace.follow(tid))
        self._add_iscs_entry(menu, device)
        return menu

    def station_menu(self, station_id: str) -> QMenu:
        """What a station offers: its alarms in the list, and its view in the ISCS program."""
        menu = QMenu(self)
        menu.setObjectName("stationMenu")
        st = self.line.station_by_id.get(station_id)
        title = menu.addAction(
            self.tr("Station {0} {1}").format(st.name_zh, st.name_en) if st else station_id
        )
        title.setEnabled(False)
        detail = menu.addAction(self.tr("Show in station detail"))
        detail.setObjectName("stationDetail")
        detail.triggered.connect(lambda: self.show_station_detail(station_id))
        dock = getattr(self, "alarm_dock", None)
        if dock is not None:
            menu.addSeparator()
            show = menu.addAction(self.tr("Show this station's alarms"))
            show.setObjectName("stationAlarms")
            show.triggered.connect(lambda: dock.show_station(station_id))
        menu.addSeparator()
        action = menu.addAction(self.tr("Open in ISCS"))
        action.setObjectName("openInIscs")
        action.setEnabled(self.iscs is not None)
        action.triggered.connect(
            lambda: self.open_in_iscs(HandoffKind.SHOW_STATION, station=station_id)
        )
        return menu

    def show_station_detail(self, station_id: str) -> bool:
        dock = self.workspace.detail
        dock.show()
        dock.raise_()
        return dock.show_station(station_id)

    def _route_label(self, route: Route) -> str:
        short = {"normal": self.tr("N", "switch normal"), "reverse": self.tr("R", "switch reverse")}
        legs = ", ".join(f"{s.switch} {short[s.position.value]}" for s in route.switches)
        text = self.tr("to {0}").format(route.exit)
        return f"{text}  [{legs}]" if legs else text

    def _route_request(self, route: Route, op: CommandOp) -> CommandRequest:
        detail = self.tr("from {0} to {1}; sections {2}").format(
            route.entry, route.exit, ", ".join(route.sections)
        )
        if route.switches:
            detail += "; " + self.tr("switches {0}").format(
                ", ".join(
                    f"{s.switch} {position_text(SwitchPosition(s.position.value))}"
                    for s in route.switches
                )
            )
        return CommandRequest(route.id, self.tr("route"), op, self._zone_text(route.entry), detail)

    def _requester(self, request: CommandRequest) -> Callable[[], None]:
        def trigger() -> None:
            self.request_command(request)

        return trigger

    def _show_switch_menu(self, switch_id: str, at: QPoint) -> None:
        self._popup(self.switch_menu(switch_id), at)

    def _show_signal_menu(self, signal_id: str, at: QPoint) -> None:
        self._popup(self.signal_menu(signal_id), at)

    def _show_train_menu(self, device: str, at: QPoint) -> None:
        self._popup(self.train_menu(device), at)

    def _show_station_menu(self, station_id: str, at: QPoint) -> None:
        self._popup(self.station_menu(station_id), at)

    @staticmethod
    def _popup(menu: QMenu, at: QPoint) -> None:
        # a menu is built for each click: let it go once it closes
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(at)

    def request_command(self, request: CommandRequest) -> ConfirmCommandDialog | None:
        """Step two: open the confirmation dialog; the command goes out only on confirm.

        Refused here, with the reason in the status bar and the event log, when
        this dispatcher has no authority over the device's zone.
        """
        blocked = self.authority_block(request.device, request.op)
        if blocked:
            text = self.tr("Not sent: {0} {1}: {2}").format(
                op_text(request.op), request.device, blocked
            )
            self.show_status(text, style.ATTENTION)
            self.log_event(text)
            return None
        if self.dialog is not None:
            self.dialog.reject()
        dialog = ConfirmCommandDialog(request, self)
        self.dialog = dialog

        def finished(code: int) -> None:
            if self.dialog is dialog:
                self.dialog = None
            dialog.deleteLater()
            if code == ConfirmCommandDialog.DialogCode.Accepted:
                self.send_command(request)
            else:
                self.show_status(
                    self.tr("Cancelled: {0} {1}").format(op_text(request.op), request.device),
                    timeout_ms=5000,
                )

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def send_command(self, request: CommandRequest) -> None:
        self.show_status(self.tr("Sending: {0} {1} …").format(op_text(request.op), request.device))
        self.log_event(self.tr("Confirmed: {0} {1}").format(op_text(request.op), request.device))
        self.commandSent.emit(request.device, request.op.value)
        task = asyncio.get_running_loop().create_task(self._run_command(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_command(self, request: CommandRequest) -> CommandResult | None:
        if self.control is not None:
            # The pipeline: authority, device lock, key and token, audit. Its
            # record reaches the log and the status bar (_on_pipeline_finished).
            pipeline = self.control.pipeline
            return await pipeline.execute(pipeline.intent(request.device, request.op))
        try:
            result = await self.session.command(request.device, request.op)
        except Exception as exc:  # the session promises not to raise; a fake might
            log.exception("command %s %s raised", request.op, request.device)
            self.statusBar().showMessage(self.tr("Command error: {0}").format(exc), RESULT_SHOW_MS)
            return None
        self.show_status(result_text(result), outcome_look(result.outcome)[1])
        return result

    def show_status(
        self, text: str, colour: QColor | None = None, timeout_ms: int = RESULT_SHOW_MS
    ) -> None:
        """A transient message in the status bar, optionally coloured (command results)."""
        sheet = f"QStatusBar {{ color: {colour.name()}; }}" if colour is not None else ""
        self.statusBar().setStyleSheet(sheet)
        self.statusBar().showMessage(text, timeout_ms)

    # -- life -------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop timers, forget the session, and wait for commands in flight to end."""
        self._tick.stop()
        self.bridge.detach()
        if self.coupling_view is not None:
            self.coupling_view.detach()
        if self.control_bridge is not None:
            self.control_bridge.detach()
        if self.zone_dock is not None:
            await self.zone_dock.shutdown()
        if self.alarm_dock is not None:
            self._blink_alarms.stop()
            self.alarm_dock.shutdown()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            # Dock sizes given before the first show are overridden by the layout.
            if self.zone_dock is not None:
                self.resizeDocks([self.zone_dock], [400], Qt.Orientation.Horizontal)
            bottom = self.alarm_dock if self.alarm_dock is not None else self.log_dock
            self.resizeDocks([bottom], [330 if self.alarm_dock else 150], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        event.accept()
