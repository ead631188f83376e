"""Fixtures for the Qt view tests: a small hand-made line, a fake session and its command
pipeline (the single-workstation lock, a fake commander), an asyncio loop on Qt.

Everything runs offscreen (set here too, in case this folder runs on its own).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.comms.link import LinkInfo, LinkState
from app.control.pipeline import AuditLog, Commander, CommandPipeline, LocalDeviceLock
from app.control.service import ControlService
from app.events import Event
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.state import Changes, LineState, StateSnapshot
from app.model.topology import (
    ControlZone,
    Direction,
    Line,
    Link,
    Platform,
    Route,
    Section,
    Signal,
    Station,
    Switch,
    SwitchLeg,
    SwitchSetting,
    TrackKind,
    TrainSpec,
)
from app.session import LocalAlarm, MasterView

HERE = Path(__file__).resolve().parent


def make_line() -> Line:
    """Three stations on two tracks, with a crossover (W1, W2) beyond station B.

    DOWN runs towards increasing x on y = 0, UP on y = 30 (as in the demo line).
    """
    M, C = TrackKind.MAIN, TrackKind.CROSSOVER
    sections = (
        Section("PDA", M, 140, 85, 115, 0, 0, "A"),
        Section("DAB", M, 600, 115, 185, 0, 0),
        Section("PDB", M, 140, 185, 215, 0, 0, "B"),
        Section("DBX", M, 80, 215, 240, 0, 0, "B"),
        Section("DBC", M, 500, 240, 285, 0, 0),
        Section("PDC", M, 140, 285, 315, 0, 0, "C"),
        Section("PUA", M, 140, 85, 115, 30, 30, "A"),
        Section("UAB", M, 600, 115, 185, 30, 30),
        Section("PUB", M, 140, 185, 215, 30, 30, "B"),
        Section("UBX", M, 40, 215, 225, 30, 30, "B"),
        Section("UBC", M, 540, 225, 285, 30, 30),
        Section("PUC", M, 140, 285, 315, 30, 30, "C"),
        Section("CB", C, 50, 225, 240, 30, 0, "B"),
    )
    links = (
        Link("PDA", "DAB"),
        Link("DAB", "PDB"),
        Link("PDB", "DBX"),
        Link("DBC", "PDC"),
        Link("PUA", "UAB"),
        Link("UAB", "PUB"),
        Link("PUB", "UBX"),
        Link("UBC", "PUC"),
    )
    switches = (
        Switch("W1", "Z1", "DBC", "DBX", "CB", 240, 0),
        Switch("W2", "Z1", "UBX", "UBC", "CB", 225, 30),
    )
    signals = (
        Signal("XPDA", "Z1", "PDA", Direction.DOWN, 115, 0),
        Signal("XPDB", "Z1", "PDB", Direction.DOWN, 215, 0),
        Signal("XDBC", "Z1", "DBC", Direction.DOWN, 285, 0),
        Signal("SDBC", "Z1", "DBC", Direction.UP, 240, 0),
        Signal("SPUC", "Z1", "PUC", Direction.UP, 285, 30),
        Signal("SPUB", "Z1", "PUB", Direction.UP, 185, 30),
    )
    routes = (
        Route("R_XPDA_XPDB", "XPDA", "XPDB", ("DAB", "PDB"), ()),
        Route(
            "R_XPDB_XDBC", "XPDB", "XDBC", ("DBX", "DBC"), (SwitchSetting("W1", SwitchLeg.NORMAL),)
        ),
        Route(
            "R_SDBC_SPUB",
            "SDBC",
            "SPUB",
            ("CB", "UBX", "PUB"),
            (SwitchSetting("W1", SwitchLeg.REVERSE), SwitchSetting("W2", SwitchLeg.REVERSE)),
        ),
    )
    stations = (
        Station("A", "甲站", "Alpha", 0.0, 100, ("PA_D", "PA_U")),
        Station("B", "乙站", "Bravo", 0.7, 200, ("PB_D", "PB_U")),
        Station("C", "丙站", "Charlie", 1.4, 300, ("PC_D", "PC_U")),
    )
    platforms = tuple(
        Platform(f"P{s}_{d[0].upper()}", s, d, f"P{d.value[0].upper()}{s}")
        for s in "ABC"
        for d in Direction
    )
    zones = (
        ControlZone(
            "Z1",
            "测试区",
            "Test zone",
            ("W1", "W2"),
            tuple(s.id for s in signals),
            ("A", "B", "C"),
        ),
    )
    return Line(
        "T1",
        "测试线",
        "Test Line",
        "Asia/Shanghai",
        TrainSpec(),
        stations,
        platforms,
        sections,
        links,
        switches,
        signals,
        routes,
        zones,
    )


@pytest.fixture
def line() -> Line:
    return make_line()


class FakeSession:
    """Enough of DispatcherSession for the views; ``calls``: what its commander was asked."""

    def __init__(self, line: Line, role: str = "dispatcher") -> None:
        self.line = line
        self.state = LineState(line)
        self.node = "WS-T"
        self.dispatcher = "tester"
        self.role = role
        self.state_changed: Event[Changes] = Event("state_changed")
        self.links_changed: Event[list[LinkInfo]] = Event("links_changed")
        self.command_finished: Event[CommandResult] = Event("command_finished")
        self.master_changed: Event[MasterView] = Event("master_changed")
        self.alarm: Event[LocalAlarm] = Event("alarm")
        self.master = MasterView("A", 1, (("A", 1),))
        self.alarms: dict[str, LocalAlarm] = {}
        self.links = [LinkInfo("A@127.0.0.1:7101", "A", "127.0.0.1", 7101, LinkState.DOWN)]
        self.calls: list[tuple[str, CommandOp]] = []

    def link_infos(self) -> list[LinkInfo]:
        return list(self.links)

    def set_link(self, state: LinkState, role: str = "", epoch: int = 0) -> None:
        old = self.links[0]
        self.links = [LinkInfo(old.name, old.server, old.host, old.port, state, role, epoch)]
        self.links_changed.emit(self.link_infos())

    def synchronise(self) -> None:
        self.state_changed.emit(self.state.apply_snapshot(StateSnapshot(seq=1)))


class FakeCommander:
    """The pipeline's side of a :class:`FakeSession`: each COMMAND is recorded in the
    session's ``calls`` and executed."""

    def __init__(self, session: FakeSession) -> None:
        self.session = session

    @property
    def role(self) -> str:
        return self.session.role

    async def wait_commandable(self, timeout_s: float) -> bool:
        return True

    async def command(
        self,
        device: str,
        op: CommandOp,
        *,
        idempotency_key: str = "",
        fencing_token: int = 0,
        zone: str | None = None,
        arg: str = "",
    ) -> CommandResult:
        self.session.calls.append((device, op))
        await asyncio.sleep(0)
        return CommandResult(f"c{len(self.session.calls)}", device, op, Outcome.EXECUTED)


