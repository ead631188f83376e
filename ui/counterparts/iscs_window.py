"""The reference ISCS program with a window: ``python -m ui.counterparts.iscs_window --port P``.

The same program as :mod:`app.counterparts.iscs_program` (same channel, journal and test
switches), but each hand-off it handles is shown: the context it was asked
for in large type at the top (what, station, device, alarm, by whom, when),
and every hand-off received below, newest first (the last
:data:`HISTORY` kept). The demo's workstation launches this one; the tests
and the benchmark use the console program.

A real ISCS would open its station or device view here; this one only shows
what it received, which is what a dispatcher checks the hand-off by.
"""

from __future__ import annotations

import asyncio
import sys
import time
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

from app.counterparts.iscs_program import build_parser, print_handoff, run
from app.iscs.messages import Handoff, HandoffKind
from ui import style
from ui.i18n import DEFAULT_LANGUAGE, install_translators, startup_language

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
    """What the reference ISCS program shows: the current context and the history."""

    def __init__(self) -> None:
        super().__init__()
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
        for label, value in (
            (tr("station"), msg.station),
            (tr("device"), msg.device),
            (tr("alarm"), msg.alarm_id),
        ):
            if value:
                parts.append(f"{label}: <b>{value}</b>")
        stamp = time.strftime("%H:%M:%S")
        parts.append(tr("from {0} at {1}").format(msg.dispatcher, stamp))
        self.current.setText("<br>".join(parts))
        line = f"{stamp}  {what}  {msg.station} {msg.device} {msg.alarm_id}  ({msg.dispatcher})"
        self.history.insertItem(0, " ".join(line.split()))
        while self.history.count() > HISTORY:
            self.history.takeItem(self.history.count() - 1)
        self.raise_()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser("iscs-window").parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    # the user's language (View > Language in the HMI), else Chinese
    install_translators(app, startup_language(None, DEFAULT_LANGUAGE))
    window = IscsWindow()
    window.show()

    def handle(msg: Handoff) -> None:
        window.show_handoff(msg)
        if not args.quiet:
            print_handoff(msg)

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
