"""The train graph view (运行图): the canvas (``traingraph_canvas.py``) under a row of
buttons (zoom, the whole day, follow now) and over a time scroll bar, the widget a
dock or a window of its own holds.

Time across, stations down by distance; the planned graph thin, the actual graph
thick and live, coloured by lateness; the now line. Inputs by argument: the line,
the plan, the day's actuals store, the service-day time now (``service_ms``) and the
translation in use. ``tripClicked(str)`` when a trip's line is clicked;
:meth:`TrainGraph.highlight_trip` to emphasise one; :meth:`TrainGraph.export_png`,
:meth:`TrainGraph.export_pdf`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QScrollBar, QToolButton, QVBoxLayout, QWidget

from app.model.topology import Line
from app.timetable.actuals import ActualsStore
from app.timetable.model import Timetable
from ui.traingraph_canvas import ServiceMs, TrainGraphCanvas
from ui.traingraph_paint import Translate

__all__ = ["TrainGraph", "TrainGraphCanvas"]


class TrainGraph(QWidget):
    """The graph with its buttons and its time scroll bar (a dock's or a window's body)."""

    tripClicked = Signal(str)

    def __init__(
        self,
        line: Line,
        timetable: Timetable,
        store: ActualsStore,
        service_ms: ServiceMs,
        tr: Translate,
        parent: QWidget | None = None,
        **options: object,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("trainGraph")
        self.canvas = TrainGraphCanvas(
            line,
            timetable,
            store,
            service_ms,
            tr,
            self,
            **options,  # type: ignore[arg-type]
        )
        self.canvas.tripClicked.connect(self.tripClicked)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)

        def button(name: str, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
            b = QToolButton(self)
            b.setObjectName(name)
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            bar.addWidget(b)
            return b

        button("graphZoomIn", "+", tr("Zoom in (Ctrl+wheel, +)"), self.canvas.zoom_in)
        button("graphZoomOut", "−", tr("Zoom out (Ctrl+wheel, -)"), self.canvas.zoom_out)
        button(
            "graphFit",
            tr("Whole day"),
            tr("The whole day and line (Home)"),
            self.canvas.fit_to_line,
        )
        self.follow = button(
            "graphFollow", tr("Follow now"), tr("Keep the now line in view (N)"), lambda: None
        )
        self.follow.setCheckable(True)
        self.follow.toggled.connect(self.canvas.set_follow_now)
        self.canvas.followChanged.connect(self.follow.setChecked)
        bar.addStretch(1)
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.scrollbar.setObjectName("graphScroll")
        self.scrollbar.valueChanged.connect(self._scrolled)
        self.canvas.windowChanged.connect(self._sync_scrollbar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.scrollbar)
        self._sync_scrollbar()

    def _sync_scrollbar(self) -> None:
        w = self.canvas.time_window
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, int(w.day_span_s - w.span_s))
        self.scrollbar.setPageStep(int(w.span_s))
        self.scrollbar.setSingleStep(max(60, int(w.span_s / 20)))
        self.scrollbar.setValue(int(w.start_s - w.day_start_s))
        self.scrollbar.blockSignals(False)

    def _scrolled(self, value: int) -> None:
        self.canvas.scroll_to(self.canvas.time_window.day_start_s + value, gesture=True)

    def highlight_trip(self, trip: str | None) -> None:
        self.canvas.highlight_trip(trip)

    def export_png(self, path: str | Path, *, whole_day: bool = True) -> None:
        self.canvas.export_png(path, whole_day=whole_day)

    def export_pdf(self, path: str | Path, *, whole_day: bool = True) -> None:
        self.canvas.export_pdf(path, whole_day=whole_day)
