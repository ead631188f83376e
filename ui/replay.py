"""Replay mode (回放): the same window as a live desk, driven by a recording.

:func:`open_replay` builds the :class:`~ui.mainwindow.MainWindow` over a
:class:`~app.replay.session.ReplaySession` (an observer's, replaying: every command is
refused), a control service without Redis and without an audit file, and an alarm
service that is never started, whose list is the player's. Nothing connects to
anything: no link, no Redis, no Kafka.

What tells it is a replay, on every view: the purple banner under the header
("REPLAY 14:03:12", the day, the speed, whose desk), the window's title starting with
REPLAY, the status bar's clock at the replay's time, the event and command logs
stamped with the replay's time; the replay bar (:mod:`ui.replaybar`) and the search
dock (:mod:`ui.replaysearch`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from app.alarms.consumer import FeedState
from app.alarms.service import AlarmService
from app.config import Workstation
from app.control.pipeline import CommandRecord
from app.control.service import ControlService
from app.model.topology import Line
from app.paths import blackbox_dir
from app.replay.player import Player, ReplayClock
from app.replay.session import ReplaySession, open_source
from app.replay.store import Recording
from app.wiring import feed_settings, load_plan, offline_control
from ui.clock import time_text
from ui.dialogs import result_text
from ui.mainwindow import MainWindow
from ui.replaybar import ReplayBar, ReplayDriver
from ui.replaysearch import ReplaySearchDock

log = logging.getLogger("ui.replay")

#: the banner's colour: purple, no alarm's and no device state's
BANNER_BG = "#6a1b9a"
BANNER_FG = "#ffffff"


def default_blackbox(ws: Workstation | None = None) -> Path:
    """Where this workstation's own black box is written (the live recorder's root):
    ``blackbox.folder``, else ``<user data>/blackbox``."""
    if ws is not None and ws.blackbox.folder:
        return Path(ws.blackbox.folder)
    return blackbox_dir()


class ReplayBanner(QLabel):
    """The strip that says REPLAY and the replay's time, across the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(
            f"QLabel#replayBanner {{ background: {BANNER_BG}; color: {BANNER_FG};"
            " font-weight: bold; padding: 4px; border-bottom: 2px solid #e1bee7; }"
        )
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.setFont(font)


@dataclass
class Replay:
    """One replay window and what drives it."""

    window: MainWindow
    player: Player
    session: ReplaySession
    driver: ReplayDriver
    bar: ReplayBar
    banner: ReplayBanner
    search: ReplaySearchDock
    alarms: AlarmService
    control: ControlService

    def banner_text(self) -> str:
        return self.banner.text()

    async def aclose(self) -> None:
        self.driver.pause()
        await self.window.aclose()


def replay_control(session: ReplaySession) -> ControlService:
    """The window's control services: no Redis, no audit file; every command is
    refused before the pipeline (``RefusalCode.REPLAY``)."""
    return offline_control(
        session, session.line, session.state, dispatcher=session.dispatcher, node=session.node
    )


def open_replay(
    ws: Workstation,
    line: Line,
    recording: Recording,
    *,
    at_ms: int | None = None,
    settings: QSettings | None = None,
    timetable: Any = "configured",
) -> Replay:
    """The replay window of ``recording`` at ``at_ms`` (default: its start), not shown."""
    plan = load_plan(ws, line) if timetable == "configured" else timetable
    clock = ReplayClock()
    players: list[Player] = []
    alarms = AlarmService(
        feed_settings(ws, line), clock_ms=lambda: players[0].now_ms() if players else 0
    )
    alarms.status = replace(alarms.status, state=FeedState.REPLAY)  # no feed: played
    player = Player(line, recording, timetable=plan, clock=clock, alarms=alarms.list)
    players.append(player)
    player.alarms_changed.connect(alarms.changed.emit)
    session = ReplaySession(player)
    start = player.start_ms if at_ms is None else max(player.start_ms, min(at_ms, player.end_ms))
    player.seek(start)
    control = replay_control(session)
    window = MainWindow(session, control, alarms, settings=settings)
    driver = ReplayDriver(player, window)
    tz = window.tz
    banner = ReplayBanner()
    window.add_strip(banner)
    bar = ReplayBar(driver, tz, window)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    search = ReplaySearchDock(recording, driver, tz, window)
    window.add_dock(search, Qt.DockWidgetArea.RightDockWidgetArea)
    replay = Replay(window, player, session, driver, bar, banner, search, alarms, control)
    _mark(replay, tz)
    _check_line(replay, line)
    for damage in recording.damage:  # a torn or damaged tail: what is before it is shown
        window.log_event(
            QCoreApplication.translate("ReplayWindow", "Recording damaged, read up to: {0}").format(
                damage
            )
        )
    return replay


