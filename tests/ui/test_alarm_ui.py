"""The alarm list on screen: row-level model, filters, acknowledge, horn, focus."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.alarms.consumer import FeedSettings, FeedState
from app.alarms.model import AlarmChanges
from app.alarms.records import AlarmEvent, EventType, Priority, Record, RecordType
from app.alarms.service import AlarmService
from app.model.commands import CommandOp, CommandResult, Outcome
from ui.alarmlist import AlarmDock
from ui.alarmtable import ID_ROLE, AlarmTableModel
from ui.horn import Horn
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui


class Sender:
    role = "dispatcher"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.shelves: list[tuple[str, str]] = []

    async def command(self, device: str, op: CommandOp, **kw: Any) -> CommandResult:
        self.calls.append(device)
        if op is CommandOp.SHELVE_ALARM:
            self.shelves.append((device, kw.get("arg", "")))
        return CommandResult("c", device, op, Outcome.EXECUTED)


def ev(n: int, kind: EventType = EventType.RAISE, *, device: str = "", **kw: Any) -> AlarmEvent:
    values: dict[str, Any] = {
        "alarm_id": f"A{n}",
        "event": kind,
        "device": device or f"W{n}",
        "station": "B" if n % 2 else "A",
        "zone": "Z1",
        "priority": Priority(n % 4 + 1),
        "kind": "switch_lost",
        "code": "ALM-SW-001",
        "text_zh": f"道岔W{n}失去表示",
        "text_en": f"switch W{n} lost",
        "raised_ms": 1_000_000 + n,
        "event_ms": 1_000_000 + n,
        "active": kind is not EventType.CLEAR,
        "acked": kind is EventType.ACK,
    }
    values.update(kw)
    return AlarmEvent(**values)


class Feed:
    """Feeds records to a service's list and tells its listeners, as the feed thread would."""

    def __init__(self, service: AlarmService) -> None:
        self.service = service
        self.seq = 0

    def send(self, *events: AlarmEvent) -> AlarmChanges:
        total = AlarmChanges()
        for e in events:
            self.seq += 1
            total.merge(self.service.list.apply(Record(RecordType.CHANGE, "A", self.seq, 1, -1, e)))
        self.service.changed.emit(total)
        return total


@pytest.fixture
def service() -> AlarmService:
    # The clock stands just after the test alarms' times (for the flood window).
    return AlarmService(
        FeedSettings("127.0.0.1:1"),
        sender=Sender(),
        ack_op=CommandOp.ACK_ALARM,
        clock_ms=lambda: 1_000_500,
    )


def test_model_passes_qt_model_checks_through_changes(
    qtmodeltester: Any, service: AlarmService
) -> None:
    feed = Feed(service)
    model = AlarmTableModel(service.list)
    qtmodeltester.check(model, force_py=True)
    model.apply(feed.send(*(ev(n) for n in range(20))))
    model.apply(feed.send(ev(3, EventType.ACK), ev(4, EventType.CLEAR)))
    model.apply(feed.send(ev(5, EventType.ACK), ev(5, EventType.CLEAR, acked=True)))
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 19
    ids = {model.data(model.index(r, 0), ID_ROLE) for r in range(model.rowCount())}
    assert ids == {f"A{n}" for n in range(20)} - {"A5"}


def test_one_change_is_one_row_signal_even_with_100000_rows(service: AlarmService) -> None:
    feed = Feed(service)
    feed.send(*(ev(n) for n in range(100_000)))
    model = AlarmTableModel(service.list)
    assert model.rowCount() == 100_000
    seen: list[str] = []
    model.modelReset.connect(lambda: seen.append("reset"))
    model.rowsInserted.connect(lambda *_: seen.append("insert"))
    model.rowsRemoved.connect(lambda *_: seen.append("remove"))
    model.dataChanged.connect(lambda *_: seen.append("changed"))
    model.apply(feed.send(ev(100_001)))
    model.apply(feed.send(ev(7, EventType.ACK)))
    model.apply(feed.send(ev(9, EventType.ACK), ev(9, EventType.CLEAR, acked=True)))
    assert seen == ["insert", "changed", "changed", "remove"]
    assert model.rowCount() == 100_000
    assert model.data(model.index(9, 0), ID_ROLE) == "A100001"  # the last row filled the hole


