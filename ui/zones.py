"""Zone control on screen: each zone's bracket on the schematic, and the zone control dock.

The bracket along the top of a zone's rows says who may command it, by line
style as well as colour (colour-blind safe):

- mine (this dispatcher holds it, or it is shared): solid, bright, double weight;
- held by someone else: solid, muted, with the holder's name;
- free (exclusive, nobody holds it): dashed, muted;
- unknown (zone authority unreachable): dotted, amber, "authority unknown".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QDockWidget,
    QGraphicsItem,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyleOptionGraphicsItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.control.authority import AuthorityRefused, ZoneAuthority, ZoneAuthorityStore, ZoneMode
from app.model.roles import Role
from app.model.topology import ControlZone
from ui import style
from ui.clock import clock_text, line_zone
from ui.i18n import refusal_text
from ui.items import Z

log = logging.getLogger(__name__)

ZONE_MINE = QColor("#8fc1e8")


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


class ZoneKind(StrEnum):
    MINE = "mine"
    SHARED = "shared"
    OTHER = "other"
    FREE = "free"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ZoneLook:
    kind: ZoneKind
    caption: str  # "exclusive · alice@WS-A", already translated
    requested: bool = False  # mine, and another dispatcher asks for it: drawn to be seen


def mode_text(mode: ZoneMode) -> str:
    return tr("exclusive") if mode is ZoneMode.EXCLUSIVE else tr("shared")


def zone_look(state: ZoneAuthority | None, me: str, available: bool) -> ZoneLook:
    """How a zone is drawn for dispatcher ``me`` ("dispatcher@workstation")."""
    if not available or state is None:
        return ZoneLook(ZoneKind.UNKNOWN, tr("authority unknown"))
    if state.mode is ZoneMode.SHARED:
        return ZoneLook(ZoneKind.SHARED, tr("shared"))
    if state.holder == me:
        askers = [r for r in state.requests if r != me]
        if askers:
            caption = tr("exclusive · mine · asked for by {0}").format(", ".join(askers))
            return ZoneLook(ZoneKind.MINE, caption, requested=True)
        return ZoneLook(ZoneKind.MINE, tr("exclusive · mine"))
    if state.holder:
        return ZoneLook(ZoneKind.OTHER, tr("exclusive · {0}").format(state.holder))
    return ZoneLook(ZoneKind.FREE, tr("exclusive · free"))


def _pen(kind: ZoneKind) -> QPen:
    if kind in (ZoneKind.MINE, ZoneKind.SHARED):
        pen = QPen(ZONE_MINE, 1.6)
    elif kind is ZoneKind.OTHER:
        pen = QPen(style.TEXT_SECONDARY, 1.0)
    elif kind is ZoneKind.FREE:
        pen = QPen(style.ZONE_RULE, 0.9, Qt.PenStyle.DashLine)
    else:
        pen = QPen(style.ATTENTION, 1.0, Qt.PenStyle.DotLine)
    pen.setCosmetic(False)
    return pen


class ZoneBracket(QGraphicsItem):
    """One row's piece of a zone's bracket, with the zone's name and authority."""

    def __init__(self, zone: ControlZone, path: QPainterPath, label_at: QPointF, font: QFont):
        super().__init__()
        self.zone = zone
        self._path = path
        self._label_at = label_at
        self._font = font
        self.look = ZoneLook(ZoneKind.UNKNOWN, "")
        self._text = ""
        self._rect = QRectF()
        self.setZValue(Z.STATIC)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.set_look(ZoneLook(ZoneKind.FREE, ""))

    @property
    def text(self) -> str:
        return self._text

    def set_look(self, look: ZoneLook) -> None:
        if look == self.look:
            return
        self.prepareGeometryChange()
        self.look = look
        self._text = f"{self.zone.id} {self.zone.name_zh}"
        if look.caption:
            self._text += f" · {look.caption}"
        metrics = QFontMetricsF(self._font)
        label = QRectF(
            self._label_at.x(),
            self._label_at.y() - metrics.height() / 2,
            metrics.horizontalAdvance(self._text) + 2,
            metrics.height(),
        )
        self._rect = self._path.boundingRect().adjusted(-2, -2, 2, 2).united(label)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        kind = self.look.kind
        painter.setPen(_pen(kind))
        painter.drawPath(self._path)
        painter.setFont(self._font)
        colour = {
            ZoneKind.MINE: ZONE_MINE,
            ZoneKind.SHARED: ZONE_MINE,
            ZoneKind.OTHER: style.TEXT_SECONDARY,
            ZoneKind.FREE: style.TEXT_MUTED,
            ZoneKind.UNKNOWN: style.ATTENTION,
        }[kind]
        if self.look.requested:
            colour = style.ATTENTION
        painter.setPen(colour)
        metrics = QFontMetricsF(self._font)
        painter.drawText(
            QPointF(self._label_at.x(), self._label_at.y() + metrics.ascent() / 2 - 0.5),
            self._text,
        )


