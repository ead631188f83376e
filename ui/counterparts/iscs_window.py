"""The reference ISCS program with a window: ``python -m ui.counterparts.iscs_window --port P``.

The same program as :mod:`app.counterparts.iscs_program` (same channel, journal and test
switches), but each hand-off it handles is shown: the context it was asked
for in large type at the top (what, station, device, alarm, by whom, when),
and every hand-off received below, newest first (the last
:data:`HISTORY` kept). The demo's workstation launches this one; the tests
and the benchmark use the console program.

A real ISCS would open its station or device view here; this one only shows
what it received, which is what a dispatcher checks the hand-off by: in the
language the workstation passes it (``--lang``, ``DISPATCHER_LANGUAGE``), with the
line's station names in that language and the line's clock (``--line``,
``DISPATCHER_LINE_FILE``; the demo line by default).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import sys
from collections.abc import Sequence

import qasync
from PySide6.QtCore import QT_TR_NOOP, Qt
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from app.clock import wall_ms
from app.config.errors import ConfigError
from app.config.line import load_line
from app.counterparts.iscs_program import build_parser, run
from app.iscs.messages import Handoff, HandoffKind
from app.model.topology import Line
from app.paths import default_line_file
from ui import style
from ui.clock import clock_text, line_zone, set_line_zone, time_text
from ui.i18n import DEFAULT_LANGUAGE, active_language, install_translators, startup_language

log = logging.getLogger(__name__)

HISTORY = 200

KIND_TEXT = {
    HandoffKind.SHOW_STATION: QT_TR_NOOP("show station"),
    HandoffKind.SHOW_DEVICE: QT_TR_NOOP("show device"),
    HandoffKind.SHOW_ALARM: QT_TR_NOOP("show alarm"),
}


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QApplication.translate("", text)


class IscsWindow(QMainWindow):
    """What the reference ISCS program shows: the current context and the history.

    ``line``: the stations are named as it names them, in the window's language; times
    are in ``tz`` (the line's zone; None: the machine's).
    """

    def __init__(self, line: Line | None = None, tz: dt.tzinfo | None = None) -> None:
        super().__init__()
        self.line = line
        self.tz = tz
        self.setObjectName("iscsWindow")
        self.setWindowTitle(tr("ISCS (reference program)"))
        body = QWidget()
        column = QVBoxLayout(body)
        self.current = QLabel(tr("waiting for a hand-off from the dispatcher workstation…"))
        self.current.setObjectName("iscsCurrent")
        self.current.setTextFormat(Qt.TextFormat.RichText)
        self.current.setWordWrap(True)
        self.current.setStyleSheet(
            f"background: {style.BACKGROUND.name()}; color: {style.TEXT_PRIMARY.name()};"
            " padding: 10px; font-size: 15pt;"
        )
        column.addWidget(self.current)
        column.addWidget(QLabel(tr("Received (newest first):")))
        self.history = QListWidget()
        self.history.setObjectName("iscsHistory")
        column.addWidget(self.history, 1)
        self.setCentralWidget(body)
        self.resize(520, 360)
        self.handled = 0

    def show_handoff(self, msg: Handoff) -> None:
        """Handle one hand-off: show it. The window owns ``msg`` (a decoded value)."""
        self.handled += 1
        what = tr(str(KIND_TEXT.get(msg.kind, msg.kind)))
        parts = [f"<b>{what}</b>"]
        station = self.station_name(msg.station)
        for label, value in (
            (tr("station"), station),
            (tr("device"), msg.device),
            (tr("alarm"), msg.alarm_id),
        ):
            if value:
                parts.append(f"{label}: <b>{value}</b>")
        # when the dispatcher handed it off, on the line's clock (else when it came)
        stamp = clock_text(msg.created_ms, self.tz) or time_text(wall_ms(), self.tz)
        parts.append(tr("from {0} at {1}").format(msg.dispatcher, stamp))
        self.current.setText("<br>".join(parts))
        line = f"{stamp}  {what}  {station} {msg.device} {msg.alarm_id}  ({msg.dispatcher})"
        self.history.insertItem(0, " ".join(line.split()))
        while self.history.count() > HISTORY:
            self.history.takeItem(self.history.count() - 1)
        self.raise_()

    def station_name(self, station_id: str) -> str:
        """The station's name in the window's language, with its id; the id alone when the
        line does not know it."""
        station = self.line.station_by_id.get(station_id) if self.line is not None else None
        if station is None:
            return station_id
        name = station.name_en if active_language() == "en" else station.name_zh
        return f"{name} ({station_id})"


def _line(path: str | None) -> Line | None:
    """The line named (or the demo line); None, with a warning, if it cannot be read."""
    try:
        return load_line(path or default_line_file())
    except (OSError, ValueError, ConfigError) as exc:
        log.warning("iscs-window: no line file (%s): stations shown by id", exc)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser("iscs-window").parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    # the workstation's language (--lang, as the HMI passes it), else the user's, else Chinese
    install_translators(app, startup_language(args.lang, DEFAULT_LANGUAGE))
    line = _line(args.line)
    tz = line_zone(line.timezone) if line is not None else None
    set_line_zone(tz)
    window = IscsWindow(line, tz)
    window.show()

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")  # station names: the HMI reads UTF-8

    def handle(msg: Handoff) -> None:
        window.show_handoff(msg)
        if not args.quiet:  # what the window shows, one line (the HMI logs it)
            print(f"iscs-window: {window.history.item(0).text()}", flush=True)

    async def serve() -> int:
        try:
            return await run(args, handle)
        except (ConnectionError, OSError) as exc:
            print(f"iscs-window: {exc}", file=sys.stderr)
            return 1

    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        task = runner.get_loop().create_task(serve())
        # Closing the window ends the program; the HMI launches it again when needed.
        app.lastWindowClosed.connect(task.cancel)
        try:
            return runner.run(_wait(task))
        except asyncio.CancelledError:
            return 0


async def _wait(task: asyncio.Task[int]) -> int:
    return await task


if __name__ == "__main__":
    sys.exit(main())
