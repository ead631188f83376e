"""Handing a zone over between two desks, and quitting with zones held, against a real
redis-server: the grant is confirmed, the requester is told "you now hold Z1", the
"asks for" notice goes when answered, "Release" says "Withdraw request" when it is
only a request, and a zone never falls free without the other desks being told."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.config import load_workstation
from app.control.service import ControlService
from app.counterparts.services import RedisProcess
from app.model.topology import Line
from app.paths import default_workstation_file
from app.wiring import build_control
from ui.mainwindow import MainWindow
from ui.quitguard import QuitChoice, QuitGuard, QuitQuestion

pytestmark = [pytest.mark.ui, pytest.mark.integration]

TTL_MS = 600


@dataclasses.dataclass
class Desk:
    window: MainWindow
    control: ControlService
    who: str
    closed: list[bool]


@pytest.fixture
def desks(
    qtbot: QtBot,
    qloop: Any,
    run_async: Callable[..., Any],
    redis_factory: Callable[[], RedisProcess],
    line: Line,
    tmp_path: Path,
) -> Iterator[Callable[[str, str], Desk]]:
    from tests.ui.conftest import FakeSession

    redis = redis_factory()
    ws = load_workstation(default_workstation_file())
    ws = dataclasses.replace(ws, redis=dataclasses.replace(ws.redis, presence_ttl_ms=TTL_MS))
    made: list[Desk] = []

    def desk(node: str, dispatcher: str) -> Desk:
        session = FakeSession(line)
        session.node, session.dispatcher = node, dispatcher
        control = build_control(
            dataclasses.replace(ws, id=node, dispatcher=dispatcher),
            session,  # type: ignore[arg-type]
            redis_nodes=[redis.address],
            audit_log=str(tmp_path / f"audit-{node}.jsonl"),
        )
        window = MainWindow(session, control)
        qtbot.addWidget(window, before_close_func=lambda w: run_async(w.aclose()))
        window.resize(1200, 700)
        window.show()
        session.synchronise()
        control.start()
        closed: list[bool] = []
        window.closing.connect(lambda: closed.append(True))
        qtbot.waitUntil(lambda: control.status().ok, timeout=5000)
        d = Desk(window, control, f"{dispatcher}@{node}", closed)
        made.append(d)
        return d

    yield desk
    for d in made:
        d.window.close_guard = None
        run_async(d.control.aclose())


def holder(desk: Desk) -> str:
    assert desk.control.authority is not None
    return desk.control.authority.snapshot()["Z1"].holder


def test_a_zone_is_handed_over_with_a_confirmation_and_both_desks_are_told(
    qtbot: QtBot, desks: Callable[[str, str], Desk]
) -> None:
    a, b = desks("WS-A", "ann"), desks("WS-B", "bob")
    dock_a, dock_b = a.window.zones.dock, b.window.zones.dock
    assert dock_a is not None and dock_b is not None
    dock_a.select_zone("Z1")
    dock_a.take()
    qtbot.waitUntil(lambda: holder(b) == a.who, timeout=5000)
    dock_b.select_zone("Z1")
    qtbot.waitUntil(dock_b.request_button.isEnabled, timeout=5000)
    dock_b.request()
    asks = "bob@WS-B asks for zone Z1 测试区: grant or keep it in Zone control"
    qtbot.waitUntil(lambda: a.window.statusBar().currentMessage() == asks, timeout=5000)
    # the requester's button says what it does: withdraw a request, not release a zone
    qtbot.waitUntil(lambda: dock_b.release_button.text() == "Withdraw request", timeout=5000)
    assert dock_b.release_button.isEnabled()
    assert "never held" in dock_b.release_button.toolTip()
    # granting is confirmed: "keep it" keeps it
    questions: list[str] = []
    dock_a.confirm = lambda title, text: questions.append(text) is not None and False
    qtbot.waitUntil(dock_a.grant_button.isEnabled, timeout=5000)
    dock_a.grant()
    assert "Give zone Z1 测试区 to bob@WS-B?" in questions[0]
    assert holder(a) == a.who
    dock_a.confirm = lambda title, text: True
    dock_a.grant()
    qtbot.waitUntil(lambda: holder(b) == b.who, timeout=5000)
    told = "You now hold zone Z1 测试区: granted by ann@WS-A"
    qtbot.waitUntil(lambda: told in b.window.zones.news, timeout=5000)
    assert b.window.statusBar().currentMessage() == told
    # answered: the "asks for" notice is gone from the giver's status bar
    qtbot.waitUntil(lambda: a.window.statusBar().currentMessage() != asks, timeout=5000)
    assert dock_b.release_button.text() == "Release"


def test_quitting_with_a_zone_asks_and_the_release_is_told_to_the_others(
    qtbot: QtBot, desks: Callable[[str, str], Desk]
) -> None:
    a, b = desks("WS-A", "ann"), desks("WS-B", "bob")
    asked: list[QuitQuestion] = []
    answers = [QuitChoice.STAY, QuitChoice.HAND_OVER, QuitChoice.RELEASE_AND_QUIT]

    def ask(question: QuitQuestion) -> QuitChoice:
        asked.append(question)
        return answers.pop(0)

    a.window.close_guard = guard = QuitGuard(
        a.window,
        a.control.authority,
        a.window.zones.dock,
        show_status=a.window.show_status,
        log_event=a.window.log_event,
        ask=ask,
    )
    assert a.window.zones.dock is not None
    a.window.zones.dock.select_zone("Z1")
    a.window.zones.dock.take()
    qtbot.waitUntil(lambda: holder(b) == a.who, timeout=5000)
    a.window.menu_bar.quit_action.trigger()  # Ctrl+Q
    assert a.closed == [] and a.window.isVisible()  # stayed
    assert asked[0] == QuitQuestion(("Z1 测试区",), ())
    a.window.close()  # the window's close button: asked too
    assert a.closed == [] and a.window.zones.dock.isVisible()
    assert a.window.zones.dock.selected_zone() == "Z1"
    a.window.close()
    qtbot.waitUntil(lambda: a.closed == [True], timeout=5000)
    told = "Zone Z1 测试区 is free: released by ann@WS-A"
    qtbot.waitUntil(lambda: told in b.window.zones.news, timeout=5000)
    assert guard.held() == []


def test_a_desk_gone_with_its_zone_is_told_and_without_zones_quit_is_still_asked(
    qtbot: QtBot, desks: Callable[[str, str], Desk], run_async: Callable[..., Any]
) -> None:
    a, b = desks("WS-A", "ann"), desks("WS-B", "bob")
    assert a.window.zones.dock is not None
    a.window.zones.dock.select_zone("Z1")
    a.window.zones.dock.take()
    qtbot.waitUntil(lambda: holder(b) == a.who, timeout=5000)
    run_async(a.control.aclose())  # the desk stops (or quits without asking, as before)
    told = "Zone Z1 测试区 is free: the desk of ann@WS-A left (quit or stopped answering)"
    qtbot.waitUntil(lambda: told in b.window.zones.news, timeout=5000)
    asked: list[QuitQuestion] = []
    b.window.close_guard = QuitGuard(
        b.window,
        b.control.authority,
        b.window.zones.dock,
        show_status=b.window.show_status,
        log_event=b.window.log_event,
        ask=lambda q: asked.append(q) or QuitChoice.QUIT,  # type: ignore[func-returns-value]
    )
    b.window.close()
    assert asked == [QuitQuestion((), ())] and b.closed == [True]


def test_quitting_gives_a_zone_to_who_asked_for_it(
    qtbot: QtBot, desks: Callable[[str, str], Desk]
) -> None:
    a, b = desks("WS-A", "ann"), desks("WS-B", "bob")
    asked: list[QuitQuestion] = []

    def ask(question: QuitQuestion) -> QuitChoice:
        asked.append(question)
        return QuitChoice.GRANT_AND_QUIT

    a.window.close_guard = QuitGuard(
        a.window,
        a.control.authority,
        a.window.zones.dock,
        show_status=a.window.show_status,
        log_event=a.window.log_event,
        ask=ask,
    )
    dock_a, dock_b = a.window.zones.dock, b.window.zones.dock
    assert dock_a is not None and dock_b is not None
    dock_a.select_zone("Z1")
    dock_a.take()
    qtbot.waitUntil(lambda: holder(b) == a.who, timeout=5000)
    dock_b.select_zone("Z1")
    qtbot.waitUntil(dock_b.request_button.isEnabled, timeout=5000)
    dock_b.request()
    qtbot.waitUntil(lambda: a.control.authority.snapshot()["Z1"].requests == (b.who,))  # type: ignore[union-attr]
    a.window.close()
    assert asked == [QuitQuestion(("Z1 测试区",), (b.who,))]
    qtbot.waitUntil(lambda: a.closed == [True], timeout=5000)
    told = "You now hold zone Z1 测试区: granted by ann@WS-A"
    qtbot.waitUntil(lambda: told in b.window.zones.news, timeout=5000)
    # the notice and the zone table's next refresh arrive on their own paths
    qtbot.waitUntil(lambda: holder(b) == b.who, timeout=5000)
