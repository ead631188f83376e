"""``dispatcher-hmi --smoke-test``: does this installation work at all?

Loads Qt (the platform plugin, the fonts, the translations) like the window
does, connects to the configured servers (or ``--server``), waits for the first
state snapshot, paints the main window with it offscreen, and exits 0 with one line saying
what it saw, or non-zero with a line saying what failed. The installer checks
(``installer/verify``) run it on an installed copy.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import qasync
from PySide6 import __version__ as pyside_version
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication

from app import __version__
from app.config import Workstation
from app.control.service import ControlService
from app.lifetime import running
from app.model.topology import Line
from app.session import DispatcherSession, Endpoint
from app.wiring import build_control, build_session
from ui.mainwindow import MainWindow

#: Exit status when no snapshot arrived in time.
NO_SNAPSHOT = 3


def run_smoke_test(
    app: QApplication,
    config: Path,
    ws: Workstation,
    line: Line,
    endpoints: list[Endpoint],
    wait_s: float,
) -> int:
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        return runner.run(smoke_test(app, config, ws, line, endpoints, wait_s))


async def smoke_test(
    app: QApplication,
    config: Path,
    ws: Workstation,
    line: Line,
    endpoints: list[Endpoint],
    wait_s: float,
) -> int:
    where = ", ".join(f"{e.host}:{e.port}" for e in endpoints) or "no server configured"
    started = time.monotonic()
    session = build_session(ws, line, endpoints)
    # the window's command pipeline as with no Redis: nothing is commanded here
    control = build_control(ws, session, redis_nodes=[])
    async with running(session, control):
        try:
            await asyncio.wait_for(session.wait_synchronised(), wait_s)
        except TimeoutError:
            print(
                f"dispatcher-hmi: smoke test FAILED: no state snapshot from {where} "
                f"within {wait_s:g} s",
                file=sys.stderr,
                flush=True,
            )
            return NO_SNAPSHOT
        painted = await paint_window(session, control)
    if painted.isNull():
        print("dispatcher-hmi: smoke test FAILED: Qt painted nothing", file=sys.stderr, flush=True)
        return 1
    state = session.state
    print(
        f"dispatcher-hmi {__version__}: smoke test ok: line {line.id} from {session.master.server} "
        f"({where}), {len(state.trains)} trains, snapshot after "
        f"{time.monotonic() - started:.1f} s; PySide6 {pyside_version}, "
        f"platform {app.platformName()}, config {config}",
        flush=True,
    )
    return 0


async def paint_window(session: DispatcherSession, control: ControlService) -> QPixmap:
    """The main window (no Redis, no Kafka) with the live line, painted offscreen once."""
    window = MainWindow(session, control)
    window.resize(1280, 800)
    window.show()
    await asyncio.sleep(0.2)  # the bridge flushes the snapshot on the next frame
    window.view.zoom_to_fit()
    pixmap = window.grab()
    await window.aclose()
    window.hide()
    window.deleteLater()
    return pixmap
