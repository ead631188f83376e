"""From the core's plain events to Qt signals, with changes coalesced per frame.

The session reports every delta and every UDP train datagram as it arrives; a
burst of twenty datagrams must not cost twenty repaint passes. A
:class:`Coalescer` merges the changes into one pending set and hands it on at
most once per frame (~16 ms) with a single-shot timer: the first change of a
quiet period starts the timer, the ones after it only merge. It is the one
coalescer of the views: the session's state changes, the alarm list's changes
and the consists' changes all go through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, Self, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from app.alarms.consumer import BadRecord, FeedStatus
from app.alarms.model import AlarmChanges
from app.alarms.service import AlarmService
from app.comms.link import LinkInfo
from app.control.service import ControlService
from app.events import Event
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
    master_changed: Event[MasterView]
    alarm: Event[LocalAlarm]

    def link_infos(self) -> list[LinkInfo]: ...


class Mergeable(Protocol):
    """A set of changes: later ones fold into it; it is true when it holds any."""

    def merge(self, other: Self, /) -> None: ...

    def __bool__(self) -> bool: ...


M = TypeVar("M", bound=Mergeable)


class Coalescer(Generic[M]):
    """Merges the changes handed to :meth:`add` and delivers them at most once an
    ``interval_ms`` (a frame), in one call, when ``ready`` says there is something."""

    def __init__(
        self,
        empty: Callable[[], M],
        deliver: Callable[[M], None],
        parent: QObject,
        interval_ms: int = FRAME_MS,
        ready: Callable[[M], bool] = bool,
    ) -> None:
        self._empty = empty
        self._deliver = deliver
        self._ready = ready
        self.pending = empty()
        self.received = 0  # changes added
        self.flushes = 0  # deliveries
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)

    def add(self, changes: M) -> None:
        self.received += 1
        self.pending.merge(changes)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Deliver what is pending now (the timer calls this; so may a test)."""
        self._timer.stop()
        if not self._ready(self.pending):
            return
        changes, self.pending = self.pending, self._empty()
        self.flushes += 1
        self._deliver(changes)

    def stop(self) -> None:
        self._timer.stop()


class SessionBridge(QObject):
    """Re-emits a session's events as Qt signals; ``stateChanged`` at most once a frame."""

    stateChanged = Signal(object)  # Changes, merged since the last emission
    linksChanged = Signal(list)  # list[LinkInfo]
    masterChanged = Signal(object)  # MasterView
    alarmRaised = Signal(object)  # LocalAlarm (raised or cleared)

    def __init__(
        self, session: SessionLike, parent: QObject | None = None, frame_ms: int = FRAME_MS
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.changes = Coalescer(Changes, self.stateChanged.emit, self, frame_ms)
        self._attached = False
        self.attach()

    @property
    def flushes(self) -> int:
        return self.changes.flushes

    @property
    def received(self) -> int:
        return self.changes.received

    def _hooks(self) -> list[tuple[Event[Any], Callable[[Any], None]]]:
        s = self.session
        return [
            (s.state_changed, self.changes.add),
            (s.links_changed, self._on_links),
            (s.master_changed, self._on_master),
            (s.alarm, self._on_alarm),
        ]

    def attach(self) -> None:
        if not self._attached:
            for event, hook in self._hooks():
                event.connect(hook)
            self._attached = True

    def close(self) -> None:
        """Stop listening (the session may outlive the window, or the other way round)."""
        if self._attached:
            for event, hook in self._hooks():
                event.disconnect(hook)
            self._attached = False
        self.changes.stop()

    def flush(self) -> None:
        """Emit what is pending now (the timer calls this; so may a test)."""
        self.changes.flush()

    def _on_links(self, infos: list[LinkInfo]) -> None:
        self.linksChanged.emit(list(infos))

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

    def close(self) -> None:
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


def _alarm_news(changes: AlarmChanges) -> bool:
    # a row shelved back is news even when it changes no row shown (the horn may sound)
    return bool(changes) or bool(changes.unshelved)


class AlarmBridge(QObject):
    """The alarm service's events as Qt signals; ``changed`` merged and flushed once per frame."""

    changed = Signal(object)  # AlarmChanges
    statusChanged = Signal(object)  # FeedStatus
    badRecord = Signal(object)  # BadRecord

    def __init__(self, service: AlarmService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.changes = Coalescer(AlarmChanges, self.changed.emit, self, ready=_alarm_news)
        service.changed.connect(self.changes.add)
        service.status_changed.connect(self._on_status)
        service.bad_record.connect(self._on_bad)

    @property
    def flushes(self) -> int:
        return self.changes.flushes

    def close(self) -> None:
        self.service.changed.disconnect(self.changes.add)
        self.service.status_changed.disconnect(self._on_status)
        self.service.bad_record.disconnect(self._on_bad)
        self.changes.stop()

    def flush(self) -> None:
        self.changes.flush()

    def _on_status(self, status: FeedStatus) -> None:
        self.statusChanged.emit(status)

    def _on_bad(self, bad: BadRecord) -> None:
        self.badRecord.emit(bad)
