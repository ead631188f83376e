"""Who is at the desk: a password checked against a real directory (redis-server with an
ACL user per dispatcher), the role from the directory, wrong passwords rate-limited
with a countdown, and the idle lock (docs/security.md)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QPushButton
from pytestqt.qtbot import QtBot

from app.config import load_workstation
from app.config.workstation import Workstation, dispatcher_id_problem
from app.control.clients import redis_client
from app.counterparts.services import RedisProcess
from app.identity import LoginThrottle, RedisDirectory
from app.identity.admin import DirectoryAdmin
from app.model.roles import Role
from app.paths import resource_dir
from ui.desklock import DeskLock
from ui.login import LoginDialog, PasswordCheck, ask_identity
from ui.main import build_parser, main
from ui.runtime import wants_login

pytestmark = pytest.mark.ui

ADMIN_PW = "admin-secret-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ws() -> Workstation:
    return load_workstation(resource_dir() / "config" / "workstation.yaml")


@pytest.fixture
def directory(redis_factory: Callable[..., RedisProcess]) -> RedisDirectory:
    """A real redis-server with two dispatchers provisioned as an administrator would."""
    server = redis_factory("--requirepass", ADMIN_PW)

    async def provision() -> None:
        admin = DirectoryAdmin(redis_client(server.address, options={"password": ADMIN_PW}))
        await admin.add("zhang3", Role.SUPERVISOR, "zhang3 password")
        await admin.add("li.wei-02", Role.OBSERVER, "li.wei password")
        await admin.aclose()

    asyncio.run(provision())
    return RedisDirectory(server.address, prefix="dhmi")


def settings_in(folder: Path) -> QSettings:
    return QSettings(str(folder / "hmi.ini"), QSettings.Format.IniFormat)


def login_dialog() -> LoginDialog | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, LoginDialog) and widget.isVisible():
            return widget
    return None


def test_the_role_comes_from_the_directory_and_the_id_is_remembered(
    qtbot: QtBot, ws: Workstation, directory: RedisDirectory, run_async: Any, tmp_path: Path
) -> None:
    checker = PasswordCheck(directory, LoginThrottle())
    dialog = LoginDialog(ws, settings_in(tmp_path), checker)
    qtbot.addWidget(dialog)
    assert not hasattr(dialog, "role")  # nothing to pick: the directory says
    assert dialog.dispatcher.text() == ws.dispatcher
    for bad in ("", "ann@WS-02", "a b", "-lead", "名字"):
        dialog.dispatcher.setText(bad)
        dialog.start_button.click()
        assert dialog.result() == 0 and dialog.error.text(), bad
    dialog.dispatcher.setText("zhang3")
    dialog.password.setText("zhang3 password")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=5000)
    assert dialog.identity is not None and dialog.identity.role is Role.SUPERVISOR
    again = LoginDialog(ws, settings_in(tmp_path), checker)
    qtbot.addWidget(again)
    assert again.dispatcher.text() == "zhang3"
    assert again.password.text() == ""  # a password is never remembered


def test_wrong_passwords_are_refused_and_rate_limited_with_a_countdown(
    qtbot: QtBot, ws: Workstation, directory: RedisDirectory, qloop: Any, tmp_path: Path
) -> None:
    clock = Clock()
    checker = PasswordCheck(directory, LoginThrottle(clock=clock))
    dialog = LoginDialog(ws, settings_in(tmp_path), checker)
    qtbot.addWidget(dialog)
    dialog.dispatcher.setText("zhang3")
    for attempt in range(3):
        dialog.password.setText(f"guess {attempt}")
        dialog.start_button.click()
        qtbot.waitUntil(lambda: not checker.busy, timeout=5000)
        assert dialog.result() == 0
        assert dialog.password.text() == ""
        if attempt < 2:
            assert dialog.error.text() == "wrong dispatcher id or password"
            assert dialog.start_button.isEnabled()
    assert "try again in 15 s" in dialog.error.text()
    assert not dialog.start_button.isEnabled()
    clock.now += 6
    qtbot.waitUntil(lambda: "try again in 9 s" in dialog.error.text(), timeout=2000)
    # even the right password waits: the limit is before the directory
    clock.now += 9
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=2000)
    dialog.password.setText("zhang3 password")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=5000)


def test_ask_identity_gives_the_workstation_with_the_directorys_identity(
    qtbot: QtBot, ws: Workstation, directory: RedisDirectory, run_async: Any, tmp_path: Path
) -> None:
    def answer(accept: bool) -> None:
        dialog = login_dialog()
        assert dialog is not None
        dialog.dispatcher.setText("li.wei-02")
        dialog.password.setText("li.wei password")
        dialog.accept() if accept else dialog.reject()

    checker = PasswordCheck(directory, LoginThrottle())
    QTimer.singleShot(50, lambda: answer(True))
    chosen = run_async(ask_identity(ws, checker, settings_in(tmp_path)))
    assert chosen is not None
    assert (chosen.dispatcher, chosen.role, chosen.id) == ("li.wei-02", Role.OBSERVER, ws.id)
    QTimer.singleShot(50, lambda: answer(False))
    assert run_async(ask_identity(ws, checker, settings_in(tmp_path))) is None


def test_a_stop_signal_during_the_login_closes_it(
    qtbot: QtBot, ws: Workstation, directory: RedisDirectory, run_async: Any, tmp_path: Path
) -> None:
    """SIGTERM while the dialog waits (the demo's children already running): the program
    must not hang on the dialog."""
    stopping = asyncio.Event()
    QTimer.singleShot(100, stopping.set)
    checker = PasswordCheck(directory, LoginThrottle())
    assert run_async(ask_identity(ws, checker, settings_in(tmp_path), stopping)) is None
    assert login_dialog() is None


def test_the_directory_down_is_said_in_words(
    qtbot: QtBot, ws: Workstation, qloop: Any, tmp_path: Path
) -> None:
    checker = PasswordCheck(RedisDirectory("127.0.0.1:1", timeout_s=0.5), LoginThrottle())
    dialog = LoginDialog(ws, settings_in(tmp_path), checker)
    qtbot.addWidget(dialog)
    dialog.password.setText("anything at all")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "does not answer" in dialog.error.text(), timeout=5000)
    assert "127.0.0.1:1" in dialog.error.text()
    assert dialog.start_button.isEnabled()  # not the dispatcher's fault: no wait


def test_the_desk_locks_when_idle_and_refuses_input_until_the_password(
    qtbot: QtBot, directory: RedisDirectory, qloop: Any
) -> None:
    clock = Clock()
    window = QMainWindow()
    pressed: list[int] = []
    button = QPushButton("a command")
    button.clicked.connect(lambda: pressed.append(1))
    window.setCentralWidget(button)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    events: list[str] = []
    checker = PasswordCheck(directory, LoginThrottle(clock=clock))
    desk = DeskLock(
        window,
        checker,
        dispatcher="zhang3",
        role=Role.SUPERVISOR,
        idle_ms=60_000,
        log_event=events.append,
        clock=clock,
    )
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert pressed == [1] and not desk.locked
    confirm = QDialog(window)
    confirm.open()  # a command half confirmed when the desk locks
    clock.now += 61
    qtbot.waitUntil(lambda: desk.locked, timeout=3000)
    assert desk.panel.isVisible() and not confirm.isVisible()
    assert events == ["Desk locked after 1 min without input"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert pressed == [1]  # refused while locked
    assert desk.locked
    qtbot.keyClicks(desk.panel.password, "not it at all")
    desk.panel.unlock_button.click()
    qtbot.waitUntil(lambda: "wrong" in desk.panel.error.text(), timeout=5000)
    assert desk.locked
    qtbot.keyClicks(desk.panel.password, "zhang3 password")
    qtbot.keyClick(desk.panel.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not desk.locked, timeout=5000)
    assert not desk.panel.isVisible()
    assert events[-1] == "Desk unlocked by zhang3"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert pressed == [1, 1]
    desk.action.trigger()  # File ▸ Lock the desk
    assert desk.locked
    asyncio.get_event_loop()  # the loop stays for the fixture's teardown


def test_who_is_asked() -> None:
    def args(*argv: str) -> argparse.Namespace:
        return build_parser().parse_args(list(argv))

    assert wants_login(args())
    assert wants_login(args("--demo"))
    assert not wants_login(args("--screenshot", "x.png"))
    assert not wants_login(args("--quit-after", "3"))
    assert not wants_login(args("--no-login"))
    assert not wants_login(args("--dispatcher", "d1", "--role", "observer"))


def test_command_line_identity_is_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ws: Workstation
) -> None:
    assert main(["--role", "observer", "--quit-after", "0"]) == 2
    assert "--role needs --dispatcher" in capsys.readouterr().err
    assert main(["--dispatcher", "a@b", "--quit-after", "0"]) == 2
    assert "not a dispatcher id" in capsys.readouterr().err
    assert dispatcher_id_problem("d-01") is None
    # production mode: nobody at the desk without a password
    prod = tmp_path / "prod.yaml"
    prod.write_text(
        "workstation:\n  id: WS-P\n"
        f"  line: {ws.line}\n"
        "  servers: [{id: A, addresses: ['127.0.0.1:7101']}]\n"
        "  security: {production: true}\n",
        encoding="utf-8",
    )
    assert main(["--config", str(prod), "--no-login", "--quit-after", "0"]) == 2
    assert "no --no-login, no --dispatcher" in capsys.readouterr().err
