"""Memory diagnostics in a running Qt program: objects counted by class, and the
sampler a window owns (``dispatcher-hmi --diagnose-memory``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QGraphicsScene, QWidget
from pytestqt.qtbot import QtBot

from app import memdiag
from app.memdiag import KafkaStats
from ui.memdiag_qt import MemorySampler, qt_counts, start_memory_diagnostics


class Leaky(QObject):
    """A class of our own: counted by its own name."""


def test_a_qobject_leak_in_the_tree_is_counted_by_class(qapp: QApplication) -> None:
    holder = QObject(qapp)
    try:
        before = qt_counts()
        for _ in range(37):
            QTimer(holder)  # nothing keeps them from Python: only the tree
        for _ in range(5):
            Leaky(holder)
        after = qt_counts()
        assert after["objects"].get("QTimer", 0) - before["objects"].get("QTimer", 0) == 37
        assert after["objects"].get("Leaky", 0) - before["objects"].get("Leaky", 0) == 5
        assert after["objects_total"] - before["objects_total"] == 42
    finally:
        holder.deleteLater()
        holder.setParent(None)
        del holder


def test_objects_outside_any_tree_show_as_wrappers(qapp: QApplication) -> None:
    before = qt_counts()
    kept = [Leaky() for _ in range(11)]  # no parent: only Python keeps them
    after = qt_counts()
    assert after["wrappers"].get("Leaky", 0) - before["wrappers"].get("Leaky", 0) == 11
    assert after["objects"].get("Leaky", 0) == before["objects"].get("Leaky", 0)
    del kept


def test_graphics_items_are_counted_per_scene(qapp: QApplication, qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    scene = QGraphicsScene(widget)
    before = qt_counts()
    for i in range(25):
        scene.addItem(QGraphicsRectItem(i, 0, 5, 5))
    after = qt_counts()
    assert (
        after["items"].get("QGraphicsRectItem", 0) - before["items"].get("QGraphicsRectItem", 0)
        == 25
    )


def test_the_sampler_writes_records_and_diagnose_finds_the_leak(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    kafka = KafkaStats()
    kafka.on_stats('{"replyq": 0, "brokers": {}, "topics": {}}')
    sampler = MemorySampler(
        tmp_path / "memory.jsonl", 0.2, kafka=kafka, first_s=0, tracemalloc_frames=0, parent=owner
    )
    leak_parent = QObject(owner)
    leaked = 0

    def leak() -> None:  # a real leak, between records: 50 timers that are never deleted
        nonlocal leaked
        for _ in range(50):
            QTimer(leak_parent)
        leaked += 50

    sampler._timer.timeout.connect(leak)
    sampler.start()
    qtbot.waitUntil(lambda: sampler.recorder.records >= 6, timeout=15_000)
    sampler.stop(final=False)
    records = memdiag.read_records(sampler.path)
    assert len(records) >= 6
    assert all("qt" in r and "proc" in r and "kafka" in r for r in records)
    counts = [r["qt"]["objects"].get("QTimer", 0) for r in records]
    assert counts == sorted(counts) and counts[-1] - counts[0] >= 200
    text, data = memdiag.report(records, warmup=0)
    grown = {g["series"] for g in data["growing"]}
    assert "qt.objects.QTimer" in grown
    assert "QTimer" in text
    assert leaked >= 200


def test_start_memory_diagnostics_owns_its_sampler(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    sampler = start_memory_diagnostics(
        owner, path=tmp_path / "m.jsonl", every_min=0.005, tracemalloc_frames=0
    )
    assert sampler.parent() is owner
    qtbot.waitUntil(lambda: sampler.recorder.records >= 2, timeout=10_000)
    sampler.stop()
    assert (tmp_path / "m.jsonl").exists()


def test_the_hook_attaches_librdkafka_statistics_and_starts_only_when_asked(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    import argparse
    from types import SimpleNamespace

    from ui.memdiag_qt import memory_diagnostics_from_args

    p = argparse.ArgumentParser()
    memdiag.add_program_arguments(p)
    owner = QWidget()
    qtbot.addWidget(owner)
    alarms = SimpleNamespace(settings=SimpleNamespace(extra={}))
    off = p.parse_args([])
    assert memory_diagnostics_from_args(off, owner, alarms) is None
    assert alarms.settings.extra == {}
    on = p.parse_args(
        ["--diagnose-memory", "--diagnose-every", "0.01", "--diagnose-file", str(tmp_path / "m"),
         "--diagnose-tracemalloc", "0"]
    )  # fmt: skip
    sampler = memory_diagnostics_from_args(on, owner, alarms)
    assert sampler is not None
    assert alarms.settings.extra["statistics.interval.ms"] == 600
    assert callable(alarms.settings.extra["stats_cb"])
    qtbot.waitUntil(lambda: sampler.recorder.records >= 1, timeout=15_000)
    sampler.stop(final=False)


def test_the_feed_is_given_its_statistics_before_it_starts_and_the_sampler_keeps_them(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    import argparse
    from types import SimpleNamespace

    from ui.memdiag_qt import memory_diagnostics_from_args

    p = argparse.ArgumentParser()
    memdiag.add_program_arguments(p)
    on = p.parse_args(["--diagnose-memory", "--diagnose-file", str(tmp_path / "m")])
    alarms = SimpleNamespace(settings=SimpleNamespace(extra={}))
    assert memdiag.kafka_statistics_from_args(p.parse_args([]), alarms) is None
    assert memdiag.kafka_statistics_from_args(on, None) is None  # a demo without a broker
    kafka = memdiag.kafka_statistics_from_args(on, alarms)
    assert kafka is not None
    assert alarms.settings.extra["statistics.interval.ms"] == 60_000
    alarms.settings.extra["stats_cb"]('{"replyq": 2, "brokers": {}, "topics": {}}')
    owner = QWidget()
    qtbot.addWidget(owner)
    sampler = memory_diagnostics_from_args(on, owner, kafka=kafka)
    assert sampler is not None
    rec = sampler.sample()
    sampler.stop(final=False)
    assert rec is not None and rec["kafka"]["replyq"] == 2
