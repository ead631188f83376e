"""The Qt side of ``dispatcher-hmi``: the application, the asyncio loop on Qt, the session.

Imported by :mod:`ui.main` only when a window is wanted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import qasync
from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QSocketNotifier,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from app.config import Workstation
from app.control.authority import AuthorityRefused, ZoneAuthorityStore, ZoneMode
from app.counterparts.demo import (
    JoinError,
    SimulatorError,
    demo_counterparts,
    join_demo,
    next_desk_id,
    provision_demo_users,
)
from app.identity import LoginThrottle
from app.identity.directory import directory_for
from app.lifetime import running
from app.memdiag import kafka_statistics_from_args
from app.memtrim import keep_trimmed
from app.model.topology import Line
from app.paths import actuals_dir, resource_dir
from app.session import Endpoint
from app.wiring import (
    build_alarms,
    build_control,
    build_iscs,
    build_recorder,
    build_session,
    configured_endpoints,
    redis_options,
)
from ui import style
from ui.desklock import DeskLock
from ui.i18n import install_translators, startup_language
from ui.login import PasswordCheck, ask_identity
from ui.mainwindow import MainWindow
from ui.memdiag_qt import memory_diagnostics_from_args
from ui.quitguard import QuitGuard
from ui.replay import ReplayMenu

log = logging.getLogger("ui")

#: Qt messages that carry no information for us (the offscreen platform's excuses).
QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)
#: Qt message categories that are only detail: QtMultimedia's libraries it looked for and
#: did without (pipewire, VA-API), told at every start where they are not installed.
QUIET_QT_CATEGORIES = frozenset({"qt.multimedia.symbolsresolver"})
SCREENSHOT_SIZE = (1920, 1080)


def _qt_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    qt_log = logging.getLogger("qt")
    if getattr(context, "category", None) in QUIET_QT_CATEGORIES or any(
        message.startswith(q) for q in QUIET_QT_MESSAGES
    ):
        qt_log.debug("%s", message)
        return
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    qt_log.log(level, "%s", message)


def setup_application(language: str, platform: str | None = None) -> QApplication:
    """The QApplication with the dark theme, the fonts and the translations.

    ``platform`` is Qt's ``-platform`` option (``offscreen``...): Wine passes no
    ``QT_*`` variables to Windows programs, so the installer checks need it.
    """
    existing = QApplication.instance()
    qt_argv = [sys.argv[0], *(["-platform", platform] if platform else [])]
    app = existing if isinstance(existing, QApplication) else QApplication(qt_argv)
    app.setApplicationName("dispatcher-hmi")
    app.setOrganizationName("dispatcher-hmi")
    app.setQuitOnLastWindowClosed(False)
    app.setStyle("Fusion")

    fonts = resource_dir() / "fonts"
    if fonts.is_dir():
        for f in sorted(fonts.iterdir()):
            if f.suffix.lower() in (".ttf", ".otf", ".ttc") and (
                QFontDatabase.addApplicationFont(str(f)) < 0
            ):
                log.warning("could not load font %s", f)
    base = QFont()
    base.setFamilies(style.FONT_FAMILIES)
    base.setPointSizeF(10)
    app.setFont(base)

    pal = QPalette()
    window = QColor("#2f343a")
    pal.setColor(QPalette.ColorRole.Window, window)
    pal.setColor(QPalette.ColorRole.WindowText, style.TEXT_PRIMARY)
    pal.setColor(QPalette.ColorRole.Base, QColor("#22262b"))
    pal.setColor(QPalette.ColorRole.AlternateBase, window)
    pal.setColor(QPalette.ColorRole.Text, style.TEXT_PRIMARY)
    pal.setColor(QPalette.ColorRole.Button, QColor("#3a4047"))
    pal.setColor(QPalette.ColorRole.ButtonText, style.TEXT_PRIMARY)
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#111418"))
    pal.setColor(QPalette.ColorRole.ToolTipText, style.TEXT_PRIMARY)
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#4a6d8c"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.PlaceholderText, style.TEXT_MUTED)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, style.TEXT_MUTED)
    app.setPalette(pal)

    install_translators(app, language)
    return app


def run_gui(
    args: argparse.Namespace, ws: Workstation, line: Line, overrides: list[Endpoint]
) -> int:
    qInstallMessageHandler(_qt_message)
    language = startup_language(args.lang, str(ws.language))
    log.info("user interface language %s", language)
    app = setup_application(language, args.platform)
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            return runner.run(amain(app, args, ws, line, overrides))
    except KeyboardInterrupt:
        log.info("interrupted")
        return 130


async def amain(
    app: QApplication,
    args: argparse.Namespace,
    ws: Workstation,
    line: Line,
    overrides: list[Endpoint],
) -> int:
    stopping = asyncio.Event()

    def stop(name: str) -> None:
        log.info("%s: closing down", name)
        stopping.set()

    with stop_on_signals(stop):
        return await _amain(app, args, ws, line, overrides, stopping)


async def _amain(
    app: QApplication,
    args: argparse.Namespace,
    ws: Workstation,
    line: Line,
    overrides: list[Endpoint],
    stopping: asyncio.Event,
) -> int:
    if args.join_demo is not None:
        return await join_and_run(app, args, ws, line, stopping)
    if not args.demo:
        endpoints = overrides or configured_endpoints(ws)
        return await login_and_run(app, args, ws, line, endpoints, stopping=stopping)
    try:
        with demo_counterparts(ws, args.demo_time_scale) as demo:
            await provision_demo_users(demo, redis_options(demo.ws))
            return await login_and_run(
                app,
                args,
                demo.ws,
                line,
                demo.endpoints,
                demo.lock_nodes,
                demo.bootstrap,
                stopping=stopping,
                joined_by=demo.connection,
            )
    except SimulatorError as exc:
        log.error("demo simulator failed: %s", exc)
        return 1


async def join_and_run(
    app: QApplication,
    args: argparse.Namespace,
    ws: Workstation,
    line: Line,
    stopping: asyncio.Event,
) -> int:
    """``--join-demo``: a second desk on the demo another process runs here."""
    try:
        demo = join_demo(ws, Path(args.join_demo) if args.join_demo else None)
        desk = await next_desk_id(demo, redis_options(ws))
    except JoinError as exc:
        log.error("%s", exc)
        print(f"dispatcher-hmi: --join-demo: {exc}", file=sys.stderr)
        return 2
    log.info("joining the demo of %s as workstation %s", demo.connection, desk)
    return await login_and_run(
        app,
        args,
        dataclasses.replace(demo.ws, id=desk),
        line,
        demo.endpoints,
        demo.lock_nodes,
        demo.bootstrap,
        stopping=stopping,
    )


async def login_and_run(
    app: QApplication,
    args: argparse.Namespace,
    ws: Workstation,
    line: Line,
    endpoints: list[Endpoint],
    lock_nodes: list[str] | None = None,
    bootstrap: str | None = None,
    *,
    stopping: asyncio.Event,
    joined_by: Path | None = None,
) -> int:
    """The login against the directory (unless scripted), then the session's window.

    ``joined_by``: the demo's connection file, told in the window (a second desk joins
    with it)."""
    checker: PasswordCheck | None = None
    if wants_login(args):
        directory = directory_for(ws, lock_nodes, redis_options(ws))
        if directory is None and not args.demo:
            log.error(
                "no directory to check passwords: no Redis (redis.nodes and redis.sentinels "
                "are empty; a bench or a lone test desk: --no-login or --dispatcher ID)"
            )
            return 2
        if directory is None:
            log.warning("demo without Redis: no directory, %s at the desk", ws.dispatcher)
        else:
            checker = PasswordCheck(directory, LoginThrottle())
            chosen = await ask_identity(ws, checker, stopping=stopping)
            if chosen is None:
                log.info("login cancelled")
                return 0
            ws = chosen
        log.info("dispatcher %s at the desk as %s", ws.dispatcher, ws.role.value)
    return await run_session(
        app,
        args,
        ws,
        line,
        endpoints,
        lock_nodes,
        bootstrap,
        stopping=stopping,
        checker=checker,
        joined_by=joined_by,
    )


def wants_login(args: argparse.Namespace) -> bool:
    """The start dialog is for a person: not for scripted runs, nor with ``--dispatcher``."""
    scripted = args.screenshot or args.quit_after is not None
    return not (scripted or args.no_login or args.dispatcher is not None)


#: The signals that end the program as closing its window does (POSIX).
STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")


@contextlib.contextmanager
def stop_on_signals(on_signal: Callable[[str], None]) -> Iterator[None]:
    """While inside, SIGTERM, SIGINT and SIGHUP call ``on_signal(name)`` instead of
    killing the program, so that it shuts down in order: its links closed, the
    demo's simulator pair, redis-server and broker stopped, nothing left behind.

    Qt's loop sleeps in C, where a Python signal handler cannot run; the signal's
    byte on a wake-up socket (``signal.set_wakeup_fd``) wakes it, and the handler
    then runs. A no-op where the platform has no such signals.
    """
    wanted = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]
    if os.name != "posix" or not wanted:
        yield
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)

    def drain() -> None:
        with contextlib.suppress(OSError):
            while reader.recv(64):
                pass

    notifier.activated.connect(drain)
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    previous = {sig: signal.getsignal(sig) for sig in wanted}
    for sig in wanted:
        signal.signal(sig, lambda signum, _frame: on_signal(signal.Signals(signum).name))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        notifier.deleteLater()
        reader.close()
        writer.close()


async def run_session(
    app: QApplication,
    args: argparse.Namespace,
    ws: Workstation,
    line: Line,
    endpoints: list[Endpoint],
    redis_nodes: list[str] | None = None,
    bootstrap: str | None = None,
    stopping: asyncio.Event | None = None,
    checker: PasswordCheck | None = None,
    joined_by: Path | None = None,
) -> int:
    """Show the window for one session until it is closed, ``stopping`` is set (a
    stop signal), or ``--quit-after``. With ``checker`` (a dispatcher logged in),
    the desk locks when idle (:class:`ui.desklock.DeskLock`)."""
    session = build_session(ws, line, endpoints, archive_dir=actuals_dir())
    control = build_control(ws, session, redis_nodes=redis_nodes)
    demo = args.demo or args.join_demo is not None
    demo_without_broker = demo and bootstrap is None
    alarms = None if demo_without_broker else build_alarms(ws, session, bootstrap=bootstrap)
    iscs = build_iscs(ws, session.dispatcher)
    recorder = build_recorder(ws, session, alarms=alarms, control=control)
    # before the feed starts: librdkafka takes its statistics callback at creation
    kafka_stats = kafka_statistics_from_args(args, alarms)
    closed = stopping or asyncio.Event()
    status = 0
    # One owner: the parts start in order and close in reverse, each whatever the
    # others do; the window closes first (timers, commands in flight), then is freed.
    async with running(iscs, session, control, alarms, recorder) as stack:
        window = MainWindow(session, control, alarms, iscs=iscs)
        stack.callback(_dispose, window)
        stack.push_async_callback(window.aclose)
        replays = ReplayMenu(window, ws, line)  # File ▸ Replay… (docs/replay.md)
        stack.push_async_callback(replays.aclose)
        desk: DeskLock | None = None
        if checker is not None:
            desk = DeskLock(
                window,
                checker,
                dispatcher=ws.dispatcher,
                role=ws.role,
                idle_ms=ws.login.idle_lock_ms,
                log_event=window.log_event,
                menu=window.menu_bar.file_menu,
                before=window.menu_bar.quit_action,
            )
            stack.push_async_callback(desk.aclose)
        if not (args.screenshot or args.quit_after is not None):
            window.close_guard = QuitGuard(
                window,
                control.authority,
                window.zones.dock,
                desk,
                show_status=window.show_status,
                log_event=window.log_event,
            )
        window.closing.connect(closed.set)
        app.aboutToQuit.connect(closed.set)
        sampler = memory_diagnostics_from_args(args, window, kafka=kafka_stats)
        if sampler is not None:
            stack.callback(sampler.stop)
        if args.heap_upkeep_every > 0:
            upkeep = asyncio.get_running_loop().create_task(keep_trimmed(args.heap_upkeep_every))
            stack.push_async_callback(_cancelled, upkeep)
        if joined_by is not None:
            join = QCoreApplication.translate(
                "MainWindow",
                "Demo: a second desk joins with dispatcher-hmi --join-demo "
                "(connection file {0}; the link key file is beside it)",
            ).format(joined_by)
            window.log_event(join)
            window.menu_bar.about_extra = join
        if args.demo and control.authority is not None:
            task = asyncio.get_running_loop().create_task(
                take_free_zones(control.authority, window)
            )
            stack.push_async_callback(_cancelled, task)
        if args.screenshot:
            window.resize(*SCREENSHOT_SIZE)
            window.show()
        else:
            window.showMaximized()
        if args.quit_after is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), args.quit_after)
        else:
            await closed.wait()
        if args.screenshot:
            status = await save_screenshot(window, args.screenshot)
        if args.export_graph:
            status = export_graph(window, args.export_graph) or status
    return status


def _dispose(window: MainWindow) -> None:
    window.hide()
    window.deleteLater()


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def take_free_zones(store: ZoneAuthorityStore, window: MainWindow) -> None:
    """Demo only: the one demo dispatcher takes every free zone once Redis answers."""
    if not await store.wait_available(10):
        return
    for zone, state in sorted(store.snapshot().items()):
        if state.mode is ZoneMode.EXCLUSIVE and not state.holder:
            try:
                await store.take(zone)
            except AuthorityRefused as exc:
                log.info("demo: zone %s not taken: %s", zone, exc.reason)
                continue
            text = QCoreApplication.translate("MainWindow", "Demo: took control of zone {0}")
            window.log_event(text.format(zone))


def export_graph(window: MainWindow, path: str) -> int:
    """``--export-graph``: the day's train graph to ``path`` (PDF by its suffix, else PNG)."""
    desk = window.timetable_desk
    if desk is None:
        log.error("--export-graph: no timetable (workstation timetable.file)")
        return 1
    try:
        if path.lower().endswith(".pdf"):
            desk.graph.export_pdf(path)
        else:
            desk.graph.export_png(path)
    except (OSError, ValueError) as exc:
        log.error("--export-graph: %s", exc)
        return 1
    log.info("train graph exported to %s", path)
    return 0


async def save_screenshot(window: MainWindow, path: str) -> int:
    window.view.zoom_to_fit()
    # Let the loop (Qt's, under qasync) lay out and paint. Never processEvents()
    # inside a coroutine: it would run other tasks' wake-ups re-entrantly.
    await asyncio.sleep(0.1)
    pixmap = window.grab()
    if not pixmap.save(path, "PNG"):
        log.error("could not write the screenshot to %s", path)
        return 1
    log.info("screenshot saved to %s (%dx%d)", path, pixmap.width(), pixmap.height())
    return 0
