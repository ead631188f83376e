"""Help: *Legend* (every symbol of the schematic large, in both languages), *Keyboard shortcuts*
(read off the window's actions, so the list cannot go stale), *Diagnostics*
(versions, files, counters); before *About*."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QCoreApplication, QObject, QSettings, Qt, qVersion
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
)

from app.alarms.service import AlarmService
from app.iscs.handoff import IscsHandoff
from app.paths import default_workstation_file, resource_dir, user_data_dir
from app.wiring import hmi_log_file
from ui import style
from ui.host import Host
from ui.i18n import plain_text
from ui.legend import LegendDialog


class HelpMenu(QObject):
    def __init__(
        self,
        host: Host,
        settings: QSettings,
        alarms: AlarmService | None = None,
        iscs: IscsHandoff | None = None,
    ) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.settings = settings
        self.alarms = alarms
        self.iscs = iscs
        w = host.main_window
        help_menu = host.help_menu
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

    def show_legend(self) -> QDialog:
        """Every symbol of the schematic drawn large, named in Chinese and English, with
        what it means (:class:`ui.legend.LegendDialog`)."""
        dialog = LegendDialog(self.host.main_window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def shortcuts(self) -> list[tuple[str, str]]:
        """(action, key) for every action of the window that has a shortcut."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        actions = list(self.host.main_window.findChildren(QAction))
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
        w = self.host
        line = w.session.line
        lines = [
            self.tr("Program: dispatcher-hmi {0}").format(_version("dispatcher-hmi")),
            f"Python {platform.python_version()} ({sys.platform}), Qt {qVersion()}, "
            f"PySide6 {pyside_version}, confluent-kafka {_version('confluent-kafka')}, "
            f"redis-py {_version('redis')}",
            "",
            self.tr("Workstation file: {0}").format(default_workstation_file()),
            self.tr("Line: {0} {1} ({2})").format(line.name_zh, line.name_en, line.id),
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
        if self.alarms is not None:
            st = self.alarms.status
            lines.append(
                QCoreApplication.translate(
                    "Workspace", "Alarms: topic {0}, offset {1}, lag {2}, malformed records {3}"
                ).format(st.topic, st.offset, st.lag, st.bad_records)
            )
        if self.iscs is not None:
            ist = self.iscs.status()
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
        dialog = QDialog(self.host.main_window)
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