def _mark(replay: Replay, tz: dt.tzinfo | None) -> None:
    """REPLAY on every view: the banner, the title, the clock, the logs' times."""
    window, player, driver = replay.window, replay.player, replay.driver
    session = replay.session
    title = window.windowTitle()
    window.setWindowTitle(
        QCoreApplication.translate("ReplayWindow", "REPLAY {0} — {1}").format(
            _date(player.now_ms(), tz), title
        )
    )

    def stamp() -> str:
        return time_text(player.now_ms(), tz)

    def show(_ms: int = 0) -> None:
        t = player.now_ms()
        speed = (
            f"{driver.clock.speed:g}×"
            if driver.clock.playing
            else QCoreApplication.translate("ReplayWindow", "paused")
        )
        meta = player.meta  # the META in force at the moment shown (a restart may change it)
        node, dispatcher = (
            (meta.node, meta.dispatcher) if meta is not None else (session.node, session.dispatcher)
        )
        who = f"{node} · {dispatcher}" if dispatcher else node
        replay.banner.setText(
            QCoreApplication.translate(
                "ReplayWindow",
                "REPLAY {0}  ·  {1}  ·  {2}  ·  recorded at {3}  ·  commands disabled",
            ).format(time_text(t, tz), _date(t, tz), speed, who)
        )
        window.status_bar.clock_label.setText(window.status_bar.clock_text())

    # the logs and the status bar's clock: the replay's time, not the machine's
    window.events.clock_ms = player.now_ms
    window.commands.log.clock_ms = player.now_ms
    window.status_bar.clock_text = lambda: QCoreApplication.translate(
        "ReplayWindow", "REPLAY {0}"
    ).format(f"{_date(player.now_ms(), tz)} {time_text(player.now_ms(), tz)}")
    driver.moved.connect(show)
    driver.playingChanged.connect(lambda _p: show())

    def seeked(_ms: int) -> None:
        desk = window.timetable_desk
        if desk is not None:
            desk.refresh()

    driver.seeked.connect(seeked)

    def rebuilding(_ms: int) -> None:
        # a jump: the logs are told again from that moment (not appended to: each seek
        # tells every active local alarm again)
        window.events.list.clear()
        window.commands.log.table.setRowCount(0)
        window.commands.log._rows_by_key.clear()

    driver.rebuilding.connect(rebuilding)

    def command(rec: CommandRecord) -> None:
        window.commands.log.on_finished(rec)
        window.log_event(
            QCoreApplication.translate("ReplayWindow", "Recorded: {0}").format(
                result_text(rec.result, rec.refusal, window.commands.name(rec.intent.device))
            )
        )

    player.command_finished.connect(command)
    show()


def _check_line(replay: Replay, line: Line) -> None:
    """A recording made on another version of the line (its META's digest is not the
    line's the window shows it against) says so: the event log and the status bar; once
    for each other digest met (a restart may bring another)."""
    warned: set[str] = set()
    digest = line.digest()

    def check(_ms: int = 0) -> None:
        meta = replay.player.meta
        if meta is None or not meta.digest or meta.digest == digest or meta.digest in warned:
            return
        warned.add(meta.digest)
        text = QCoreApplication.translate(
            "ReplayWindow", "recorded on another version of the line: {0}; shown against {1}"
        ).format(meta.digest, digest)
        log.warning("replay: %s", text)
        replay.window.log_event(text)
        replay.window.show_status(text)

    replay.driver.moved.connect(check)
    check()


def _date(ms: int, tz: dt.tzinfo | None) -> str:
    return f"{dt.datetime.fromtimestamp(ms / 1000, tz):%Y-%m-%d}"


AT_FULL = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2})?)$")
AT_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")


def parse_at(at: str) -> tuple[str | None, dt.time]:
    """``--at``: ``YYYY-MM-DD HH:MM[:SS]`` or ``HH:MM[:SS]``; (day or None, time)."""
    at = at.strip()
    m = AT_FULL.match(at)
    if m is not None:
        return m.group(1), dt.time.fromisoformat(_pad(m.group(2)))
    if AT_TIME.match(at):
        return None, dt.time.fromisoformat(_pad(at))
    raise ValueError(f"{at!r}: YYYY-MM-DD HH:MM:SS or HH:MM[:SS]")


def _pad(t: str) -> str:
    parts = t.split(":")
    return ":".join(p.zfill(2) for p in parts)


