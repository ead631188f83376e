"""From the session's plain events to Qt signals, with state changes coalesced per frame.

The session reports every delta and every UDP train datagram as it arrives; a
burst of twenty datagrams must not cost twenty repaint passes. The bridge merges
the ``Changes`` into one pending set and flushes it at most once per frame
(~16 ms) with a single-shot timer: the first change of a quiet period starts the
timer, the ones after it only merge.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from app.comms.link import LinkInfo
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
