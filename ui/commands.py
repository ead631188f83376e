"""Every command of the window, from the gesture to the outcome: one path.

1. A gesture (a context menu's entry, a shortcut, a dock button) names a device
   by a :class:`~app.model.devices.DeviceRef` and an operation; the intent is
   built at once (``pipeline.intent``: its idempotency key, its zone).
2. It is checked once, through the pipeline (``pipeline.check``): a context menu
   shows an entry that may not be sent disabled, with the reason; any other
   gesture is refused before a dialog opens, with the reason in the status bar
   and the event log.
3. The two-step confirmation (:class:`~ui.dialogs.ConfirmCommandDialog`) names
   the device (a train by its number, :mod:`ui.names`), the operation and the zone,
   and what the interlocking will refuse when the state already shows it
   (:mod:`app.model.foresee`); it opens away from the device, which is framed on
   the schematic while it is open; only its confirm button goes on.
4. ``pipeline.execute(intent)``: the device lock, the COMMAND with the intent's
   key and the lock's token, the outcome (``docs/control.md``). Every intent's
   record reaches the command log, the event log and the status bar.

Keyboard: a click selects a device on the schematic; N / R throw a selected switch
to normal / reverse, L / U lock / unlock it, C / O close / reopen a selected
signal, H / G hold / release a selected train (:data:`SHORTCUTS`; the context
menus show the keys). Each opens the same confirmation.

The window always has a pipeline: without Redis it is the single-workstation
lock (``app/wiring.py``); the tests use the same with a fake commander.
"""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QObject, QRect, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu

from app.control.pipeline import CommandRecord, Intent
from app.control.service import ControlService
from app.model.commands import CommandOp, CommandResult, parse_train_device
from app.model.devices import DeviceKind, DeviceRef
from app.model.foresee import foresee
from app.model.refusal import Refusal, RefusalCode
from app.model.roles import Role
from app.model.state import SwitchPosition
from ui import style
from ui.bridge import ControlBridge
from ui.commandlog import CommandLogDock
from ui.dialogs import (
    CommandRequest,
    ConfirmCommandDialog,
    kind_text,
    op_text,
    outcome_look,
    result_text,
)
from ui.highlight import MarkerSlot
from ui.host import CommandEntry, Host
from ui.i18n import refusal_text
from ui.names import device_name, foreseen_text
from ui.trains import TrainItem

#: The keys of the commands on the selected device (and shown in the context menus).
SHORTCUTS: dict[CommandOp, str] = {
    CommandOp.THROW_NORMAL: "N",
    CommandOp.THROW_REVERSE: "R",
    CommandOp.LOCK_SWITCH: "L",
    CommandOp.UNLOCK_SWITCH: "U",
    CommandOp.CLOSE_SIGNAL: "C",
    CommandOp.REOPEN_SIGNAL: "O",
    CommandOp.HOLD_TRAIN: "H",
    CommandOp.RELEASE_TRAIN: "G",
}