def test_filters_sort_acknowledge_shelve_and_silence(
    qtbot: QtBot, service: AlarmService, run_async: Any
) -> None:
    feed = Feed(service)
    dock = AlarmDock(
        service, stations=[("A", "A站"), ("B", "B站")], zones=["Z1"], horn=Horn(audible=False)
    )
    qtbot.addWidget(dock)
    dock.resize(900, 600)  # every row on the page
    dock.show()
    feed.send(*(ev(n) for n in range(12)))
    dock.bridge.flush()
    assert dock.proxy.rowCount() == 12
    dock.priority_box.setCurrentIndex(1)  # critical only
    assert {service.list.get(i).event.priority for i in dock.proxy.visible_ids()} == {  # type: ignore[union-attr]
        Priority.CRITICAL
    }
    dock.priority_box.setCurrentIndex(0)
    dock.text_box.setText("W11")
    assert dock.proxy.visible_ids() == ["A11"]
    dock.text_box.setText("")
    dock.station_box.setCurrentIndex(2)  # B: odd alarms
    assert sorted(dock.proxy.visible_ids()) == sorted(f"A{n}" for n in range(1, 12, 2))
    dock.station_box.setCurrentIndex(0)
    # priority first by default (issue 18): the newest of the priority 1 alarms on top
    assert dock.proxy.visible_ids()[:3] == ["A8", "A4", "A0"]
    dock.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # a click on "Time"
    dock.order._column_clicked(0)
    assert dock.proxy.visible_ids()[0] == "A11"  # newest first, whatever the priority
    assert dock.order.priority_first_button.isEnabled()
    dock.order.priority_first_button.click()
    first = service.list.get(dock.proxy.visible_ids()[0])
    assert first is not None and first.event.priority is Priority.CRITICAL

    # acknowledge selected -> the outbox holds it (and sends it through the sender)
    dock.table.selectRow(0)
    dock.acknowledge_selected()
    assert service.acks is not None
    assert [p.alarm_id for p in service.acks.pending] == [first.alarm_id]

    # shelve the selected one: a shelve_alarm command with the minutes
    assert dock.shelve_selected(minutes=15)
    sender = service._sender
    assert isinstance(sender, Sender)
    qtbot.waitUntil(lambda: sender.shelves == [(first.alarm_id, "15")], timeout=2000)

    # filter unacknowledged, acknowledge the page (the rows on screen)
    dock.table.clearSelection()
    dock.state_box.setCurrentIndex(1)
    assert len(dock.page_ids()) == 12
    dock.acknowledge_visible()
    assert len(service.acks.pending) == 12

    # the horn: a new unacknowledged alarm while live flashes until silenced
    dock.sound()
    assert dock.horn_on
    qtbot.waitUntil(lambda: dock.flash_visible, timeout=2000)
    assert dock.banner.flashing
    with qtbot.waitSignal(dock.notice) as told:
        said = dock.silence()
    assert said == told.args[0] == "Horn silenced: 12 unacknowledged alarm(s) remain"
    assert not dock.horn_on and not dock.flash_visible and not dock.banner.flashing
    assert all(service.list.get(f"A{n}").unacked for n in range(12))  # type: ignore[union-attr]
    run_async(dock.aclose())


def test_counts_banner_and_flood(qtbot: QtBot, service: AlarmService, run_async: Any) -> None:
    feed = Feed(service)
    dock = AlarmDock(service, horn=Horn(audible=False))
    qtbot.addWidget(dock)
    feed.send(*(ev(n) for n in range(11)))  # 11 raises within the window: a flood
    dock.bridge.flush()
    assert "FLOOD" in dock.flood_label.text()
    assert "道岔W8失去表示" in dock.banner.text()  # newest of the most urgent (priority 1)
    assert "3/3" in dock.banner.counts.text()
    run_async(dock.aclose())


def test_double_click_centres_the_schematic_on_the_device(
    qtbot: QtBot, fake_session: Any, service: AlarmService, control_for: Any
) -> None:
    window = MainWindow(fake_session, control_for(fake_session), service)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    window.view.zoom_by(4)
    feed = Feed(service)
    feed.send(ev(1, device="W1"), ev(2, device="PUC"))
    annunciation = window.annunciation
    assert annunciation is not None
    annunciation.dock.bridge.flush()
    assert set(annunciation.marks) == {"W1", "PUC"}  # unacknowledged devices are marked
    dock = annunciation.dock
    row = next(
        r
        for r in range(dock.proxy.rowCount())
        if dock.proxy.data(dock.proxy.index(r, 0), ID_ROLE) == "A2"
    )
    with qtbot.waitSignal(dock.focusDevice) as got:
        dock._double_clicked(dock.proxy.index(row, 3))
    assert got.args == ["PUC"]
    target = window.scene.device_item("PUC")
    assert target is not None
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert (centre - target.sceneBoundingRect().center()).manhattanLength() < 5
    feed.send(ev(2, EventType.ACK, device="PUC"))
    dock.bridge.flush()
    assert set(annunciation.marks) == {"W1"}
    assert window.focus_device("nowhere") is False


