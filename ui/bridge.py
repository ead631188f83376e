"""From the session's plain events to Qt signals, with state changes coalesced per frame.

The session reports every delta and every UDP train datagram as it arrives; a
burst of twenty datagrams must not cost twenty repaint passes. The bridge merges
the ``Changes`` into one pending set and flushes it at most once per frame
(~16 ms) with a single-shot timer: the first change of a quiet period starts the
timer, the ones after it only merge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from app.comms.link import LinkInfo
from app.control.service import ControlService
from app.events import Event
from app.model.commands import CommandOp, CommandResult
from app.model.state import Changes, LineState
from app.model.topology import Line
from app.session import LocalAlarm, MasterView

FRAME_MS = 16


class SessionLike(Protocol):
    """What the views need of :class:`app.session.DispatcherSession`."""

    line: Line
    state: LineState
    node: str
    dispatcher: str
    role: str
    master: MasterView
    alarms: dict[str, LocalAlarm]
    state_changed: Event[Changes]
    links_changed: Event[list[LinkInfo]]
    command_finished: Event[CommandResult]
    master_changed: Event[MasterView]
    alarm: Event[LocalAlarm]

    def link_infos(self) -> list[LinkInfo]: ...

    async def command(self, device: str, op: CommandOp) -> CommandResult: ...


class SessionBridge(QObject):
    """Re-emits a session's events as Qt signals; ``stateChanged`` at most once a frame."""

    stateChanged = Signal(object)  # Changes, merged since the last emission
    linksChanged = Signal(list)  # list[LinkInfo]
    commandFinished = Signal(object)  # CommandResult
    masterChanged = Signal(object)  # MasterView
    alarmRaised = Signal(object)  # LocalAlarm (raised or cleared)

    def __init__(
        self, session: SessionLike, parent: QObject | None = None, frame_ms: int = FRAME_MS
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.pending = Changes()
        self.flushes = 0
        self.received = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(frame_ms)
        self._timer.timeout.connect(self.flush)
        self._attached = False
        self.attach()

    def attach(self) -> None:
        if not self._attached:
            self.session.state_changed.connect(self._on_state)
            self.session.links_changed.connect(self._on_links)
            self.session.command_finished.connect(self._on_command)
            self.session.master_changed.connect(self._on_master)
            self.session.alarm.connect(self._on_alarm)
            self._attached = True

    def detach(self) -> None:
        """Stop listening (the session may outlive the window, or the other way round)."""
        if self._attached:
            self.session.state_changed.disconnect(self._on_state)
            self.session.links_changed.disconnect(self._on_links)
            self.session.command_finished.disconnect(self._on_command)
            self.session.master_changed.disconnect(self._on_master)
            self.session.alarm.disconnect(self._on_alarm)
            self._attached = False
        self._timer.stop()

    def _on_state(self, changes: Changes) -> None:
        self.received += 1
        self.pending.merge(changes)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Emit what is pending now (the timer calls this; so may a test)."""
        self._timer.stop()
        if not self.pending:
            return
        changes, self.pending = self.pending, Changes()
        self.flushes += 1
        self.stateChanged.emit(changes)

    def _on_links(self, infos: list[LinkInfo]) -> None:
        self.linksChanged.emit(list(infos))

    def _on_command(self, result: CommandResult) -> None:
        self.commandFinished.emit(result)

    def _on_master(self, view: MasterView) -> None:
        self.masterChanged.emit(view)

    def _on_alarm(self, alarm: LocalAlarm) -> None:
        self.alarmRaised.emit(alarm)


class ControlBridge(QObject):
    """Re-emits the control services' events (zone authority, commands) as Qt signals."""

    zoneChanged = Signal(object)  # ZoneAuthority
    availabilityChanged = Signal(bool)
    statusChanged = Signal(object)  # ControlStatus
    commandStarted = Signal(object)  # Intent
    commandFinished = Signal(object)  # CommandRecord

    def __init__(self, control: ControlService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = control
        self._attached = False
        self.attach()

    def _hooks(self) -> list[tuple[Event[Any], Callable[[Any], None]]]:
        c = self.control
        hooks: list[tuple[Event[Any], Callable[[Any], None]]] = [
            (c.status_changed, self._on_status),
            (c.pipeline.started, self._on_started),
            (c.pipeline.finished, self._on_finished),
        ]
        if c.authority is not None:
            hooks += [
                (c.authority.changed, self._on_zone),
                (c.authority.availability, self._on_availability),
            ]
        return hooks

    def attach(self) -> None:
        if not self._attached:
            for event, hook in self._hooks():
                event.connect(hook)
            self._attached = True

    def detach(self) -> None:
        if self._attached:
            for event, hook in self._hooks():
                event.disconnect(hook)
            self._attached = False

    def _on_zone(self, state: object) -> None:
        self.zoneChanged.emit(state)

    def _on_availability(self, available: bool) -> None:
        self.availabilityChanged.emit(available)

    def _on_status(self, status: object) -> None:
        self.statusChanged.emit(status)

    def _on_started(self, intent: object) -> None:
        self.commandStarted.emit(intent)

    def _on_finished(self, record: object) -> None:
        self.commandFinished.emit(record)
