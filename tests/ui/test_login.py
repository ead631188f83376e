"""The start dialog: identity and role, checked, remembered; skipped for scripted runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.config import load_workstation
from app.config.workstation import Workstation, dispatcher_id_problem
from app.model.roles import Role
from app.paths import resource_dir
from ui.login import LoginDialog, ask_identity
from ui.main import build_parser, main
from ui.runtime import wants_login

pytestmark = pytest.mark.ui


@pytest.fixture
def ws() -> Workstation:
    return load_workstation(resource_dir() / "config" / "workstation.yaml")


def settings_in(folder: Path) -> QSettings:
    return QSettings(str(folder / "hmi.ini"), QSettings.Format.IniFormat)


def test_checks_the_id_remembers_the_choice(qtbot: QtBot, ws: Workstation, tmp_path: Path) -> None:
    dialog = LoginDialog(ws, settings_in(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.dispatcher.text() == ws.dispatcher  # nothing remembered yet
    assert dialog.choice() == (ws.dispatcher, ws.role)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for bad in ("", "ann@WS-02", "a b", "-lead", "名字"):
        dialog.dispatcher.setText(bad)
        ok.click()
        assert dialog.result() == 0, bad
        assert dialog.error.text(), bad
    dialog.dispatcher.setText("li.wei-02")
    dialog.role.setCurrentIndex(dialog.role.findData("observer"))
    assert not dialog.error.text()  # typing clears the complaint
    ok.click()
    assert dialog.result() == 1
    again = LoginDialog(ws, settings_in(tmp_path))
    qtbot.addWidget(again)
    assert again.choice() == ("li.wei-02", Role.OBSERVER)


def test_ask_identity_gives_the_workstation_with_the_choice(
    qtbot: QtBot, ws: Workstation, run_async: Any, tmp_path: Path
) -> None:
    def answer(accept: bool) -> None:
        for widget in qtbot_widgets():
            if isinstance(widget, LoginDialog) and widget.isVisible():
                widget.dispatcher.setText("zhang3")
                widget.role.setCurrentIndex(widget.role.findData("supervisor"))
                widget.accept() if accept else widget.reject()

    def qtbot_widgets() -> list[Any]:
        from PySide6.QtWidgets import QApplication

        return list(QApplication.topLevelWidgets())

    QTimer.singleShot(50, lambda: answer(True))
    chosen = run_async(ask_identity(ws, settings_in(tmp_path)))
    assert chosen is not None
    assert (chosen.dispatcher, chosen.role, chosen.id) == ("zhang3", Role.SUPERVISOR, ws.id)
    QTimer.singleShot(50, lambda: answer(False))
    assert run_async(ask_identity(ws, settings_in(tmp_path))) is None


def test_who_is_asked() -> None:
    def args(*argv: str) -> argparse.Namespace:
        return build_parser().parse_args(list(argv))

    assert wants_login(args())
    assert wants_login(args("--demo"))
    assert not wants_login(args("--screenshot", "x.png"))
    assert not wants_login(args("--quit-after", "3"))
    assert not wants_login(args("--no-login"))
    assert not wants_login(args("--dispatcher", "d1", "--role", "observer"))


def test_command_line_identity_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--role", "observer", "--quit-after", "0"]) == 2
    assert "--role needs --dispatcher" in capsys.readouterr().err
    assert main(["--dispatcher", "a@b", "--quit-after", "0"]) == 2
    assert "not a dispatcher id" in capsys.readouterr().err
    assert dispatcher_id_problem("d-01") is None
