"""The replay bar: where the replay stands and how it moves (a toolbar, always shown).

Play / pause, a second back or on, the speed (0.5× to 128×), the time slider over
the recording, a time to jump to, and the next alarm, command or failover. A timer
(:data:`TICK_MS`) plays the recording forward to the replay clock
(``player.advance(clock.now_ms())``); a move backwards re-seeks (the player rebuilds
the moment from a keyframe). :class:`ReplayDriver` is the logic, :class:`ReplayBar`
its widgets.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QObject, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QSlider,
    QTimeEdit,
    QToolBar,
    QToolButton,
    QWidget,
)

from app.replay.format import Kind
from app.replay.player import SPEEDS, Player

TICK_MS = 50
STEP_MS = 1000


class ReplayDriver(QObject):
    """Moves ``player`` on its clock: play, pause, step, seek, jump to the next of a kind."""

    moved = Signal(object)  # int: the replay's time (ms), after every move
    seeked = Signal(object)  # int: a jump (rebuilt): views that hold derived state refresh
    # int: the time about to be rebuilt (a seek back or far on), emitted BEFORE the
    # player rebuilds it: the logs are cleared, to be told again from that moment
    rebuilding = Signal(object)
    playingChanged = Signal(bool)

    def __init__(self, player: Player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.clock = player.clock
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    @property
    def position_ms(self) -> int:
        return self.player.now_ms()

    def tick(self) -> None:
        """Play on to where the clock has run (the timer calls this; so may a test)."""
        p = self.player
        t = min(self.clock.now_ms(), p.end_ms)
        if t != p.now_ms():
            p.advance(t)
            self.moved.emit(t)
        if t >= p.end_ms and self.clock.playing:
            self.pause()  # the end of the recording (after playing to it: the clock there)

    def play(self, speed: float | None = None) -> None:
        if self.player.now_ms() >= self.player.end_ms:
            return
        self.clock.set(self.player.now_ms())
        self.clock.play(speed)
        self.timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        self.clock.pause()
        self.clock.set(self.player.now_ms())
        self.timer.stop()
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        if self.clock.playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        if self.clock.playing:
            self.clock.play(speed)
        else:
            self.clock.speed = speed

    def seek(self, time_ms: int) -> None:
        """Everything as it was at ``time_ms`` (within the recording)."""
        p = self.player
        t = max(p.start_ms, min(time_ms, p.end_ms))
        playing = self.clock.playing
        if t >= p.now_ms() and t - p.now_ms() < 60_000:
            p.advance(t)  # a short way on: play it (what happened is told)
        else:
            self.rebuilding.emit(t)
            p.seek(t)  # back, or far on: rebuilt
        self.clock.set(t)
        self.clock.position_ms = t
        if playing:
            self.clock.play()
        self.seeked.emit(t)
        self.moved.emit(t)

    def step(self, delta_ms: int) -> None:
        self.seek(self.player.now_ms() + delta_ms)

    def next_of(self, what: str) -> int | None:
        """Jump to the next alarm, command or failover after the moment shown; its time,
        or None (nothing there: the replay stays)."""
        kinds, failover = {
            "alarm": ((Kind.ALARM, Kind.LOCAL_EVENT, Kind.LOCAL_ALARM), False),
            "command": ((Kind.COMMAND,), False),
            "failover": ((Kind.MASTER,), True),
        }[what]
        t = self.player.next_of(kinds, self.player.now_ms(), failover_only=failover)
        if t is not None:
            self.seek(t)
        return t


class JumpTimeEdit(QTimeEdit):
    """The time to jump to: ``submitted`` on Return / Enter only (not when the box
    merely loses focus, as ``editingFinished`` is)."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)  # the text interpreted first
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.submitted.emit()


