"""``dispatcher-hmi --replay SOURCE [--at TIME]``: the application, its loop, and the
replay window (:mod:`ui.replay`) until it is closed; no link, no Redis, no Kafka."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

import qasync
from PySide6.QtWidgets import QApplication

from app.config import Workstation
from app.model.topology import Line
from ui.i18n import startup_language
from ui.replay import open_from_args, open_replay
from ui.runtime import save_screenshot, setup_application

log = logging.getLogger("ui.replay")


async def run_replay(
    app: QApplication, args: argparse.Namespace, ws: Workstation, line: Line
) -> int:
    """The replay window of ``args.replay`` at ``args.at`` until it is closed."""
    try:
        recording, moment = open_from_args(ws, line, args.replay, args.at)
    except (ValueError, OSError) as exc:
        log.error("--replay: %s", exc)
        print(f"dispatcher-hmi: --replay: {exc}", file=sys.stderr)
        return 2
    replay = open_replay(ws, line, recording, at_ms=moment)
    closed = asyncio.Event()
    replay.window.closing.connect(closed.set)
    app.aboutToQuit.connect(closed.set)
    status = 0
    try:
        if args.screenshot:
            replay.window.resize(1920, 1080)
            replay.window.show()
        else:
            replay.window.showMaximized()
        if args.quit_after is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), args.quit_after)
        else:
            await closed.wait()
        if args.screenshot:
            status = await save_screenshot(replay.window, args.screenshot)
    finally:
        await replay.aclose()
        replay.window.hide()
        replay.window.deleteLater()
    return status


def run_replay_gui(args: argparse.Namespace, ws: Workstation, line: Line) -> int:
    """The application and its loop (as ``ui.runtime.run_gui``), the replay in it."""
    app = setup_application(startup_language(args.lang, str(ws.language)), args.platform)
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            return runner.run(run_replay(app, args, ws, line))
    except KeyboardInterrupt:
        return 130