def at_ms(player_start_ms: int, day: str | None, time: dt.time, tz: dt.tzinfo | None) -> int:
    """The moment ``--at`` names: on ``day``, else on the recording's first day."""
    base = (
        dt.date.fromisoformat(day)
        if day
        else dt.datetime.fromtimestamp(player_start_ms / 1000, tz).date()
    )
    return int(dt.datetime.combine(base, time, tz).timestamp() * 1000)


def open_from_args(
    ws: Workstation, line: Line, source: str, at: str | None
) -> tuple[Recording, int | None]:
    """``--replay SOURCE [--at TIME]``: the recording and the moment (ValueError: why not)."""
    day, time = parse_at(at) if at else (None, None)
    recording = open_source(Path(source), day, prefer_desk=ws.id)
    if not len(recording):
        raise ValueError(f"{source}: the recording is empty")
    if time is None:
        return recording, None
    from ui.clock import line_zone  # noqa: PLC0415

    return recording, at_ms(recording.time(0), day, time, line_zone(line.timezone))


def read_recording(source: Path, desk: str = "") -> Recording:
    """The recording at ``source`` (:func:`open_source`: a day's file is its desk's
    whole day; a folder several desks recorded into gives ``desk``'s). Reads and checks
    every byte: run it off the GUI thread."""
    return open_source(source, prefer_desk=desk)


class ReplayMenu:
    """File ▸ Replay… in a live window: a replay window of this workstation's black box
    (a day's file, or a clip: the dialog opens at the black box). The replays it opened
    close with it (:meth:`aclose`); each keeps its own layout (``layout/replay``)."""

    def __init__(self, window: MainWindow, ws: Workstation, line: Line) -> None:
        self.window = window
        self.ws = ws
        self.line = line
        self.opened: list[Replay] = []
        # the openings and the closings under way (each task kept until it is done)
        self._tasks: set[asyncio.Task[Replay | None]] = set()
        self._releasing: set[asyncio.Task[None]] = set()
        action = window.menu_bar.file_menu.addAction(
            QCoreApplication.translate("ReplayWindow", "Replay…")
        )
        action.setObjectName("replayAction")
        action.triggered.connect(self.start)
        before = getattr(window.menu_bar, "quit_action", None)
        if before is not None:
            window.menu_bar.file_menu.insertAction(before, action)

    def start(self) -> asyncio.Task[Replay | None] | None:
        """The file dialog, then the recording opened in a worker thread (a day is read
        and checked, ~1 s: the live window's loop must not stall); the task, or None."""
        window = self.window
        path, _ = QFileDialog.getOpenFileName(
            window,
            QCoreApplication.translate("ReplayWindow", "Replay a recording"),
            str(default_blackbox(self.ws)),
            QCoreApplication.translate(
                "ReplayWindow", "Recordings (*.dhbx *.dhclip);;All files (*)"
            ),
        )
        if not path:
            return None
        task = asyncio.get_running_loop().create_task(self.open_path(Path(path)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def open_path(self, source: Path) -> Replay | None:
        """The replay window of the recording at ``source`` (a day's file: the whole
        day), shown; None (and why, in the status bar) when it cannot be opened."""
        window = self.window
        try:
            recording = await asyncio.to_thread(read_recording, source, self.ws.id)
        except (ValueError, OSError) as exc:
            window.show_status(
                QCoreApplication.translate("ReplayWindow", "Replay not opened: {0}").format(exc)
            )
            return None
        replay = open_replay(self.ws, self.line, recording)
        self.opened.append(replay)
        replay.window.closing.connect(lambda: self._closed(replay))
        replay.window.show()
        return replay

    def _closed(self, replay: Replay) -> None:
        """A replay window closed: stopped and let go now (its timer, model and the
        day's bytes), not when the live window closes."""
        replay.driver.pause()
        if replay in self.opened:
            self.opened.remove(replay)
        replay.window.hide()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (shutting down): the window goes with its timers
            replay.window.deleteLater()
            return
        task = loop.create_task(self._release(replay))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release(self, replay: Replay) -> None:
        try:
            await replay.aclose()
        finally:
            replay.window.deleteLater()

    async def aclose(self) -> None:
        """Close every replay window this menu opened (one still opening is not)."""
        for task in list(self._tasks):
            task.cancel()
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)
        opened, self.opened = self.opened, []
        for replay in opened:
            await replay.aclose()
            replay.window.hide()
            replay.window.deleteLater()


def offer_replay(
    window: MainWindow, ws: Workstation, line: Line
) -> Callable[[], asyncio.Task[Replay | None] | None]:
    """File ▸ Replay… in ``window`` (:class:`ReplayMenu`); its ``start``."""
    return ReplayMenu(window, ws, line).start
