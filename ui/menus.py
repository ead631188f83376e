"""The window's menus: the menu bar (File, View, Help) and each device's context menu.

A device's menu (right-click on the schematic) offers its commands through the
command flow (:mod:`ui.commands`): an entry the device's state or this desk's
authority rules out is shown disabled, and why is said at the menu's foot.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from app import __version__
from app.iscs.messages import HandoffKind
from app.model.commands import CommandOp
from app.model.devices import DeviceKind, DeviceRef
from app.model.state import SwitchPosition
from app.model.topology import Route
from ui.coupling import add_coupling_actions
from ui.host import Host
from ui.iscsactions import IscsActions
from ui.items import position_text
from ui.names import train_name
from ui.schematic import SchematicView


class MenuBar(QObject):
    """File (Quit), View (zoom; the docks and the workspace add theirs), Help (About)."""

    def __init__(self, window: QMainWindow, view: SchematicView) -> None:
        super().__init__(window)
        self.window = window
        self.about_extra = ""  # e.g. how a second desk joins the demo (ui/runtime.py)
        bar = window.menuBar()
        file_menu = self.file_menu = bar.addMenu(self.tr("&File"))
        self.quit_action = QAction(self.tr("&Quit"), window)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(window.close)
        file_menu.addAction(self.quit_action)

        self.view_menu = bar.addMenu(self.tr("&View"))
        self.fit_action = QAction(self.tr("Zoom to &fit"), window)
        self.fit_action.setShortcut(QKeySequence(Qt.Key.Key_F))
        self.fit_action.triggered.connect(view.zoom_to_fit)
        zoom_in = QAction(self.tr("Zoom &in"), window)
        zoom_in.setShortcut(QKeySequence.StandardKey.ZoomIn)
        zoom_in.triggered.connect(view.zoom_in)
        zoom_out = QAction(self.tr("Zoom &out"), window)
        zoom_out.setShortcut(QKeySequence.StandardKey.ZoomOut)
        zoom_out.triggered.connect(view.zoom_out)
        for action in (self.fit_action, zoom_in, zoom_out):
            self.view_menu.addAction(action)
        self.view_menu.addSeparator()

        self.help_menu = bar.addMenu(self.tr("&Help"))
        self.about_action = QAction(self.tr("&About Dispatcher HMI"), window)
        self.about_action.triggered.connect(self.show_about)
        self.help_menu.addAction(self.about_action)

    def about_text(self) -> str:
        text = self.tr("Dispatcher workstation (metro ATS HMI)\nVersion {0}").format(__version__)
        return f"{text}\n\n{self.about_extra}" if self.about_extra else text

    def show_about(self) -> None:
        QMessageBox.about(self.window, self.tr("About Dispatcher HMI"), self.about_text())


class DeviceMenus(QObject):
    """The context menus of the schematic: a switch's, a signal's, a train's, a station's."""

    def __init__(
        self,
        host: Host,
        iscs: IscsActions,
        *,
        follow: Callable[[int], object],
        station_detail: Callable[[str], object],
        station_alarms: Callable[[str], None] | None,
    ) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.session = host.session
        self.line = host.session.line
        self.iscs = iscs
        self._follow = follow
        self._station_detail = station_detail
        self._station_alarms = station_alarms
        view = host.view
        view.switchMenuRequested.connect(lambda d, at: self._popup(self.switch_menu(d), at))
        view.signalMenuRequested.connect(lambda d, at: self._popup(self.signal_menu(d), at))
        view.trainMenuRequested.connect(lambda d, at: self._popup(self.train_menu(d), at))
        view.stationMenuRequested.connect(lambda s, at: self._popup(self.station_menu(s), at))

    @staticmethod
    def _popup(menu: QMenu, at: QPoint) -> None:
        # a menu is built for each click: let it go once it closes
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(at)

    def _menu(self, name: str) -> QMenu:
        menu = QMenu(self.host.main_window)
        menu.setObjectName(name)
        return menu

    @staticmethod
    def _foot(menu: QMenu, refusals: list[str]) -> None:
        """Why the commands are disabled, once, at the foot of the commands."""
        blocked = next((r for r in refusals if r), "")
        if blocked:
            menu.addSeparator()
            menu.addAction(blocked).setEnabled(False)

    def switch_menu(self, switch_id: str) -> QMenu:
        menu = self._menu("switchMenu")
        menu.setTitle(self.tr("Switch {0}").format(switch_id))
        title = menu.addAction(self.tr("Switch {0}").format(switch_id))
        title.setEnabled(False)
        menu.addSeparator()
        rec = self.session.state.switches.get(switch_id)
        ref = DeviceRef(DeviceKind.SWITCH, switch_id)
        refusals = []
        for op, lies in (
            (CommandOp.THROW_NORMAL, SwitchPosition.NORMAL),
            (CommandOp.THROW_REVERSE, SwitchPosition.REVERSE),
        ):
            possible = rec is None or (rec.position is not lies and not rec.locked)
            refusals.append(self.host.command_entry(menu, ref, op, possible=possible).refusal)
        menu.addSeparator()
        locked = rec is not None and rec.locked
        moving = rec is not None and rec.position is SwitchPosition.MOVING
        for op, enabled in (
            (CommandOp.LOCK_SWITCH, not locked and not moving),
            (CommandOp.UNLOCK_SWITCH, locked),
        ):
            refusals.append(self.host.command_entry(menu, ref, op, possible=enabled).refusal)
        if locked:
            menu.addAction(self.tr("Locked (单锁): unlock before throwing")).setEnabled(False)
        self._foot(menu, refusals)
        menu.addSeparator()
        self.iscs.add_entry(menu, HandoffKind.SHOW_DEVICE, device=switch_id)
        return menu

    def signal_menu(self, signal_id: str) -> QMenu:
        menu = self._menu("signalMenu")
        title = menu.addAction(self.tr("Signal {0}").format(signal_id))
        title.setEnabled(False)
        menu.addSeparator()
        routes = [r for r in self.line.routes if r.entry == signal_id]
        live = self.session.state.routes
        sig = self.session.state.signals.get(signal_id)
        closed = sig is not None and sig.closed
        set_menu = menu.addMenu(self.tr("Set route"))
        set_menu.setObjectName("setRouteMenu")
        cancel_menu = menu.addMenu(self.tr("Cancel route"))
        cancel_menu.setObjectName("cancelRouteMenu")
        route_refusals = []
        for route in routes:
            ref = DeviceRef(DeviceKind.ROUTE, route.id)
            entry = self.host.command_entry(
                set_menu,
                ref,
                CommandOp.SET_ROUTE,
                possible=not closed and route.id not in live,
                detail=self._route_detail(route),
            )
            entry.action.setText(self._route_label(route))
            entry.action.setObjectName(route.id)
            route_refusals.append(entry.refusal)
            if route.id in live:
                entry = self.host.command_entry(
                    cancel_menu, ref, CommandOp.CANCEL_ROUTE, detail=self._route_detail(route)
                )
                entry.action.setText(self._route_label(route))
                entry.action.setObjectName(route.id)
        set_menu.setEnabled(bool(routes))
        cancel_menu.setEnabled(not cancel_menu.isEmpty())
        if not routes:
            menu.addAction(self.tr("No routes start at this signal")).setEnabled(False)
        menu.addSeparator()
        ref = DeviceRef(DeviceKind.SIGNAL, signal_id)
        refusals = [
            self.host.command_entry(menu, ref, op, possible=enabled).refusal
            for op, enabled in (
                (CommandOp.CLOSE_SIGNAL, not closed),
                (CommandOp.REOPEN_SIGNAL, closed),
            )
        ]
        if closed:
            note = menu.addAction(self.tr("Closed (封闭): reopen before setting a route"))
            note.setEnabled(False)
        self._foot(menu, refusals + route_refusals)
        menu.addSeparator()
        self.iscs.add_entry(menu, HandoffKind.SHOW_DEVICE, device=signal_id)
        return menu

    def train_menu(self, device: str) -> QMenu:
        """Hold or release a train; ``device`` is its command device id, ``train:<id>``."""
        menu = self._menu("trainMenu")
        ref = DeviceRef(DeviceKind.TRAIN, device)
        train_id = ref.train_id
        train = self.session.state.trains.get(train_id) if train_id is not None else None
        # by its number, as everywhere on screen; the id stays internal
        name = train_name(train_id, self.session.state.trains)
        title = menu.addAction(name)
        title.setEnabled(False)
        menu.addSeparator()
        held = train is not None and train.held
        detail = (
            self.tr("train {0}, in section {1}").format(train.number, train.section)
            if train is not None
            else ""
        )
        refusals = []
        for op, enabled in ((CommandOp.HOLD_TRAIN, not held), (CommandOp.RELEASE_TRAIN, held)):
            entry = self.host.command_entry(
                menu, ref, op, possible=train is not None and enabled, detail=detail
            )
            refusals.append(entry.refusal)
        add_coupling_actions(self.host, menu, ref, train)  # 联挂 / 解编
        if train is None:
            menu.addAction(self.tr("This train is no longer reported")).setEnabled(False)
        self._foot(menu, refusals)
        menu.addSeparator()
        follow = menu.addAction(self.tr("Follow on the schematic"))
        follow.setObjectName("followTrain")
        follow.setEnabled(train is not None)
        if train_id is not None:
            tid = train_id
            follow.triggered.connect(lambda: self._follow(tid))
        menu.addSeparator()
        self.iscs.add_entry(menu, HandoffKind.SHOW_DEVICE, device=device)
        return menu

    def station_menu(self, station_id: str) -> QMenu:
        """What a station offers: its alarms in the list, and its view in the ISCS program."""
        menu = self._menu("stationMenu")
        st = self.line.station_by_id.get(station_id)
        title = menu.addAction(
            self.tr("Station {0} {1}").format(st.name_zh, st.name_en) if st else station_id
        )
        title.setEnabled(False)
        detail = menu.addAction(self.tr("Show in station detail"))
        detail.setObjectName("stationDetail")
        detail.triggered.connect(lambda: self._station_detail(station_id))
        alarms = self._station_alarms
        if alarms is not None:
            menu.addSeparator()
            show = menu.addAction(self.tr("Show this station's alarms"))
            show.setObjectName("stationAlarms")
            show.triggered.connect(lambda: alarms(station_id))
        menu.addSeparator()
        self.iscs.add_entry(menu, HandoffKind.SHOW_STATION, station=station_id)
        return menu

    def _route_label(self, route: Route) -> str:
        short = {"normal": self.tr("N", "switch normal"), "reverse": self.tr("R", "switch reverse")}
        legs = ", ".join(f"{s.switch} {short[s.position.value]}" for s in route.switches)
        text = self.tr("to {0}").format(route.exit)
        return f"{text}  [{legs}]" if legs else text

    def _route_detail(self, route: Route) -> str:
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
        return detail
