"""The window as a workspace: link health dock, find, saved layout, legend, help, diagnostics.

:class:`Workspace` is attached to a built :class:`ui.mainwindow.MainWindow`
(after all its docks exist) and adds:

- a *link health* dock: every link's state, peer role and epoch, RTT, age of
  the last frame, reconnects and bad input counters (a table model);
- *Find* (Ctrl+F): a station (id or name), a device id or a train number,
  completed as typed; the schematic centres on it;
- the window's geometry and dock layout saved per dispatcher in
  :class:`QSettings` when the window closes and restored when it opens;
  *Reset layout* goes back to the layout the program starts with;
- Help: *Legend* (the schematic's own legend, shown large), *Keyboard
  shortcuts* (read off the window's actions, so the list cannot go stale),
  *Diagnostics* (versions, files, counters).
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QByteArray,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSettings,
    QStringListModel,
    Qt,
    qVersion,
)
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QGraphicsView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.comms.link import LinkInfo, LinkState
from app.paths import default_workstation_file, resource_dir, user_data_dir
from app.wiring import hmi_log_file
from ui import style
from ui.i18n import plain_text
from ui.views import Minimap, StationDetailDock

if TYPE_CHECKING:
    from ui.mainwindow import MainWindow

Index = QModelIndex | QPersistentModelIndex
LAYOUT_VERSION = 1


# -- link health ----------------------------------------------------------------------------


class LinkTableModel(QAbstractTableModel):
    """One row per link; the rows are replaced when the set of links changes."""

    COLUMNS = (
        QT_TRANSLATE_NOOP("LinkTableModel", "Link"),
        QT_TRANSLATE_NOOP("LinkTableModel", "State"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Peer"),
        QT_TRANSLATE_NOOP("LinkTableModel", "RTT ms"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Last frame s"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Reconnects"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Bad frames"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Bad datagrams"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Protected"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Integrity failures"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Last error"),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.links: list[LinkInfo] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.links)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.tr(str(self.COLUMNS[section]))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.links):
            return None
        info = self.links[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(info, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return {
                LinkState.UP: style.LINK_UP,
                LinkState.DOWN: style.LINK_DOWN,
            }.get(info.state, style.LINK_PENDING)
        if role == Qt.ItemDataRole.ForegroundRole and (
            (col == 8 and not info.protected) or (col == 9 and info.integrity_failures)
        ):
            return style.ATTENTION
        if role == Qt.ItemDataRole.TextAlignmentRole and (3 <= col <= 7 or col == 9):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.host}:{info.port}"
        return None

    @staticmethod
    def _text(info: LinkInfo, col: int) -> str:
        if col == 0:
            return info.name
        translate = QCoreApplication.translate
        if col == 1:
            return {
                LinkState.DOWN: translate("LinkTableModel", "down"),
                LinkState.CONNECTING: translate("LinkTableModel", "connecting"),
                LinkState.HANDSHAKE: translate("LinkTableModel", "handshake"),
                LinkState.UP: translate("LinkTableModel", "up"),
                LinkState.DRAINING: translate("LinkTableModel", "closing"),
                LinkState.CLOSED: translate("LinkTableModel", "closed"),
            }.get(info.state, info.state.value)
        if col == 2:
            role = {
                "master": translate("LinkTableModel", "master"),
                "standby": translate("LinkTableModel", "standby"),
            }.get(info.peer_role, info.peer_role)
            return f"{role} #{info.peer_epoch}" if info.peer_role else ""
        if col == 3:
            return "" if info.rtt_ms is None else f"{info.rtt_ms:.1f}"
        if col == 4:
            return "" if info.last_rx_age_s is None else f"{info.last_rx_age_s:.1f}"
        if col == 5:
            return str(info.reconnects)
        if col == 6:
            return str(info.bad_frames)
        if col == 7:
            return str(info.bad_datagrams)
        if col == 8:
            # a link without the MAC (no key configured) is said plainly (docs/security.md)
            return (
                translate("LinkTableModel", "MAC")
                if info.protected
                else translate("LinkTableModel", "NO")
            )
        if col == 9:
            return str(info.integrity_failures)
        return info.last_error

    def set_links(self, links: list[LinkInfo]) -> None:
        if [i.name for i in links] == [i.name for i in self.links]:
            self.links = list(links)
            if links:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(links) - 1, len(self.COLUMNS) - 1)
                )
            return
        self.beginResetModel()
        self.links = list(links)
        self.endResetModel()


class LinkHealthDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("LinkHealthDock", "Link health"), parent)
        self.setObjectName("linkHealthDock")
        self.model = LinkTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("linkTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(
            len(LinkTableModel.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.setColumnWidth(0, 170)
        self.setWidget(self.table)


# -- find -------------------------------------------------------------------------------------


class FindDialog(QDialog):
    """A line with completion over everything that can be found; Enter goes there."""

    def __init__(self, entries: list[str], go: Callable[[str], bool], parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("findDialog")
        self.setWindowTitle(self.tr("Find"))
        self._go = go
        column = QVBoxLayout(self)
        column.addWidget(QLabel(self.tr("Station, device or train number:")))
        self.edit = QLineEdit()
        self.edit.setObjectName("findText")
        self.edit.setClearButtonEnabled(True)
        completer = QCompleter(QStringListModel(entries, self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(15)
        self.edit.setCompleter(completer)
        column.addWidget(self.edit)
        self.message = QLabel()
        self.message.setObjectName("findResult")
        column.addWidget(self.message)
        self.edit.returnPressed.connect(self.go)
        self.resize(420, 110)

    def go(self) -> None:
        if self._go(self.edit.text()):
            self.accept()
        else:
            self.message.setText(
                self.tr("Nothing called {0} on this line").format(self.edit.text().strip())
            )


# -- the workspace ----------------------------------------------------------------------------


class Workspace(QObject):
    def __init__(self, window: MainWindow, settings: QSettings | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings if settings is not None else QSettings()
        self.key = f"layout/{window.session.dispatcher or 'default'}"
        self.finder: FindDialog | None = None

        self.link_dock = LinkHealthDock(window)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.link_dock)
        window.tabifyDockWidget(window.log_dock, self.link_dock)
        window.log_menu.addAction(self.link_dock.toggleViewAction())
        if window.alarm_dock is not None:
            window.alarm_dock.raise_()
        window.bridge.linksChanged.connect(self.link_dock.model.set_links)
        self.link_dock.model.set_links(window.session.link_infos())

        self.detail = StationDetailDock(window.scene, window.line, window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail)
        beside = next(
            (
                d
                for d in window.findChildren(QDockWidget)
                if d is not self.detail
                and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
            ),
            None,
        )
        if beside is not None:
            window.tabifyDockWidget(beside, self.detail)
            beside.raise_()
        window.log_menu.addAction(self.detail.toggleViewAction())
        self.minimap = Minimap(window.view)

        self.following: int | None = None
        window.bridge.stateChanged.connect(lambda _c: self._follow_step())
        window.view.viewport().installEventFilter(self)

        self._build_actions()
        # the layout as built, for "Reset layout"
        self.default_state = window.saveState(LAYOUT_VERSION)
        self.restored = self.restore()
        window.installEventFilter(self)

    def _build_actions(self) -> None:
        w = self.window
        view_menu = w.log_menu
        self.find_action = QAction(self.tr("&Find…"), w)
        self.find_action.setObjectName("findAction")
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self.open_find)
        self.reset_action = QAction(self.tr("&Reset layout"), w)
        self.reset_action.setObjectName("resetLayout")
        self.reset_action.triggered.connect(self.reset_layout)
        first = view_menu.actions()[0]  # the View menu starts with "Zoom to fit"
        view_menu.insertAction(first, self.find_action)
        view_menu.insertSeparator(first)
        view_menu.addSeparator()
        view_menu.addAction(self.reset_action)
        w.addAction(self.find_action)  # the shortcut works wherever the focus is
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

        help_menu = w.help_menu
        self.legend_action = QAction(self.tr("&Legend"), w)
        self.legend_action.setObjectName("legendAction")
        self.legend_action.setShortcut(QKeySequence(Qt.Key.Key_F1))
        self.legend_action.triggered.connect(self.show_legend)
        self.keys_action = QAction(self.tr("&Keyboard shortcuts"), w)
        self.keys_action.setObjectName("shortcutsAction")
        self.keys_action.triggered.connect(self.show_shortcuts)
        self.diag_action = QAction(self.tr("&Diagnostics…"), w)
        self.diag_action.setObjectName("diagnosticsAction")
        self.diag_action.triggered.connect(self.show_diagnostics)
        first_help = help_menu.actions()[0]  # "About"
        for action in (self.legend_action, self.keys_action, self.diag_action):
            help_menu.insertAction(first_help, action)
        help_menu.insertSeparator(first_help)
        w.addAction(self.legend_action)

    def _toggle_minimap(self, on: bool) -> None:
        self.minimap.setEnabled(on)
        self.minimap.place()

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
        self.window.restoreState(self.default_state, LAYOUT_VERSION)
        if self.window.alarm_dock is not None:
            self.window.alarm_dock.raise_()
        self.window.view.zoom_to_fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.save()
        elif (
            self.following is not None
            and watched is self.window.view.viewport()
            and event.type() == QEvent.Type.MouseButtonPress
        ):
            self.stop_following()  # the dispatcher takes the view back by dragging it
        return False

    # -- follow a train -----------------------------------------------------------------

    def follow(self, train_id: int) -> bool:
        """Keep the schematic centred on a train as it runs, until the view is dragged."""
        if self.window.device_item(f"train:{train_id}") is None:
            return False
        self.following = train_id
        self.follow_action.setEnabled(True)
        self._follow_step()
        return True

    def stop_following(self) -> None:
        if self.following is not None:
            self.following = None
            self.follow_action.setEnabled(False)
            self.window.show_status(self.tr("No longer following a train"))

    def _follow_step(self) -> None:
        if self.following is None:
            return
        train = self.window.session.state.trains.get(self.following)
        item = self.window.device_item(f"train:{self.following}")
        if train is None or item is None:
            self.window.show_status(self.tr("The train followed is no longer reported"))
            self.following = None
            self.follow_action.setEnabled(False)
            return
        self.window.view.centerOn(item.sceneBoundingRect().center())
        self.window.show_status(
            self.tr("Following train {0} (drag the view or Esc to stop)").format(train.number)
        )

    # -- find ---------------------------------------------------------------------------

    def find_entries(self) -> list[str]:
        """What the find box completes: stations, devices, and the trains running now."""
        line = self.window.line
        out = [f"{s.id} {s.name_zh} {s.name_en}" for s in line.stations]
        out += [s.id for s in line.switches] + [s.id for s in line.signals]
        out += [s.id for s in line.sections]
        out += [
            self.tr("train {0}").format(t.number)
            for t in sorted(self.window.session.state.trains.values(), key=lambda t: t.number)
        ]
        return out

    def open_find(self) -> FindDialog:
        self.finder = FindDialog(self.find_entries(), self.find, self.window)
        self.finder.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.finder.destroyed.connect(self._forget_finder)
        self.finder.show()
        self.finder.edit.setFocus()
        return self.finder

    def _forget_finder(self) -> None:
        self.finder = None

    def find(self, text: str) -> bool:
        """Centre the schematic on what ``text`` names; False (and a status line) if nothing."""
        w = self.window
        words = text.strip().split()
        if not words:
            return False
        line = w.line
        state = w.session.state
        if len(words) >= 2 and words[0].lower() in (
            "train",
            self.tr("train").lower(),
        ):
            words = words[1:]
        first = words[0]
        folded = first.casefold()
        for st in line.stations:
            if folded in (st.id.casefold(), st.name_zh.casefold(), st.name_en.casefold()):
                return self._centre_on_station(st.id)
        for device in (first, first.upper()):
            if w.device_item(device) is not None:
                return bool(w.focus_device(device))
        for train in state.trains.values():
            if train.number == first or str(train.id) == first:
                return bool(w.focus_device(f"train:{train.id}"))
        w.show_status(self.tr("Nothing called {0} on this line").format(text.strip()))
        return False

    def _centre_on_station(self, station_id: str) -> bool:
        scene = self.window.scene
        for item in scene.items():
            station = getattr(item, "station", None)
            if station is not None and getattr(station, "id", None) == station_id:
                self.window.view.centerOn(item.sceneBoundingRect().center())
                return True
        return False

    # -- help ---------------------------------------------------------------------------

    def show_legend(self) -> QDialog:
        """The schematic's legend strip, large: the same scene, so the same symbols."""
        dialog = QDialog(self.window)
        dialog.setObjectName("legendDialog")
        dialog.setWindowTitle(self.tr("Legend"))
        view = QGraphicsView(self.window.scene)
        view.setObjectName("legendView")
        view.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        view.setBackgroundBrush(style.BACKGROUND)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        column = QVBoxLayout(dialog)
        column.addWidget(view)
        note = QLabel(
            QCoreApplication.translate(
                "Workspace",
                "Abnormal states differ in shape or line pattern as well as colour: "
                "a fault is dashed, a lost switch is a diamond, a blocked one a square, "
                "a closed signal is crossed, a held train carries a badge.",
            )
        )
        note.setWordWrap(True)
        column.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        column.addWidget(buttons)
        rect = getattr(self.window.scene, "legend_rect", None)
        dialog.resize(1100, 260)
        dialog.show()
        if rect is not None:
            view.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        return dialog

    def shortcuts(self) -> list[tuple[str, str]]:
        """(action, key) for every action of the window that has a shortcut."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        actions = list(self.window.findChildren(QAction))
        for action in actions:
            key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            name = plain_text(action.text())
            if key and name and (name, key) not in seen and action.isVisible():
                seen.add((name, key))
                out.append((name, key))
        out += [
            (
                self.tr("Zoom about the mouse"),
                self.tr("Wheel"),
            ),
            (
                self.tr("Pan"),
                self.tr("Drag"),
            ),
            (
                self.tr("Device, station or alarm menu"),
                self.tr("Right-click"),
            ),
        ]
        return sorted(out)

    def show_shortcuts(self) -> QDialog:
        rows = "".join(
            f"<tr><td style='padding-right:24px'>{name}</td><td><b>{key}</b></td></tr>"
            for name, key in self.shortcuts()
        )
        return self._text_dialog(
            "shortcutsDialog",
            self.tr("Keyboard shortcuts"),
            f"<table>{rows}</table>",
            True,
        )

    def diagnostics(self) -> str:
        w = self.window
        lines = [
            self.tr("Program: dispatcher-hmi {0}").format(_version("dispatcher-hmi")),
            f"Python {platform.python_version()} ({sys.platform}), Qt {qVersion()}, "
            f"PySide6 {pyside_version}, confluent-kafka {_version('confluent-kafka')}, "
            f"redis-py {_version('redis')}",
            "",
            self.tr("Workstation file: {0}").format(default_workstation_file()),
            self.tr("Line: {0} {1} ({2})").format(w.line.name_zh, w.line.name_en, w.line.id),
            self.tr("Resources: {0}").format(resource_dir()),
            self.tr("Log file: {0}").format(hmi_log_file()),
            self.tr("Logs and local data: {0}").format(user_data_dir()),
            self.tr("Layout saved in: {0}").format(self.settings.fileName()),
            "",
            QCoreApplication.translate(
                "Workspace", "Workstation {0}, dispatcher {1}, role {2}"
            ).format(w.session.node, w.session.dispatcher, w.session.role),
        ]
        state = w.session.state
        lines.append(
            QCoreApplication.translate(
                "Workspace", "Line state: seq {0}, stale deltas {1}, unknown records {2}"
            ).format(state.seq, state.stale_deltas, state.unknown_records)
        )
        for info in w.session.link_infos():
            lines.append(
                QCoreApplication.translate(
                    "Workspace", "Link {0}: {1}, reconnects {2}, bad frames {3}, bad datagrams {4}"
                ).format(
                    info.name,
                    info.state.value,
                    info.reconnects,
                    info.bad_frames,
                    info.bad_datagrams,
                )
            )
        if w.alarms is not None:
            st = w.alarms.status
            lines.append(
                QCoreApplication.translate(
                    "Workspace", "Alarms: topic {0}, offset {1}, lag {2}, malformed records {3}"
                ).format(st.topic, st.offset, st.lag, st.bad_records)
            )
        if w.iscs is not None:
            ist = w.iscs.status()
            lines.append(self.tr("ISCS program: {0}").format(ist.state.value))
        return "\n".join(lines)

    def show_diagnostics(self) -> QDialog:
        return self._text_dialog(
            "diagnosticsDialog",
            self.tr("Diagnostics"),
            self.diagnostics(),
            False,
        )

    def _text_dialog(self, name: str, title: str, text: str, rich: bool) -> QDialog:
        dialog = QDialog(self.window)
        dialog.setObjectName(name)
        dialog.setWindowTitle(title)
        column = QVBoxLayout(dialog)
        if rich:
            label = QLabel(text)
            label.setTextFormat(Qt.TextFormat.RichText)
            column.addWidget(label)
        else:
            body = QPlainTextEdit(text)
            body.setReadOnly(True)
            body.setStyleSheet(f"color: {QColor(style.TEXT_PRIMARY).name()};")
            column.addWidget(body)
            dialog.resize(760, 420)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        column.addWidget(buttons)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"
