"""The Qt side of ``dispatcher-hmi``: the application, the asyncio loop on Qt, the session.

Imported by :mod:`ui.main` only when a window is wanted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QMessageLogContext,
    QtMsgType,
    QTranslator,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from app.config import Workstation
from app.model.topology import Line
from app.paths import resource_dir
from app.session import Endpoint
from app.sim.launcher import SimulatorError, SimulatorPair
from app.wiring import build_session, configured_endpoints
from ui import style
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


def setup_application(language: str) -> QApplication:
    """The QApplication with the dark theme, the fonts and the translations."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
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

    if language != "en":
        locale = QLocale(language)
        QLocale.setDefault(locale)
        translators: list[QTranslator] = []
        qt_tr = QTranslator(app)
        if qt_tr.load(
            locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        ):
            translators.append(qt_tr)
        own = QTranslator(app)
        for folder in (Path(__file__).resolve().parent / "i18n", resource_dir() / "i18n"):
            if own.load(locale, "dispatcher_hmi", "_", str(folder)):
                translators.append(own)
                break
        else:
            log.info("no translation for %s yet; showing English", language)
        for t in translators:
            QCoreApplication.installTranslator(t)
    return app


def run_gui(
    args: argparse.Namespace, ws: Workstation, line: Line, overrides: list[Endpoint]
) -> int:
    qInstallMessageHandler(_qt_message)
    app = setup_application(args.lang or str(ws.language))
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
    sim: SimulatorPair | None = None
    try:
        if args.demo:
            # The demo runs the redundant pair: servers A and B, each on two networks.
            sim = SimulatorPair(ws.line, args=["--time-scale", f"{args.demo_time_scale:g}"])
            log.info("starting the simulator pair on %s", ", ".join(sim.addresses("A")))
            try:
                endpoints = sim.start()
            except SimulatorError as exc:
                log.error("demo simulator failed: %s", exc)
                return 1
            log.info("simulator ready on %s", ", ".join(f"{e.host}:{e.port}" for e in endpoints))
        else:
            endpoints = overrides or configured_endpoints(ws)
        return await run_session(app, args, ws, line, endpoints)
    finally:
        if sim is not None:
            sim.stop()
            log.info("simulator pair stopped")


async def run_session(
    app: QApplication,
    args: argparse.Namespace,
    ws: Workstation,
    line: Line,
    endpoints: list[Endpoint],
) -> int:
    """Show the window for one session until it is closed (or ``--quit-after``)."""
    session = build_session(ws, line, endpoints)
    window = MainWindow(session)
    closed = asyncio.Event()
    window.closing.connect(closed.set)
    app.aboutToQuit.connect(closed.set)
    status = 0
    try:
        session.start()
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
            status = save_screenshot(window, args.screenshot)
    finally:
        await window.shutdown()
        await session.close()
        window.hide()
        window.deleteLater()
    return status


def save_screenshot(window: MainWindow, path: str) -> int:
    window.view.zoom_to_fit()
    QApplication.processEvents()
    pixmap = window.grab()
    if not pixmap.save(path, "PNG"):
        log.error("could not write the screenshot to %s", path)
        return 1
    log.info("screenshot saved to %s (%dx%d)", path, pixmap.width(), pixmap.height())
    return 0