def local_control(session: Any, commander: Commander | None = None) -> ControlService:
    """The window's control services as without Redis (``app/wiring.py``): the real
    pipeline with the single-workstation lock, no zone authority, no audit file. Its
    commander is ``commander`` (a real session), else a :class:`FakeCommander`."""
    lock = LocalDeviceLock()
    audit = AuditLog(None)
    pipeline = CommandPipeline(
        commander if commander is not None else FakeCommander(session),
        session.line,
        dispatcher=session.dispatcher,
        workstation=session.node,
        lock=lock,
        authority=None,
        audit=audit,
        zone_of=session.state.zone_of,  # a train's zone is where it stands now
    )
    return ControlService(pipeline, lock=lock, authority=None, clients=[], audit=audit)


@pytest.fixture
def fake_session(line: Line) -> FakeSession:
    return FakeSession(line)


@pytest.fixture
def control_for() -> Callable[..., ControlService]:
    """``control_for(session, commander=None)``: :func:`local_control`, for a window."""
    return local_control


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop that runs whenever Qt processes events (as under ``qasync``).

    qtbot.wait/waitUntil spin Qt's event loop, so coroutines and sockets make
    progress while a test waits. Left-over tasks are cancelled and drained at the end.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        deadline = loop.time() + 5
        while any(not t.done() for t in pending) and loop.time() < deadline:
            qapp.processEvents()
        # loop.stop() would call QApplication.exit(), which upsets the next test's
        # event loops: just mark it stopped (qasync keeps that flag private).
        loop._QEventLoop__is_running = False
        asyncio.events._set_running_loop(None)
        loop.close()


RunAsync = Callable[..., Any]


@pytest.fixture
def run_async(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> RunAsync:
    """``run_async(coro, timeout=10)``: run a coroutine to its end while Qt processes events."""

    def run(coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
        return task.result()

    return run


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every UI test keeps its QSettings (saved layouts, language) in a folder of its own."""
    from PySide6.QtCore import QCoreApplication, QSettings

    folder = tmp_path_factory.mktemp("settings")
    QCoreApplication.setOrganizationName("dispatcher-hmi-tests")
    QCoreApplication.setApplicationName("dispatcher-hmi-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[None]:
    """The zh_CN translators installed for one test, and taken out again (the language
    and the default locale as they were)."""
    from PySide6.QtCore import QCoreApplication, QLocale

    from ui import i18n

    locale, active = QLocale(), i18n.active_language()
    installed = i18n.install_translators(qapp, "zh_CN")
    assert installed, "no translation loaded"
    try:
        yield
    finally:
        for t in installed:
            QCoreApplication.removeTranslator(t)
        QLocale.setDefault(locale)
        i18n._active = active
