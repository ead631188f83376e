"""Find (Ctrl+F): a station (id, Chinese or English name), a device id (any case) or
a train number, completed while typing; Enter centres the schematic on it and frames
it (:mod:`ui.highlight`) until the next click on the schematic or FOUND_SHOW_MS.

The dialog opens at the top corner of the schematic, away from its centre, where
what is found is brought; it never covers what it found."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, QStringListModel, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCompleter, QDialog, QLabel, QLineEdit, QVBoxLayout, QWidget

from ui.dialogs import away_from
from ui.highlight import MarkerSlot
from ui.host import Host
from ui.names import train_name
from ui.trains import TrainItem

#: how long what was found stays framed, unless the dispatcher clicks the schematic first
FOUND_SHOW_MS = 8000


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


class Finder(QObject):
    """The Find action, its dialog, and what a text names."""

    def __init__(self, host: Host) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.dialog: FindDialog | None = None
        self.action = QAction(self.tr("&Find…"), host.main_window)
        self.action.setObjectName("findAction")
        self.action.setShortcut(QKeySequence.StandardKey.Find)
        self.action.triggered.connect(self.open)
        #: the frame around what was found
        self.found = MarkerSlot(host.scene, "found", fade_ms=FOUND_SHOW_MS)
        host.view.viewport().installEventFilter(self)

    def entries(self) -> list[str]:
        """What the find box completes: stations, devices, and the trains running now."""
        line = self.host.session.line
        out = [f"{s.id} {s.name_zh} {s.name_en}" for s in line.stations]
        out += [s.id for s in line.switches] + [s.id for s in line.signals]
        out += [s.id for s in line.sections]
        trains = self.host.session.state.trains
        out += [train_name(t.id, trains) for t in sorted(trains.values(), key=lambda t: t.number)]
        return out

    def open(self) -> FindDialog:
        self.dialog = FindDialog(self.entries(), self.find, self.host.main_window)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.destroyed.connect(self._forget_dialog)
        self.dialog.adjustSize()
        self.dialog.move(self._corner(self.dialog.size().width()))
        self.dialog.show()
        self.dialog.edit.setFocus()
        return self.dialog

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # the next click on the schematic: the dispatcher has seen it
        if event.type() == QEvent.Type.MouseButtonPress:
            self.found.clear()
        return False

    def _corner(self, width: int) -> QPoint:
        """The top right corner of the schematic, away from its centre."""
        view = self.host.view
        top_left = view.mapToGlobal(QPoint(0, 0))
        return QPoint(top_left.x() + max(0, view.width() - width - 24), top_left.y() + 24)

    def _mark(self, rect: QRectF | None, device: str = "") -> bool:
        """Frame what was found and keep the dialog clear of it."""
        if rect is None:
            return False
        item = self.host.scene.device_item(device) if device else None
        self.found.show(rect, item if isinstance(item, TrainItem) else None)
        dialog = self.dialog
        if dialog is not None and dialog.isVisible():
            view = self.host.view
            on_view = view.mapFromScene(rect).boundingRect()
            avoid = QRect(view.viewport().mapToGlobal(on_view.topLeft()), on_view.size())
            if dialog.frameGeometry().intersects(avoid):
                area = QRect(view.mapToGlobal(QPoint(0, 0)), view.size())
                dialog.move(away_from(dialog.size(), avoid, area))
        return True

    def _forget_dialog(self) -> None:
        self.dialog = None

    def find(self, text: str) -> bool:
        """Centre the schematic on what ``text`` names; False (and a status line) if nothing."""
        host = self.host
        words = text.strip().split()
        if not words:
            return False
        line = host.session.line
        state = host.session.state
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
            if host.scene.device_item(device) is not None:
                return host.focus_device(device) and self._mark(
                    host.scene.device_rect(device), device
                )
        for train in state.trains.values():
            if train.number == first:
                device = f"train:{train.id}"
                return host.focus_device(device) and self._mark(
                    host.scene.device_rect(device), device
                )
        host.show_status(self.tr("Nothing called {0} on this line").format(text.strip()))
        return False

    def _centre_on_station(self, station_id: str) -> bool:
        rect = self.host.scene.station_rect(station_id)
        if rect is None:
            return False
        self.host.view.centerOn(rect.center())
        return self._mark(rect)