# -- issue 18: alarms that cannot vanish, priority first, the horn, the tags -----------------


def row_of(dock: AlarmDock, aid: str) -> int:
    return dock.proxy.visible_ids().index(aid)


def test_the_order_holds_while_a_row_is_selected_and_counts_what_came(
    qtbot: QtBot, service: AlarmService, run_async: Any
) -> None:
    feed = Feed(service)
    dock = AlarmDock(service, horn=Horn(audible=False))
    qtbot.addWidget(dock)
    dock.resize(900, 500)
    dock.show()
    feed.send(*(ev(n, priority=Priority.LOW) for n in range(6)))
    dock.bridge.flush()
    dock.table.selectRow(2)
    chosen = dock.selected_ids()[0]
    # a critical alarm arrives: it would sort to the top, moving the selected row down
    feed.send(ev(50, priority=Priority.CRITICAL), ev(51, priority=Priority.HIGH))
    dock.bridge.flush()
    assert row_of(dock, chosen) == 2  # the row stayed under the pointer
    assert dock.order.new_button.isVisible()
    assert dock.order.new_button.text().startswith("2 new")
    # let go: sorted in, the critical one on top
    dock.order.new_button.click()
    assert dock.proxy.visible_ids()[:2] == ["A50", "A51"]
    assert not dock.order.new_button.isVisible()
    # the pointer over the rows holds the order too
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(dock.table.viewport(), QEvent(QEvent.Type.Enter))
    feed.send(ev(52, priority=Priority.CRITICAL))
    dock.bridge.flush()
    assert dock.proxy.visible_ids()[:2] == ["A50", "A51"] and dock.order.frozen
    QApplication.sendEvent(dock.table.viewport(), QEvent(QEvent.Type.Leave))
    assert dock.proxy.visible_ids()[0] == "A52"
    run_async(dock.aclose())


# QtMultimedia tells of the audio output it cannot find here (CI, offscreen)
@pytest.mark.qt_log_ignore(
    "Couldn't (load|resolve)", "PulseAudio", "No audio devices", "Qt multimedia with FFmpeg"
)
def test_the_horn_sounds_per_priority_until_silenced_and_says_so(
    qtbot: QtBot, service: AlarmService, run_async: Any
) -> None:
    from PySide6.QtMultimedia import QSoundEffect

    feed = Feed(service)
    horn = Horn(audible=True)  # the effects as on a desk with a speaker
    dock = AlarmDock(service, horn=horn)
    qtbot.addWidget(dock)
    service.status = replace(service.status, state=FeedState.LIVE)
    assert dock.silence() == "The horn was not sounding: 0 unacknowledged alarm(s)"
    dock.apply(feed.send(ev(1, priority=Priority.MEDIUM)))
    assert horn.sounding is Priority.MEDIUM
    effect = horn.effects[Priority.MEDIUM]
    assert effect.source().toLocalFile().endswith("priority3.wav")
    assert effect.loopCount() == QSoundEffect.Loop.Infinite.value  # repeats until silenced
    dock.apply(feed.send(ev(2, priority=Priority.CRITICAL)))
    assert horn.sounding is Priority.CRITICAL  # the more urgent takes over
    dock.apply(feed.send(ev(3, priority=Priority.LOW)))
    assert horn.sounding is Priority.CRITICAL
    assert "HORN priority 1" in dock.banner.horn.text()
    feed.send(ev(2, EventType.ACK, priority=Priority.CRITICAL))
    dock.refresh()
    assert horn.sounding is Priority.MEDIUM  # the critical one acknowledged: the next
    assert dock.silence() == "Horn silenced: 2 unacknowledged alarm(s) remain"
    assert horn.sounding is None and not any(e.isPlaying() for e in horn.effects.values())
    run_async(dock.aclose())


def test_without_an_audio_device_the_horn_flashes_and_says_so(
    qtbot: QtBot, service: AlarmService, run_async: Any
) -> None:
    dock = AlarmDock(service)  # offscreen: no audio device, decided by the horn itself
    qtbot.addWidget(dock)
    assert not dock.horn.audible and not dock.horn.effects
    assert "no audio device" in dock.banner.horn.text()
    dock.sound(Priority.HIGH)
    qtbot.waitUntil(lambda: dock.banner.flashing, timeout=2000)
    assert "no audio device: flashing" in dock.banner.horn.text()
    dock.silence()
    assert not dock.banner.flashing
    run_async(dock.aclose())


