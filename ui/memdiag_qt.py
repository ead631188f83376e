"""Memory diagnostics, the Qt side: Qt objects counted by class, and the sampler a
running window owns (``dispatcher-hmi --diagnose-memory``).

The record format and the report are in :mod:`app.memdiag`; this adds the
``qt`` part of a record:

- ``objects``: every QObject reachable from the application and the top-level
  widgets (the object tree), by C++ class (``metaObject().className()``, which
  is the Python class for our own subclasses);
- ``items``: the items of every graphics scene in that tree, by class;
- ``wrappers``: the live Python wrappers of Qt objects (shiboken), by class; a
  Qt object kept alive only from Python, outside any tree, shows here;
- ``widgets``, ``top_level``, ``objects_total``, ``items_total``,
  ``wrappers_total``: the totals.

:class:`MemorySampler` writes one record when started (after ``first_s``) and
then one every ``every_s``; a record takes a fraction of a second on the GUI
thread (the gc walk and the tracemalloc snapshot are the costly parts).
"""

from __future__ import annotations

import datetime as dt
import logging
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtWidgets import QApplication, QGraphicsScene
from shiboken6 import Shiboken

from app.memdiag import KafkaStats, Recorder, kafka_statistics_from_args
from app.paths import user_data_dir

log = logging.getLogger(__name__)

TOP_CLASSES = 60


def _class_name(obj: QObject) -> str:
    try:
        return str(obj.metaObject().className())
    except RuntimeError:  # deleted underneath us
        return type(obj).__name__


def _walk(roots: list[QObject]) -> tuple[Counter[str], list[QGraphicsScene]]:
    counts: Counter[str] = Counter()
    scenes: list[QGraphicsScene] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        try:
            key = int(Shiboken.getCppPointer(obj)[0])
        except (RuntimeError, TypeError):
            continue
        if key in seen:
            continue
        seen.add(key)
        counts[_class_name(obj)] += 1
        if isinstance(obj, QGraphicsScene):
            scenes.append(obj)
        stack.extend(obj.children())
    return counts, scenes


def qt_counts(top: int = TOP_CLASSES) -> dict[str, Any]:
    """The ``qt`` part of a record (empty without a QCoreApplication)."""
    app = QCoreApplication.instance()
    if app is None:
        return {}
    roots: list[QObject] = [app]
    widgets = 0
    top_level = 0
    if isinstance(app, QApplication):
        tops = QApplication.topLevelWidgets()
        roots.extend(tops)
        top_level = len(tops)
        widgets = len(QApplication.allWidgets())
    objects, scenes = _walk(roots)
    items: Counter[str] = Counter()
    for scene in scenes:
        items.update(type(item).__name__ for item in scene.items())
    wrappers: Counter[str] = Counter(type(w).__name__ for w in Shiboken.getAllValidWrappers())
    return {
        "objects_total": sum(objects.values()),
        "items_total": sum(items.values()),
        "wrappers_total": sum(wrappers.values()),
        "widgets": widgets,
        "top_level": top_level,
        "objects": dict(objects.most_common(top)),
        "items": dict(items.most_common(top)),
        "wrappers": dict(wrappers.most_common(top)),
    }


def default_record_file() -> Path:
    """``<user data>/logs/memory-<date>-<time>.jsonl``: one file per run."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return user_data_dir() / "logs" / f"memory-{stamp}.jsonl"


class MemorySampler(QObject):
    """Writes a memory record to ``path`` every ``every_s`` seconds while it lives.

    ``kafka``: the collector given to the alarm feed's librdkafka (``stats_cb``);
    ``tracemalloc_frames``: start tracemalloc with this many frames per site
    unless it already runs (0: leave it off; the Python heap is then recorded
    without sites).
    """

    def __init__(
        self,
        path: str | Path,
        every_s: float,
        *,
        kafka: KafkaStats | None = None,
        tracemalloc_frames: int = 1,
        first_s: float = 10.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.kafka = kafka
        sources: dict[str, Any] = {"qt": qt_counts}
        if kafka is not None:
            sources["kafka"] = kafka.snapshot
        self.recorder = Recorder(Path(path), sources)
        self.every_s = every_s
        self._first = QTimer(self)
        self._first.setSingleShot(True)
        self._first.setInterval(int(first_s * 1000))
        self._first.timeout.connect(self.sample)
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(every_s * 1000)))
        self._timer.timeout.connect(self.sample)
        self._started_tracemalloc = False
        if tracemalloc_frames > 0 and not tracemalloc.is_tracing():
            tracemalloc.start(tracemalloc_frames)
            self._started_tracemalloc = True

    @property
    def path(self) -> Path:
        return self.recorder.path

    def start(self) -> None:
        log.info(
            "memory diagnostics: a record every %.0f s to %s", self.every_s, self.recorder.path
        )
        self._first.start()
        self._timer.start()

    def sample(self) -> dict[str, Any] | None:
        try:
            return self.recorder.write()
        except OSError as exc:
            log.error("memory diagnostics: cannot write %s: %s", self.recorder.path, exc)
            return None

    def stop(self, final: bool = True) -> None:
        """Stop sampling (after a last record when ``final``)."""
        if self._timer.isActive() and final:
            self.sample()
        self._first.stop()
        self._timer.stop()
        if self._started_tracemalloc:
            tracemalloc.stop()
            self._started_tracemalloc = False


def memory_diagnostics_from_args(
    args: Any, window: QObject, alarms: Any = None, *, kafka: KafkaStats | None = None
) -> MemorySampler | None:
    """What ``ui/runtime.py`` calls once the window exists: nothing unless
    ``--diagnose-memory``; else a sampler owned by ``window`` that records every
    ``--diagnose-every`` minutes. ``kafka``: the collector that
    :func:`app.memdiag.kafka_statistics_from_args` gave the alarm feed before it
    started; without it, ``alarms`` (a feed not started yet) is asked here."""
    if not getattr(args, "diagnose_memory", False):
        return None
    if kafka is None and alarms is not None:
        kafka = kafka_statistics_from_args(args, alarms)
    return start_memory_diagnostics(
        window,
        path=getattr(args, "diagnose_file", None),
        every_min=float(getattr(args, "diagnose_every", 10.0)),
        kafka=kafka,
        tracemalloc_frames=int(getattr(args, "diagnose_tracemalloc", 1)),
    )


def start_memory_diagnostics(
    parent: QObject,
    *,
    path: str | Path | None = None,
    every_min: float = 10.0,
    kafka: KafkaStats | None = None,
    tracemalloc_frames: int = 1,
) -> MemorySampler:
    """What ``dispatcher-hmi --diagnose-memory`` calls once the window exists."""
    sampler = MemorySampler(
        path or default_record_file(),
        every_min * 60,
        kafka=kafka,
        tracemalloc_frames=tracemalloc_frames,
        parent=parent,
    )
    sampler.start()
    return sampler
