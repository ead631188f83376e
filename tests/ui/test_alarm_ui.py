"""The alarm list on screen: row-level model, filters, acknowledge, horn, focus."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.alarms.consumer import FeedSettings
from app.alarms.model import AlarmChanges
from app.alarms.records import AlarmEvent, EventType, Priority, Record, RecordType
from app.alarms.service import AlarmService
from app.model.commands import CommandOp, CommandResult, Outcome
from ui.alarmlist import AlarmDock
from ui.alarmtable import ID_ROLE, AlarmTableModel
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
    dock = AlarmDock(service, stations=[("A", "A站"), ("B", "B站")], zones=["Z1"])
    qtbot.addWidget(dock)
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
    # newest first by default
    assert dock.proxy.visible_ids()[0] == "A11"
    dock.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
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

    # filter unacknowledged, acknowledge visible
    dock.state_box.setCurrentIndex(1)
    dock.acknowledge_visible()
    assert len(service.acks.pending) == 12

    # the horn: a new unacknowledged alarm while live flashes until silenced
    dock.sound()
    assert dock.horn_on
    qtbot.waitUntil(lambda: dock.flash_visible, timeout=2000)
    dock.silence()
    assert not dock.horn_on and not dock.flash_visible
    assert all(service.list.get(f"A{n}").unacked for n in range(12))  # type: ignore[union-attr]
    run_async(dock.aclose())


def test_counts_banner_and_flood(qtbot: QtBot, service: AlarmService, run_async: Any) -> None:
    feed = Feed(service)
    dock = AlarmDock(service)
    qtbot.addWidget(dock)
    feed.send(*(ev(n) for n in range(11)))  # 11 raises within the window: a flood
    dock.bridge.flush()
    assert "FLOOD" in dock.flood_label.text()
    assert "道岔W8失去表示" in dock.banner.text()  # newest of the most urgent (priority 1)
    assert "3/3" in dock.counts.text()
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