class CommandFlow(QObject):
    """The command path of one window, and its command log dock."""

    sent = Signal(str, str)  # device, op: after confirmation, as it goes out

    def __init__(self, host: Host, control: ControlService, bridge: ControlBridge) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.session = host.session
        self.control = control
        self.pipeline = control.pipeline
        self.dialog: ConfirmCommandDialog | None = None
        self._tasks: set[asyncio.Task[CommandResult]] = set()
        self.log = CommandLogDock(self.session.dispatcher, host.tz, host.main_window)
        self.log.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        host.add_dock(self.log, Qt.DockWidgetArea.BottomDockWidgetArea, tabbed=True)
        self.log.namer = self.name
        bridge.commandStarted.connect(self.log.on_started)
        bridge.commandFinished.connect(self._on_finished)
        #: the frame on the schematic around the device the open dialog asks about
        self.target = MarkerSlot(host.scene, "target")
        self.shortcut_actions = self._build_shortcuts()

    # -- may this desk command? ---------------------------------------------------------

    def desk_block(self) -> str:
        """Why this desk cannot command anything now, or "" when it can."""
        if getattr(self.session, "replaying", False):
            return refusal_text(Refusal.of(RefusalCode.REPLAY))
        if not Role(self.session.role).may_command:
            return self.tr("observer workstation: commands disabled")
        if not self.session.state.synchronised:
            return self.tr("no live data: commands disabled")
        if not self.session.master.can_command:
            return self.tr("master unreachable: commands disabled")
        if not self.control.status().ok:
            return self.tr("zone control unavailable (Redis down): commands refused")
        return ""

    def zone_text(self, zone: str) -> str:
        """A zone as the dialog names it: ``Z2 文庙渡线区 (Wenmiao crossover zone)``."""
        if not zone:
            return ""
        found = self.session.line.zone_by_id.get(zone)
        return f"{zone} {found.name_zh} ({found.name_en})" if found else zone

    def name(self, device: str) -> str:
        """A device as the dispatcher knows it: a train by its number."""
        return device_name(device, self.session.state.trains)

    def _prepare(self, device: DeviceRef, op: CommandOp, detail: str) -> CommandRequest:
        intent = self.pipeline.intent(device.id, op)
        state = self.session.state
        seen = foresee(self.session.line, state, op, device.id)
        return CommandRequest(
            device,
            intent,
            self.zone_text(intent.zone),
            detail,
            name=self.name(device.id),
            foreseen=foreseen_text(seen, state.trains) if seen is not None else "",
        )

    def _refusal(self, intent: Intent) -> str:
        if getattr(self.session, "replaying", False):  # a recording: nothing goes out
            return refusal_text(Refusal.of(RefusalCode.REPLAY))
        refusal = self.pipeline.check(intent)
        return "" if refusal is None else refusal_text(refusal)

    # -- gestures -----------------------------------------------------------------------

    def entry(
        self,
        menu: QMenu,
        device: DeviceRef,
        op: CommandOp,
        *,
        possible: bool = True,
        detail: str = "",
    ) -> CommandEntry:
        """A context menu's entry for ``op`` on ``device``; its intent is checked now."""
        request = self._prepare(device, op, detail)
        refusal = self.desk_block() or self._refusal(request.intent)
        action = menu.addAction(op_text(op))
        action.setObjectName(op.value)
        key = SHORTCUTS.get(op)
        if key is not None:
            action.setShortcut(QKeySequence(key))
            action.setShortcutVisibleInContextMenu(True)
        action.setEnabled(possible and not refusal)
        action.triggered.connect(lambda: self.confirm(request))
        return CommandEntry(action, refusal)

    def request(
        self, device: DeviceRef, op: CommandOp, detail: str = ""
    ) -> ConfirmCommandDialog | None:
        """Any other gesture: the intent, checked; refused here with the reason in the
        status bar and the event log, else the confirmation."""
        request = self._prepare(device, op, detail)
        refusal = self._refusal(request.intent)
        if refusal:
            text = self.tr("Not sent: {0} {1}: {2}").format(
                op_text(op), request.device_name, refusal
            )
            self.host.show_status(text, style.ATTENTION)
            self.host.log_event(text)
            return None
        return self.confirm(request)

    # -- the confirmation, and the command -------------------------------------------------

    def confirm(self, request: CommandRequest) -> ConfirmCommandDialog:
        """Step two: the confirmation dialog; the intent goes out only on confirm."""
        if self.dialog is not None:
            self.dialog.reject()
        dialog = ConfirmCommandDialog(request, self.host.main_window)
        self.dialog = dialog
        avoid = self._mark_target(request.device.id)
        view = self.host.view
        area = QRect(view.mapToGlobal(view.rect().topLeft()), view.size())
        dialog.place_away(avoid if avoid is not None else QRect(area.center(), area.center()), area)

        def finished(code: int) -> None:
            if self.dialog is dialog:
                self.dialog = None
                self.target.clear()
            dialog.deleteLater()
            if code == ConfirmCommandDialog.DialogCode.Accepted:
                self.send(request)
            else:
                self.host.show_status(
                    self.tr("Cancelled: {0} {1}").format(op_text(request.op), request.device_name),
                    timeout_ms=5000,
                )

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def _mark_target(self, device: str) -> QRect | None:
        """Frame ``device`` on the schematic (brought into view first if it is not);
        returns where it is on screen (global), None if the schematic does not show it."""
        scene, view = self.host.scene, self.host.view
        rect = scene.device_rect(device)
        if rect is None:
            self.target.clear()
            return None
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        if not visible.contains(rect):
            view.centerOn(rect.center())
        item = scene.device_item(device)
        marker = self.target.show(rect, item if isinstance(item, TrainItem) else None)
        on_view = view.mapFromScene(marker.sceneBoundingRect()).boundingRect()
        return QRect(view.viewport().mapToGlobal(on_view.topLeft()), on_view.size())

    # -- the keyboard: commands on the selected device ------------------------------------

    def _build_shortcuts(self) -> list[QAction]:
        window = self.host.main_window
        actions = []
        for op, key in SHORTCUTS.items():
            action = QAction(self.tr("{0} (selected device)").format(op_text(op)), window)
            action.setObjectName(f"key_{op.value}")
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False, op=op: self.on_selected(op))
            window.addAction(action)
            actions.append(action)
        return actions

    def on_selected(self, op: CommandOp) -> ConfirmCommandDialog | None:
        """A command's key: ``op`` on the device selected on the schematic, through the
        same check and confirmation as its menu entry."""
        selected = self.host.view.selected
        kind = {
            CommandOp.THROW_NORMAL: DeviceKind.SWITCH,
            CommandOp.THROW_REVERSE: DeviceKind.SWITCH,
            CommandOp.LOCK_SWITCH: DeviceKind.SWITCH,
            CommandOp.UNLOCK_SWITCH: DeviceKind.SWITCH,
            CommandOp.CLOSE_SIGNAL: DeviceKind.SIGNAL,
            CommandOp.REOPEN_SIGNAL: DeviceKind.SIGNAL,
        }.get(op, DeviceKind.TRAIN)
        line, state = self.session.line, self.session.state
        found = {
            DeviceKind.SWITCH: selected in line.switch_by_id,
            DeviceKind.SIGNAL: selected in line.signal_by_id,
        }.get(kind, parse_train_device(selected) in state.trains)
        if not found:
            self.host.show_status(
                self.tr("{0}: select a {1} on the schematic first (click it)").format(
                    op_text(op), kind_text(kind)
                ),
                style.ATTENTION,
            )
            return None
        pointless = self._pointless(op, selected)
        if pointless:
            self.host.show_status(pointless, style.ATTENTION)
            return None
        return self.request(DeviceRef(kind, selected), op)

    def _pointless(self, op: CommandOp, device: str) -> str:
        """Why ``op`` would change nothing on ``device`` (the menus show it disabled)."""
        state = self.session.state
        name = self.name(device)
        sw = state.switches.get(device)
        sig = state.signals.get(device)
        train_id = parse_train_device(device)
        train = state.trains.get(train_id) if train_id is not None else None
        already = {
            CommandOp.THROW_NORMAL: sw is not None and sw.position is SwitchPosition.NORMAL,
            CommandOp.THROW_REVERSE: sw is not None and sw.position is SwitchPosition.REVERSE,
            CommandOp.LOCK_SWITCH: sw is not None and sw.locked,
            CommandOp.UNLOCK_SWITCH: sw is not None and not sw.locked,
            CommandOp.CLOSE_SIGNAL: sig is not None and sig.closed,
            CommandOp.REOPEN_SIGNAL: sig is not None and not sig.closed,
            CommandOp.HOLD_TRAIN: train is not None and train.held,
            CommandOp.RELEASE_TRAIN: train is not None and not train.held,
        }.get(op, False)
        if not already:
            return ""
        return self.tr("{0} {1}: nothing to do, it is so already").format(op_text(op), name)

    def send(self, request: CommandRequest) -> None:
        """The confirmed intent to the pipeline; its record comes back as the outcome."""
        if getattr(self.session, "replaying", False):  # never from a recording
            return
        what = (op_text(request.op), request.device_name)
        self.host.show_status(self.tr("Sending: {0} {1} …").format(*what))
        self.host.log_event(self.tr("Confirmed: {0} {1}").format(*what))
        self.sent.emit(request.device.id, request.op.value)
        task = asyncio.get_running_loop().create_task(self.pipeline.execute(request.intent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_finished(self, rec: CommandRecord) -> None:
        self.log.on_finished(rec)
        if rec.joined:
            return
        text = result_text(rec.result, rec.refusal, self.name(rec.intent.device))
        self.host.log_event(text)
        self.host.show_status(text, outcome_look(rec.result.outcome)[1])

    async def aclose(self) -> None:
        """Wait for the commands in flight to end (cancelled: each is told its outcome)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
