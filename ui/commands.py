"""Every command of the window, from the gesture to the outcome: one path.

1. A gesture (a context menu's entry, a shortcut, a dock button) names a device
   by a :class:`~app.model.devices.DeviceRef` and an operation; the intent is
   built at once (``pipeline.intent``: its idempotency key, its zone).
2. It is checked once, through the pipeline (``pipeline.check``): a context menu
   shows an entry that may not be sent disabled, with the reason; any other
   gesture is refused before a dialog opens, with the reason in the status bar
   and the event log.
3. The two-step confirmation (:class:`~ui.dialogs.ConfirmCommandDialog`) names
   the device, the operation and the zone; only its confirm button goes on.
4. ``pipeline.execute(intent)``: the device lock, the COMMAND with the intent's
   key and the lock's token, the outcome (``docs/control.md``). Every intent's
   record reaches the command log, the event log and the status bar.

The window always has a pipeline: without Redis it is the single-workstation
lock (``app/wiring.py``); the tests use the same with a fake commander.
"""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QMenu

from app.control.pipeline import CommandRecord, Intent
from app.control.service import ControlService
from app.model.commands import CommandOp, CommandResult
from app.model.devices import DeviceRef
from app.model.roles import Role
from ui import style
from ui.bridge import ControlBridge
from ui.commandlog import CommandLogDock
from ui.dialogs import CommandRequest, ConfirmCommandDialog, op_text, outcome_look, result_text
from ui.host import CommandEntry, Host
from ui.i18n import refusal_text


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
        bridge.commandStarted.connect(self.log.on_started)
        bridge.commandFinished.connect(self._on_finished)

    # -- may this desk command? ---------------------------------------------------------

    def desk_block(self) -> str:
        """Why this desk cannot command anything now, or "" when it can."""
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

    def _prepare(self, device: DeviceRef, op: CommandOp, detail: str) -> CommandRequest:
        intent = self.pipeline.intent(device.id, op)
        return CommandRequest(device, intent, self.zone_text(intent.zone), detail)

    def _refusal(self, intent: Intent) -> str:
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
            text = self.tr("Not sent: {0} {1}: {2}").format(op_text(op), device.id, refusal)
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

        def finished(code: int) -> None:
            if self.dialog is dialog:
                self.dialog = None
            dialog.deleteLater()
            if code == ConfirmCommandDialog.DialogCode.Accepted:
                self.send(request)
            else:
                self.host.show_status(
                    self.tr("Cancelled: {0} {1}").format(op_text(request.op), request.device.id),
                    timeout_ms=5000,
                )

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def send(self, request: CommandRequest) -> None:
        """The confirmed intent to the pipeline; its record comes back as the outcome."""
        what = (op_text(request.op), request.device.id)
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
        text = result_text(rec.result, rec.refusal)
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