class ReplayBar(QToolBar):
    """The replay's controls; ``tz`` is the line's zone the times are shown in."""

    def __init__(self, driver: ReplayDriver, tz: dt.tzinfo | None, parent: QWidget | None = None):
        super().__init__(self.tr("Replay"), parent)
        self.setObjectName("replayBar")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setEnabled(False)  # always shown
        self.driver = driver
        self.tz = tz
        p = driver.player

        def button(name: str, text: str, tip: str) -> QToolButton:
            b = QToolButton(self)
            b.setObjectName(name)
            b.setText(text)
            b.setToolTip(tip)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.addWidget(b)
            return b

        self.back = button("replayBack", self.tr("−1 s"), self.tr("One second back"))
        self.play = button("replayPlay", self.tr("▶ Play"), self.tr("Play / pause (Space)"))
        self.play.setShortcut(Qt.Key.Key_Space)
        self.on = button("replayStep", self.tr("+1 s"), self.tr("One second on"))
        self.speed = QComboBox(self)
        self.speed.setObjectName("replaySpeed")
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip(self.tr("Replay speed"))
        self.addWidget(self.speed)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("replaySlider")
        self.slider.setRange(0, max(1, (p.end_ms - p.start_ms) // 1000))
        self.slider.setMinimumWidth(300)
        self.slider.setToolTip(self.tr("The recording, start to end"))
        self.addWidget(self.slider)
        self.position = QLabel(self)
        self.position.setObjectName("replayPosition")
        self.addWidget(self.position)
        self.addSeparator()
        self.jump_edit = JumpTimeEdit(self)
        self.jump_edit.setObjectName("replayJumpTime")
        self.jump_edit.setDisplayFormat("HH:mm:ss")
        self.jump_edit.setToolTip(self.tr("A time to jump to (the line's time)"))
        self.addWidget(self.jump_edit)
        self.jump = button("replayJump", self.tr("Go"), self.tr("Jump to this time"))
        self.addSeparator()
        self.next_alarm = button("replayNextAlarm", self.tr("Next alarm"), self.tr("Next alarm"))
        self.next_command = button(
            "replayNextCommand", self.tr("Next command"), self.tr("Next command")
        )
        self.next_failover = button(
            "replayNextFailover", self.tr("Next failover"), self.tr("Next failover")
        )
        self._dragging = False

        self.back.clicked.connect(lambda: driver.step(-STEP_MS))
        self.on.clicked.connect(lambda: driver.step(STEP_MS))
        self.play.clicked.connect(driver.toggle)
        self.speed.currentIndexChanged.connect(
            lambda i: driver.set_speed(float(self.speed.itemData(i)))
        )
        self.slider.sliderPressed.connect(self._pressed)
        self.slider.sliderReleased.connect(self._released)
        self.slider.valueChanged.connect(self._slid)
        self.jump.clicked.connect(self.jump_to_edit)
        self.jump_edit.submitted.connect(self.jump_to_edit)
        self.next_alarm.clicked.connect(lambda: self._next("alarm"))
        self.next_command.clicked.connect(lambda: self._next("command"))
        self.next_failover.clicked.connect(lambda: self._next("failover"))
        driver.moved.connect(self.show_position)
        driver.playingChanged.connect(self._playing)
        self.show_position(p.now_ms())

    def _dt(self, ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ms / 1000, self.tz)

    def show_position(self, ms: int) -> None:
        p = self.driver.player
        if not self._dragging:
            self.slider.blockSignals(True)
            self.slider.setValue((ms - p.start_ms) // 1000)
            self.slider.blockSignals(False)
        self.position.setText(f"{self._dt(ms):%H:%M:%S} / {self._dt(p.end_ms):%H:%M:%S}")
        if not self.jump_edit.hasFocus():
            t = self._dt(ms)
            self.jump_edit.setTime(QTime(t.hour, t.minute, t.second))

    def _playing(self, playing: bool) -> None:
        self.play.setText(self.tr("‖ Pause") if playing else self.tr("▶ Play"))

    def _pressed(self) -> None:
        self._dragging = True

    def _released(self) -> None:
        self._dragging = False
        self._slid(self.slider.value())

    def _slid(self, value: int) -> None:
        if self._dragging:
            return
        self.driver.seek(self.driver.player.start_ms + value * 1000)

    def jump_to_edit(self) -> None:
        """The time in the edit, on the day of the replay's moment (the line's zone)."""
        q = self.jump_edit.time()
        day = self._dt(self.driver.position_ms)
        t = day.replace(hour=q.hour(), minute=q.minute(), second=q.second(), microsecond=0)
        self.driver.seek(int(t.timestamp() * 1000))

    def _next(self, what: str) -> None:
        if self.driver.next_of(what) is None:
            window = self.window()
            show = getattr(window, "show_status", None)
            if callable(show):
                show(self.tr("Nothing more of that in the recording"))