class _Body(QWidget):
    """The dock's content: asks for a modest width; the table scrolls if need be."""

    def sizeHint(self) -> QSize:
        return QSize(400, 260)


class ZoneDock(QDockWidget):
    """Zone control: who holds each zone, and take / release / request / grant / force / mode."""

    message = Signal(str)  # for the event log

    # Who holds it and who asks for it first: what a dispatcher must act on.
    COLUMNS = ("zone", "holder", "requests", "mode", "since")

    def __init__(
        self,
        store: ZoneAuthorityStore,
        parent: QWidget | None = None,
        confirm: Callable[[str, str], bool] | None = None,
    ) -> None:
        super().__init__(tr("Zone control"), parent)
        self.setObjectName("zoneDock")
        self.store = store
        #: asks the dispatcher (title, question) -> yes; a dialog unless a test gives one
        self.confirm = confirm or self._ask
        self.line = store.line
        self.tz = line_zone(self.line.timezone)
        self._tasks: set[asyncio.Task[None]] = set()
        body = _Body()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.table = QTableWidget(len(self.line.zones), len(self.COLUMNS))
        self.table.setObjectName("zoneTable")
        self.table.setHorizontalHeaderLabels(
            [tr("Zone"), tr("Holder"), tr("Requests"), tr("Mode"), tr("Since")]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustIgnored)
        self.rows = {z.id: i for i, z in enumerate(self.line.zones)}
        for zone in self.line.zones:
            item = QTableWidgetItem(f"{zone.id} {zone.name_zh}")
            item.setToolTip(f"{zone.name_en}")
            self.table.setItem(self.rows[zone.id], 0, item)
        self.table.itemSelectionChanged.connect(self.refresh_buttons)
        column.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.take_button = self._button("take", tr("Take"), self.take)
        self.release_button = self._button("release", tr("Release"), self.release)
        self.request_button = self._button("request", tr("Request"), self.request)
        self.grant_button = self._button("grant", tr("Grant to requester"), self.grant)
        self.force_button = self._button("force", tr("Force transfer…"), self.force)
        self.mode_button = self._button("mode", tr("Switch mode"), self.switch_mode)
        for b in (
            self.take_button,
            self.release_button,
            self.request_button,
            self.grant_button,
            self.force_button,
            self.mode_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        column.addLayout(buttons)
        self.status = QLabel()
        self.status.setObjectName("zoneStatus")
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        self.setWidget(body)
        supervisor = store.role is Role.SUPERVISOR
        self.force_button.setVisible(supervisor)
        self.mode_button.setVisible(supervisor)
        if self.line.zones:
            self.table.selectRow(0)
        self.refresh()

    def _button(self, name: str, text: str, slot: Callable[[], None]) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(f"zone_{name}")
        b.clicked.connect(slot)
        return b

    # -- view ------------------------------------------------------------------------

    def selected_zone(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.line.zones[rows[0].row()].id

    def select_zone(self, zone: str) -> None:
        self.table.selectRow(self.rows[zone])

    def refresh(self) -> None:
        snapshot = self.store.snapshot()
        available = self.store.available
        for zone in self.line.zones:
            self.show_zone(zone.id, snapshot.get(zone.id), available)
        if available:
            self.status.setText("")
        else:
            self.status.setText(refusal_text(self.store.unavailable_refusal()))
            self.status.setStyleSheet(f"color: {style.ATTENTION.name()};")
        self.refresh_buttons()

    def show_zone(self, zone: str, state: ZoneAuthority | None, available: bool) -> None:
        row = self.rows.get(zone)
        if row is None:
            return
        if state is None or not available:
            values = ["?", "?", "", ""]
        else:
            since = clock_text(state.since_ms, self.tz)
            holder = state.holder or ("—" if state.mode is ZoneMode.EXCLUSIVE else "")
            values = [holder, ", ".join(state.requests), mode_text(state.mode), since]
        for col, value in enumerate(values, 1):
            item = self.table.item(row, col)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, col, item)
            item.setText(value)
        if zone_look(state, self.store.who, available).requested:
            colour = style.ATTENTION
        elif state is not None and available and state.holder == self.store.who:
            colour = ZONE_MINE
        else:
            colour = style.TEXT_PRIMARY
        for col in range(len(self.COLUMNS)):
            cell = self.table.item(row, col)
            if cell is not None:
                cell.setForeground(colour)

    def refresh_buttons(self) -> None:
        zone = self.selected_zone()
        state = self.store.snapshot().get(zone) if zone else None
        ok = self.store.available and state is not None
        me = self.store.who
        exclusive = ok and state is not None and state.mode is ZoneMode.EXCLUSIVE
        watcher = not self.store.role.may_command
        mine = exclusive and state is not None and state.holder == me
        held_by_other = exclusive and state is not None and bool(state.holder) and not mine
        self.take_button.setEnabled(
            exclusive and not watcher and state is not None and not state.holder
        )
        self.release_button.setEnabled(mine or (state is not None and me in state.requests))
        self.request_button.setEnabled(
            held_by_other and not watcher and state is not None and me not in state.requests
        )
        self.grant_button.setEnabled(mine and state is not None and bool(state.requests))
        asking = not mine and state is not None and me in state.requests
        if asking:
            self.release_button.setText(tr("Withdraw request"))
            self.release_button.setToolTip(
                tr("You only asked for {0}: withdraw the request (you never held it)").format(zone)
            )
        else:
            self.release_button.setText(tr("Release"))
            self.release_button.setToolTip(
                tr("Give up {0}: it becomes free, and the other desks are told").format(zone)
                if mine
                else ""
            )
        self.force_button.setEnabled(exclusive)
        self.mode_button.setEnabled(ok)

    # -- actions ---------------------------------------------------------------------

    def _run(self, what: str, action: Callable[[], Awaitable[object]]) -> None:
        async def run() -> None:
            try:
                await action()
            except AuthorityRefused as exc:
                text = tr("{0} refused: {1}").format(what, refusal_text(exc.refusal))
                self.status.setText(text)
                self.status.setStyleSheet(f"color: {style.ATTENTION.name()};")
                self.message.emit(text)
                return
            except Exception as exc:  # shown, never swallowed
                log.exception("zone action %s failed", what)
                self.status.setText(tr("{0} failed: {1}").format(what, exc))
                return
            self.status.setText("")
            self.message.emit(tr("Zone control: {0}").format(what))
            self.refresh()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def take(self) -> None:
        zone = self.selected_zone()
        if zone:
            self._run(tr("take {0}").format(zone), lambda: self.store.take(zone))

    def release(self) -> None:
        """Release a zone held, or withdraw a request (the same script: the button says which)."""
        zone = self.selected_zone()
        state = self.store.snapshot().get(zone) if zone else None
        if not zone or state is None:
            return
        if state.holder != self.store.who and self.store.who in state.requests:
            what = tr("withdraw the request for {0}").format(zone)
        else:
            what = tr("release {0}").format(zone)
        self._run(what, lambda: self.store.release(zone))

    def request(self) -> None:
        zone = self.selected_zone()
        if zone:
            self._run(tr("request {0}").format(zone), lambda: self.store.request(zone))

    def grant(self) -> None:
        zone = self.selected_zone()
        state = self.store.snapshot().get(zone) if zone else None
        if zone and state is not None and state.requests:
            to = state.requests[0]
            name = self.line.zone_by_id[zone].name_zh if zone in self.line.zone_by_id else ""
            question = tr(
                "Give zone {0} {1} to {2}?\n\nYou will no longer command its devices; "
                "{2} is told at once."
            ).format(zone, name, to)
            if not self.confirm(tr("Grant zone {0}").format(zone), question):
                self.message.emit(tr("Zone control: {0} kept").format(zone))
                return
            self._run(tr("grant {0} to {1}").format(zone, to), lambda: self.store.grant(zone, to))

    def _ask(self, title: str, question: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=self)
        box.setObjectName("zoneConfirm")
        yes = box.addButton(tr("Grant"), QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton(tr("Keep it"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)  # Enter keeps the zone: giving it away is deliberate
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is yes

    def force(self, to: str | None = None) -> None:
        zone = self.selected_zone()
        if not zone:
            return
        if to is None:
            prompt = tr("Give {0} to (dispatcher@workstation; empty: nobody):").format(zone)
            text, ok = QInputDialog.getText(self, tr("Force transfer"), prompt)
            if not ok:
                return
            to = text.strip()
        target = to
        self._run(
            tr("force {0} to {1}").format(zone, target or tr("nobody")),
            lambda: self.store.force(zone, target),
        )

    def switch_mode(self) -> None:
        zone = self.selected_zone()
        state = self.store.snapshot().get(zone) if zone else None
        if zone and state is not None:
            new = ZoneMode.SHARED if state.mode is ZoneMode.EXCLUSIVE else ZoneMode.EXCLUSIVE
            self._run(
                tr("make {0} {1}").format(zone, mode_text(new)),
                lambda: self.store.set_mode(zone, new),
            )

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
