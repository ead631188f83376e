"""The window as a workspace: link health and station detail docks, the minimap,
find, following a train, the saved layout, and the Help menu's entries.

:class:`Workspace` is built last (once every other dock exists) and adds:

- a *link health* dock (:mod:`ui.linkhealth`) and a *station detail* dock
  (:mod:`ui.views`), and the minimap over the schematic;
- *Find* (Ctrl+F, :mod:`ui.finder`);
- following a train until the view is dragged or Esc;
- the window's geometry and dock layout saved per dispatcher in
  :class:`QSettings` when the window closes and restored when it opens;
  *Reset layout* goes back to the layout the program starts with;
- Help: *Legend*, *Keyboard shortcuts*, *Diagnostics* (:mod:`ui.helpmenu`);
- the size of the window's texts, *View → UI scale* (:mod:`ui.scale`);
- a small window (1366×768): the docks start smaller (COMPACT_*), and *View →
  Schematic only* (F11) hides every dock and brings them back.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

from app.alarms.service import AlarmService
from app.iscs.handoff import IscsHandoff
from app.model.commands import train_device
from ui.finder import Finder
from ui.helpmenu import HelpMenu
from ui.host import Host
from ui.linkhealth import LinkHealthDock
from ui.scale import UiScale
from ui.views import Minimap, StationDetailDock

LAYOUT_VERSION = 1
#: a window smaller than this (width, height) starts with smaller docks
COMPACT_BELOW = (1600, 900)
#: the docks' sizes in a small window: the bottom ones' height, the right ones' width
COMPACT_BOTTOM = 210
COMPACT_RIGHT = 320


class Workspace(QObject):
    def __init__(
        self,
        host: Host,
        settings: QSettings | None = None,
        *,
        alarm_dock: QDockWidget | None = None,
        alarms: AlarmService | None = None,
        iscs: IscsHandoff | None = None,
    ) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.window = window = host.main_window
        self.settings = settings if settings is not None else QSettings()
        # a replay window keeps a layout of its own: closing it never changes the desk's
        who = "replay" if getattr(host.session, "replaying", False) else host.session.dispatcher
        self.key = f"layout/{who or 'default'}"
        self.alarm_dock = alarm_dock  # in front of the bottom docks

        self.link_dock = LinkHealthDock(window)
        host.add_dock(self.link_dock, Qt.DockWidgetArea.BottomDockWidgetArea, tabbed=True)
        if alarm_dock is not None:
            alarm_dock.raise_()
        host.bridge.linksChanged.connect(self.link_dock.model.set_links)
        self.link_dock.model.set_links(host.session.link_infos())

        self.detail = StationDetailDock(host.scene, host.session.line, window)
        beside = host.add_dock(self.detail, Qt.DockWidgetArea.RightDockWidgetArea, tabbed=True)
        if beside is not None:
            beside.raise_()
        self.minimap = Minimap(host.view)

        self.following: int | None = None
        host.bridge.stateChanged.connect(lambda _c: self._follow_step())
        host.view.viewport().installEventFilter(self)

        self.finder = Finder(host)
        self._build_actions()
        self.help = HelpMenu(host, self.settings, alarms, iscs)
        # the layout as built, for "Reset layout"
        self.default_state = window.saveState(LAYOUT_VERSION)
        self.restored = self.restore()
        self._shown = False
        self._hidden_docks: list[QDockWidget] = []
        window.installEventFilter(self)

    def _build_actions(self) -> None:
        w = self.window
        view_menu = self.host.view_menu
        self.reset_action = QAction(self.tr("&Reset layout"), w)
        self.reset_action.setObjectName("resetLayout")
        self.reset_action.triggered.connect(self.reset_layout)
        first = view_menu.actions()[0]  # the View menu starts with "Zoom to fit"
        view_menu.insertAction(first, self.finder.action)
        view_menu.insertSeparator(first)
        view_menu.addSeparator()
        view_menu.addAction(self.reset_action)
        w.addAction(self.finder.action)  # the shortcut works wherever the focus is
        self.follow_action = QAction(self.tr("Stop &following the train"), w)
        self.follow_action.setObjectName("stopFollowing")
        self.follow_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.follow_action.setEnabled(False)
        self.follow_action.triggered.connect(self.stop_following)
        self.minimap_action = QAction(self.tr("&Minimap"), w)
        self.minimap_action.setObjectName("minimapAction")
        self.minimap_action.setCheckable(True)
        self.minimap_action.setChecked(True)
        self.minimap_action.setShortcut(QKeySequence(Qt.Key.Key_M))
        self.minimap_action.toggled.connect(self._toggle_minimap)
        view_menu.insertAction(first, self.follow_action)
        view_menu.insertAction(first, self.minimap_action)
        w.addAction(self.follow_action)
        w.addAction(self.minimap_action)
        self.schematic_only = QAction(self.tr("Schematic &only (hide the docks)"), w)
        self.schematic_only.setObjectName("schematicOnly")
        self.schematic_only.setCheckable(True)
        self.schematic_only.setShortcut(QKeySequence(Qt.Key.Key_F11))
        self.schematic_only.toggled.connect(self.set_schematic_only)
        view_menu.insertAction(first, self.schematic_only)
        w.addAction(self.schematic_only)
        self.ui_scale = UiScale(w, view_menu, self.settings)

    def set_schematic_only(self, on: bool) -> None:
        """Hide every dock (the schematic takes the window), or bring back those hidden."""
        if on:
            self._hidden_docks = [d for d in self.window.findChildren(QDockWidget) if d.isVisible()]
            for dock in self._hidden_docks:
                dock.hide()
        else:
            for dock in self._hidden_docks:
                dock.show()
            if self.alarm_dock is not None and self.alarm_dock in self._hidden_docks:
                self.alarm_dock.raise_()
            self._hidden_docks = []
        if self.schematic_only.isChecked() != on:
            self.schematic_only.setChecked(on)

    def size_docks(self) -> None:
        """The docks' first sizes: small in a small window (:meth:`compact`); in a large
        one at a UI scale above 100 %, as much larger as its texts, so that the alarm
        list shows as many rows."""
        if self.compact():
            return
        factor = self.ui_scale.factor()
        if factor <= 1.0:
            return
        w = self.window
        docks = [d for d in w.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        for area, orientation in (
            (Qt.DockWidgetArea.BottomDockWidgetArea, Qt.Orientation.Vertical),
            (Qt.DockWidgetArea.RightDockWidgetArea, Qt.Orientation.Horizontal),
        ):
            group = [d for d in docks if w.dockWidgetArea(d) == area]
            if group:
                vertical = orientation is Qt.Orientation.Vertical
                sizes = [int((d.height() if vertical else d.width()) * factor) for d in group]
                w.resizeDocks(group, sizes, orientation)
        self.host.view.zoom_to_fit()

    def compact(self) -> bool:
        """In a small window, smaller docks so that the schematic gets the room; True if so."""
        w = self.window
        if w.width() >= COMPACT_BELOW[0] and w.height() >= COMPACT_BELOW[1]:
            return False
        docks = [d for d in w.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        bottom = [d for d in docks if w.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
        right = [d for d in docks if w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
        if bottom:
            w.resizeDocks(bottom, [COMPACT_BOTTOM] * len(bottom), Qt.Orientation.Vertical)
        if right:
            w.resizeDocks(right, [COMPACT_RIGHT] * len(right), Qt.Orientation.Horizontal)
        self._fit_screen(bottom, right)
        self.host.view.zoom_to_fit()
        return True

    def _fit_screen(self, bottom: list[QDockWidget], right: list[QDockWidget]) -> None:
        """A window wider than its screen (the docks' and the schematic's least widths
        side by side, longer texts in English): the right docks go under the schematic,
        as tabs beside the bottom ones, and the window back onto the screen."""
        w = self.window
        screen = w.screen()
        if screen is None or not right:
            return
        room = screen.availableGeometry()
        if w.width() <= room.width():
            return
        for dock in right:
            w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            if bottom:
                w.tabifyDockWidget(bottom[0], dock)
        if self.alarm_dock is not None:
            self.alarm_dock.raise_()
        w.resize(min(w.width(), room.width()), min(w.height(), room.height()))

    def _toggle_minimap(self, on: bool) -> None:
        self.minimap.setEnabled(on)
        self.minimap.place()

    def show_station_detail(self, station_id: str) -> bool:
        self.detail.show()
        self.detail.raise_()
        return self.detail.show_station(station_id)

    # -- layout -------------------------------------------------------------------------

    def save(self) -> None:
        self.settings.setValue(f"{self.key}/geometry", self.window.saveGeometry())
        self.settings.setValue(f"{self.key}/state", self.window.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def restore(self) -> bool:
        geometry = self.settings.value(f"{self.key}/geometry")
        state = self.settings.value(f"{self.key}/state")
        done = False
        if isinstance(geometry, QByteArray | bytes):
            done = self.window.restoreGeometry(QByteArray(geometry))
        if isinstance(state, QByteArray | bytes):
            done = self.window.restoreState(QByteArray(state), LAYOUT_VERSION) or done
        return done

    def reset_layout(self) -> None:
        self.schematic_only.setChecked(False)
        self.window.restoreState(self.default_state, LAYOUT_VERSION)
        if self.alarm_dock is not None:
            self.alarm_dock.raise_()
        self.host.view.zoom_to_fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.save()
        elif watched is self.window and event.type() == QEvent.Type.Show and not self._shown:
            self._shown = True
            if not self.restored:
                # after the window's own first sizing of its docks
                QTimer.singleShot(0, self.size_docks)
        elif (
            self.following is not None
            and watched is self.host.view.viewport()
            and event.type() == QEvent.Type.MouseButtonPress
        ):
            self.stop_following()  # the dispatcher takes the view back by dragging it
        return False

    # -- follow a train -----------------------------------------------------------------

    def follow(self, train_id: int) -> bool:
        """Keep the schematic centred on a train as it runs, until the view is dragged."""
        if self.host.scene.device_item(train_device(train_id)) is None:
            return False
        self.following = train_id
        self.follow_action.setEnabled(True)
        self._follow_step()
        return True

    def stop_following(self) -> None:
        if self.following is not None:
            self.following = None
            self.follow_action.setEnabled(False)
            self.host.show_status(self.tr("No longer following a train"))

    def _follow_step(self) -> None:
        if self.following is None:
            return
        train = self.host.session.state.trains.get(self.following)
        item = self.host.scene.device_item(train_device(self.following))
        if train is None or item is None:
            self.host.show_status(self.tr("The train followed is no longer reported"))
            self.following = None
            self.follow_action.setEnabled(False)
            return
        self.host.view.centerOn(item.sceneBoundingRect().center())
        self.host.show_status(
            self.tr("Following train {0} (drag the view or Esc to stop)").format(train.number)
        )
