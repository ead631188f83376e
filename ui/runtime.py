"""The Qt side of ``dispatcher-hmi``: the application, the asyncio loop on Qt, the session.

Imported by :mod:`ui.main` only when a window is wanted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator

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
from app.model.topology import Line
from app.paths import resource_dir
from app.services import (
    RedisProcess,
    ServiceError,
    TansuProcess,
    ping,
    port_open,
    redis_available,
)
from app.session import Endpoint
from app.sim.launcher import (
    SimulatorError,
    SimulatorPair,
    command_safety_args,
    demo_link_keys,
    with_link_key_env,
)
from app.wiring import (
    build_alarms,
    build_control,
    build_iscs,
    build_session,
    configured_endpoints,
)
from ui import style
from ui.i18n import install_translators, startup_language
from ui.login import ask_identity
from ui.mainwindow import MainWindow

log = logging.getLogger("ui")

#: Qt messages that carry no information for us (the offscreen platform's excuses).
QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)
SCREENSHOT_SIZE = (1920, 1080)


def _qt_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    qt_log = logging.getLogger("qt")
    if any(message.startswith(q) for q in QUIET_QT_MESSAGES):
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
    sim: SimulatorPair | None = None
    redis: RedisProcess | None = None
    redis_nodes: list[str] | None = None  # None: as configured
    broker: TansuProcess | None = None
    bootstrap: str | None = None  # None: as configured
    if wants_login(args):
        chosen = await ask_identity(ws)
        if chosen is None:
            log.info("start dialog cancelled")
            return 0
        ws = chosen
        log.info("dispatcher %s at the desk as %s", ws.dispatcher, ws.role.value)
    try:
        if args.demo:
            redis, redis_nodes = start_demo_redis(ws)
            broker, bootstrap = start_demo_broker(ws)
            # The demo runs the redundant pair: servers A and B, each on two networks.
            # and two spare units standing end to end with a train, ready to couple (联挂)
            sim_args = ["--time-scale", f"{args.demo_time_scale:g}", "--pairs", "2"]
            sim_args += command_safety_args(ws, redis_nodes)
            if bootstrap:
                sim_args += ["--kafka", bootstrap, "--alarm-flood", "12"]
            # The pair and this session share a key made for this run (docs/security.md).
            demo_keys = demo_link_keys()
            ws = with_link_key_env(ws, demo_keys)
            sim = SimulatorPair(ws.line, args=sim_args, link_keys=demo_keys)
            log.info("starting the simulator pair on %s", ", ".join(sim.addresses("A")))
            try:
                endpoints = sim.start()
            except SimulatorError as exc:
                log.error("demo simulator failed: %s", exc)
                return 1
            log.info("simulator ready on %s", ", ".join(f"{e.host}:{e.port}" for e in endpoints))
        else:
            endpoints = overrides or configured_endpoints(ws)
        return await run_session(
            app, args, ws, line, endpoints, redis_nodes, bootstrap, stopping=stopping
        )
    finally:
        if sim is not None:
            sim.stop()
            log.info("simulator pair stopped")
        if redis is not None:
            redis.stop()
            shutil.rmtree(redis.workdir, ignore_errors=True)
            log.info("demo redis-server stopped")
        if broker is not None:
            broker.stop()
            log.info("demo Kafka broker stopped")


def wants_login(args: argparse.Namespace) -> bool:
    """The start dialog is for a person: not for scripted runs, nor with ``--dispatcher``."""
    scripted = args.screenshot or args.quit_after is not None
    return not (scripted or args.no_login or args.dispatcher is not None)


def start_demo_broker(ws: Workstation) -> tuple[TansuProcess | None, str | None]:
    """The demo's Kafka: the configured one if it answers, else a child tansu broker.

    Returns the child (to stop at the end) and the bootstrap address (None: no
    broker at all, and no alarms in this demo).
    """
    first = ws.kafka.bootstrap_servers.split(",")[0]
    host, _, port = first.rpartition(":")
    if port.isdigit() and port_open(host.strip("[]"), int(port)):
        log.info("demo: using the configured Kafka %s", ws.kafka.bootstrap_servers)
        return None, ws.kafka.bootstrap_servers
    try:
        broker = TansuProcess().start()
    except ServiceError as exc:
        log.warning("demo: no Kafka broker (%s): no alarms in this demo", exc)
        return None, None
    log.info("demo: started a tansu broker on %s", broker.bootstrap)
    return broker, broker.bootstrap


def start_demo_redis(ws: Workstation) -> tuple[RedisProcess | None, list[str] | None]:
    """The demo's Redis: the configured one if it answers, else a child redis-server.

    Returns the child (to stop at the end) and the node list to use (None: as
    configured). With no redis-server on this machine: no Redis at all, the
    single-workstation lock, and the status bar says so.
    """
    nodes = ws.redis.nodes
    if nodes and all(ping(a.host, a.port) for a in nodes):
        log.info("demo: using the configured Redis %s", ", ".join(map(str, nodes)))
        return None, None
    if not redis_available():
        log.warning("demo: no redis-server on this machine: single-workstation lock")
        return None, []
    try:
        proc = RedisProcess(tempfile.mkdtemp(prefix="dispatcher-demo-redis-")).start()
    except ServiceError as exc:
        log.warning("demo: could not start redis-server (%s): single-workstation lock", exc)
        return None, []
    log.info("demo: started redis-server on %s", proc.address)
    return proc, [proc.address]


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
) -> int:
    """Show the window for one session until it is closed, ``stopping`` is set (a
    stop signal), or ``--quit-after``."""
    session = build_session(ws, line, endpoints)
    control = build_control(ws, session, redis_nodes=redis_nodes)
    demo_without_broker = args.demo and bootstrap is None
    alarms = None if demo_without_broker else build_alarms(ws, session, bootstrap=bootstrap)
    iscs = build_iscs(ws, session.dispatcher)
    await iscs.start()
    window = MainWindow(session, control, alarms, iscs=iscs)
    closed = stopping or asyncio.Event()
    window.closing.connect(closed.set)
    app.aboutToQuit.connect(closed.set)
    status = 0
    demo_task: asyncio.Task[None] | None = None
    try:
        session.start()
        control.start()
        if alarms is not None:
            alarms.start()
        if args.demo and control.authority is not None:
            demo_task = asyncio.get_running_loop().create_task(
                take_free_zones(control.authority, window)
            )
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
    finally:
        if demo_task is not None:
            demo_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await demo_task
        await window.shutdown()
        await iscs.close()
        if alarms is not None:
            await alarms.close()
        await control.close()
        await session.close()
        window.hide()
        window.deleteLater()
    return status


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
