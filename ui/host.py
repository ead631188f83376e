"""What a feature of the window may ask of it: the :class:`Host`.

The window (:class:`ui.mainwindow.MainWindow`) is a thin frame; its features
(the status bar, the event log, the command flow, zone control, alarm
annunciation, ISCS actions, coupling, the menus, the workspace) are each in a
module of their own and are handed the host when they are built. A feature
never imports the window: what it needs of it is here, and nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from app.model.commands import CommandOp
from app.model.devices import DeviceRef
from ui.bridge import SessionBridge, SessionLike
from ui.dialogs import ConfirmCommandDialog
from ui.schematic import SchematicScene, SchematicView


class CommandEntry(NamedTuple):
    """A command offered in a menu: its action, and why it may not be sent now ("" if it may)."""

    action: QAction
    refusal: str


class Host(Protocol):
    """The window, as its features see it."""

    @property
    def session(self) -> SessionLike:
        """The line, its live state and the links, as the views see them."""
        ...

    @property
    def tz(self) -> dt.tzinfo | None:
        """The line's time zone: every clock time on screen is in it (:mod:`ui.clock`)."""
        ...

    @property
    def scene(self) -> SchematicScene: ...

    @property
    def view(self) -> SchematicView: ...

    @property
    def bridge(self) -> SessionBridge:
        """The session's events as Qt signals, state changes once a frame."""
        ...

    @property
    def view_menu(self) -> QMenu:
        """View: zoom, find, every dock's entry, the layout, the language."""
        ...

    @property
    def help_menu(self) -> QMenu: ...

    @property
    def main_window(self) -> QMainWindow:
        """The window as Qt sees it: the parent of a feature's dialogs, menus and timers."""
        ...

    def add_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea, *, tabbed: bool = False
    ) -> QDockWidget | None:
        """Dock ``dock`` in ``area`` and list it in the View menu; ``tabbed``: as a tab
        beside the first dock already there, which is returned (None: none there)."""
        ...

    def log_event(self, text: str) -> None:
        """One line in the event log, with the time."""
        ...

    def show_status(self, text: str, colour: QColor | None = None, timeout_ms: int = ...) -> None:
        """A transient message in the status bar, optionally coloured."""
        ...

    def focus_device(self, device: str) -> bool:
        """Centre the schematic on a switch, signal, section or train (``train:<id>``)."""
        ...

    def request_command(
        self, device: DeviceRef, op: CommandOp, detail: str = ""
    ) -> ConfirmCommandDialog | None:
        """A gesture asks for ``op`` on ``device``: the intent is built now and checked;
        refused, the reason is told and None returned; else the confirmation opens."""
        ...

    def command_entry(
        self,
        menu: QMenu,
        device: DeviceRef,
        op: CommandOp,
        *,
        possible: bool = True,
        detail: str = "",
    ) -> CommandEntry:
        """An entry for ``op`` on ``device`` in a context menu: its intent built and checked
        as the menu opens, enabled when ``possible`` (the device's state allows it) and
        not refused; chosen, it opens the confirmation for that intent."""
        ...
