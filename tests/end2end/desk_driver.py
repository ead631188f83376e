"""Drives the real ``dispatcher-hmi --demo`` as a dispatcher would, with Qt's key and mouse
events on real windows (run by tests/end2end/test_desk_under_xvfb.py under Xvfb): a wrong
password, the right one, Ctrl+L, the lock refusing a key, the password, Ctrl+Q with the
demo's zones held, "Release and quit". Prints one ``STEP`` line per thing seen."""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

import ui.main
from ui.login import LoginDialog
from ui.mainwindow import MainWindow


def visible(kind: type) -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


def step(text: str) -> None:
    print("STEP", text, flush=True)


class Driver:
    def __init__(self, shot: str) -> None:
        self.shot = shot
        self.phase = "login"
        self.ticks = 0
        self.steps: dict[str, Callable[[], None]] = {
            "login": self.login,
            "wrong": self.wrong,
            "window": self.window,
            "locked": self.locked,
            "unlocking": self.unlocking,
            "quit": self.quit,
        }

    def tick(self) -> None:
        self.ticks += 1
        self.steps.get(self.phase, lambda: None)()

    def login(self) -> None:
        dialog = visible(LoginDialog)
        if isinstance(dialog, LoginDialog):
            dialog.dispatcher.clear()
            QTest.keyClicks(dialog.dispatcher, "dispatcher-02")
            QTest.keyClicks(dialog.password, "not-my-password")
            QTest.keyClick(dialog.password, Qt.Key.Key_Return)
            self.phase = "wrong"

    def wrong(self) -> None:
        dialog = visible(LoginDialog)
        if isinstance(dialog, LoginDialog) and dialog.error.text():
            step(f"login refused: {dialog.error.text()}")
            QTest.keyClicks(dialog.password, "demo-dispatcher-02")
            QTest.keyClick(dialog.password, Qt.Key.Key_Return)
            self.phase, self.ticks = "window", 0

    def window(self) -> None:
        win = visible(MainWindow)
        if isinstance(win, MainWindow) and self.ticks == 8:
            win.activateWindow()  # no window manager under Xvfb: give it the keyboard
        if isinstance(win, MainWindow) and self.ticks > 12:  # the demo took its zones
            step(f"window: {win.windowTitle()}")
            QTest.keyClick(win.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
            self.phase, self.ticks = "locked", 0

    def locked(self) -> None:
        win = visible(MainWindow)
        assert isinstance(win, MainWindow)
        panel = win.findChild(QWidget, "deskLockPanel")
        if self.ticks == 20:
            step(f"not locked by Ctrl+L; active window: {QApplication.activeWindow()}")
            QApplication.instance().quit()  # type: ignore[union-attr]
        if panel is None or not panel.isVisible() or self.ticks < 2:
            return
        step("desk locked")
        win.grab().save(self.shot)
        QTest.keyClick(win.view, Qt.Key.Key_F)  # zoom to fit: refused while locked
        QTest.keyClick(win.view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        step(f"ctrl+q while locked: still open {win.isVisible()}, panel {panel.isVisible()}")
        password = panel.findChild(QWidget, "deskLockPassword")
        QTest.keyClicks(password, "demo-dispatcher-02")
        QTest.keyClick(password, Qt.Key.Key_Return)
        self.phase = "unlocking"

    def unlocking(self) -> None:
        win = visible(MainWindow)
        assert isinstance(win, MainWindow)
        panel = win.findChild(QWidget, "deskLockPanel")
        if panel is not None and not panel.isVisible():
            step("desk unlocked")
            self.phase = "quit"
            QTimer.singleShot(800, self.answer)
            QTest.keyClick(win.view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    def answer(self) -> None:
        box = visible(QMessageBox)
        if not isinstance(box, QMessageBox):
            step("no quit question")
            QApplication.instance().quit()  # type: ignore[union-attr]
            return
        step(f"quit asked: {box.text()}")
        for button in box.findChildren(QPushButton):
            if button.text() == "Release and quit":
                QTest.mouseClick(button, Qt.MouseButton.LeftButton)
                return

    def quit(self) -> None:
        pass


def main() -> int:
    shot = sys.argv[1]
    app = QApplication([sys.argv[0]])
    driver = Driver(shot)
    timer = QTimer()
    timer.timeout.connect(driver.tick)
    timer.start(300)
    status = ui.main.main(["--demo", "--lang", "en", "--log-file", sys.argv[2]])
    del app
    return status


if __name__ == "__main__":
    sys.exit(main())