def test_the_alarm_list_cannot_vanish_and_a_new_alarm_brings_it_forward(
    qtbot: QtBot, fake_session: Any, service: AlarmService, control_for: Any
) -> None:
    from PySide6.QtWidgets import QDockWidget

    window = MainWindow(fake_session, control_for(fake_session), service)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    annunciation = window.annunciation
    assert annunciation is not None
    dock, banner = annunciation.dock, annunciation.banner
    # the banner is in the window's column, outside every dock
    assert banner.isVisible() and window.centralWidget().isAncestorOf(banner)
    # not closable, not tabbed with the logs; its View menu entry cannot hide it
    assert not dock.features() & QDockWidget.DockWidgetFeature.DockWidgetClosable
    assert window.tabifiedDockWidgets(dock) == []
    assert not dock.toggleViewAction().isEnabled()
    # a dispatcher tabs it behind the command log anyway, and looks at the log
    window.tabifyDockWidget(window.commands.log, dock)
    window.commands.log.raise_()
    qtbot.waitUntil(lambda: dock.visibleRegion().isEmpty(), timeout=2000)
    service.status = replace(service.status, state=FeedState.LIVE)
    feed = Feed(service)
    feed.send(ev(1, device="W1"))
    dock.bridge.flush()
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=2000)
    assert "W1" in banner.text()
    # hidden (a saved layout, say): shown again
    dock.hide()
    feed.send(ev(2, device="W2"))
    dock.bridge.flush()
    assert dock.isVisible()


def test_alarm_keys_in_the_menu_and_the_next_unacknowledged_alarm(
    qtbot: QtBot, fake_session: Any, service: AlarmService, control_for: Any
) -> None:
    from PySide6.QtWidgets import QApplication

    window = MainWindow(fake_session, control_for(fake_session), service)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    annunciation = window.annunciation
    assert annunciation is not None
    dock = annunciation.dock
    keys = {a.objectName(): a.shortcut().toString() for a in annunciation.menu.actions()}
    assert keys == {
        "ackSelectedAction": "F9",
        "ackPageAction": "Shift+F9",
        "silenceAction": "F7",
        "nextUnackedAction": "F8",
    }
    assert "(F7)" in dock.silence_button.toolTip() and "(F9)" in dock.ack_selected.toolTip()
    listed = window.workspace.help.shortcuts()  # Help → Keyboard shortcuts
    assert ("Silence horn", "F7") in listed and ("Next unacknowledged alarm", "F8") in listed
    feed = Feed(service)
    feed.send(ev(1, device="W1"), ev(2, device="W2"), ev(3, EventType.ACK, device="PUC"))
    dock.bridge.flush()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.view.setFocus()
    with qtbot.waitSignal(dock.focusDevice):
        qtbot.keyClick(window.view, Qt.Key.Key_F8)
    first = dock.selected_ids()
    assert first and service.list.get(first[0]).unacked  # type: ignore[union-attr]
    qtbot.keyClick(window.view, Qt.Key.Key_F8)
    second = dock.selected_ids()
    assert second != first and service.list.get(second[0]).unacked  # type: ignore[union-attr]
    qtbot.keyClick(window.view, Qt.Key.Key_F9)  # acknowledge the selected one
    assert service.acks is not None
    assert [p.alarm_id for p in service.acks.pending] == second


def test_the_schematic_tag_is_the_priority_not_a_ring_and_stations_are_named(
    qtbot: QtBot, fake_session: Any, service: AlarmService, control_for: Any
) -> None:
    from ui.alarmmarks import AlarmTag

    window = MainWindow(fake_session, control_for(fake_session), service)
    qtbot.addWidget(window)
    feed = Feed(service)
    feed.send(ev(1, device="W1", priority=Priority.HIGH), ev(2, device="W1", station="B"))
    annunciation = window.annunciation
    assert annunciation is not None
    annunciation.dock.bridge.flush()
    tag = annunciation.alarm_marks.marks["W1"]
    assert isinstance(tag, AlarmTag) and tag.priority is Priority.HIGH  # the most urgent
    feed.send(ev(1, EventType.ACK, device="W1", priority=Priority.HIGH))
    annunciation.dock.bridge.flush()
    assert annunciation.alarm_marks.marks["W1"].priority is Priority.MEDIUM
    # the station column in the window's language (English here: no translator)
    model = annunciation.dock.model
    stations = {model.data(model.index(r, 2)) for r in range(model.rowCount())}
    assert stations == {"Bravo"}
