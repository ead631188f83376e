"""The train graph view (运行图): time across, stations down by distance, the planned
graph thin and the actual graph thick and live, the now line.

:class:`TrainGraphCanvas` paints (``traingraph_paint.py``) and takes the mouse and
the keys: Ctrl+wheel zooms about the pointer (the whole day down to a quarter
hour), the wheel and a drag scroll in time, a click near a trip's line emits
:attr:`~TrainGraphCanvas.tripClicked`. :class:`TrainGraph` puts it under a row of
buttons (zoom, the whole day, follow now) and over a scroll bar: the widget a
dock or a window of its own holds.

Everything comes in by argument: the line, the plan, the day's actuals store, the
service-day time now (``service_ms``) and the translation in use. A timer looks at
the store's ``generation``: when it moved, only the trips the store names
(``take_changed_trips``) have their actual lines made again, then one repaint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QScrollBar, QToolButton, QVBoxLayout, QWidget

from app.model.topology import Line
from app.timetable.actuals import ActualsStore
from app.timetable.model import Timetable
from ui.i18n import active_language
from ui.traingraph_data import GraphData
from ui.traingraph_export import export_pdf, export_png
from ui.traingraph_paint import Layout, Mapping, Scene, Translate, paint_graph
from ui.traingraph_window import StationAxis, TimeWindow, day_bounds

ServiceMs = Callable[[], int]
#: a click this near a line (pixels) picks its trip
HIT_TOLERANCE_PX = 6.0
#: a press that moves further than this (pixels) is a drag, not a click
DRAG_START_PX = 4
ZOOM_STEP = 0.8


class TrainGraphCanvas(QWidget):
    """The painted graph; see the module's text."""

    tripClicked = Signal(str)
    #: the visible time window moved or changed its width
    windowChanged = Signal()
    #: follow now was turned on or off (a scroll by hand turns it off)
    followChanged = Signal(bool)

    def __init__(
        self,
        line: Line,
        timetable: Timetable,
        store: ActualsStore,
        service_ms: ServiceMs,
        tr: Translate,
        parent: QWidget | None = None,
        *,
        english: bool | None = None,
        on_time_s: float = 60.0,
        severe_s: float = 300.0,
        refresh_ms: int = 500,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("trainGraphCanvas")
        self.line = line
        self.timetable = timetable
        self.store = store
        self.service_ms = service_ms
        self.tr_ = tr
        self.english = active_language() == "en" if english is None else english
        self.axis = StationAxis(line.stations)
        self.data = GraphData(self.axis, timetable, store, on_time_s=on_time_s, severe_s=severe_s)
        self.time_window = TimeWindow(*day_bounds(*timetable.span_s()))
        self.highlighted: str | None = None
        self.follow_now = False
        self.painted_trips = 0  # trips drawn by the last paint
        self._press: QPoint | None = None
        self._press_start_s = 0.0
        self._dragging = False
        self._last_now_px = -1
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 200)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    # -- names ---------------------------------------------------------------------------

    def station_name(self, station: str) -> str:
        s = self.line.station_by_id.get(station)
        if s is None:
            return station
        return s.name_en if self.english else s.name_zh

    def title(self) -> str:
        name = self.line.name_en if self.english else self.line.name_zh
        date = self.store.service_date or self.tr_("(no date)")
        return f"{self.tr_('Train graph')}  {name}  {date}  {self.timetable.id}"

    # -- geometry ------------------------------------------------------------------------

    def mapping(self) -> Mapping:
        lay = Layout.of(QRectF(self.rect()))
        w = self.time_window
        return Mapping(w.start_s, w.end_s, self.axis.km0, self.axis.km1, lay.plot, lay.pad)

    def now_s(self) -> float:
        return self.service_ms() / 1000

    def scene(self, *, whole_day: bool = False, title: bool = False) -> Scene:
        w = self.time_window
        t0, t1 = (w.day_start_s, w.day_end_s) if whole_day else (w.start_s, w.end_s)
        return Scene(
            t0,
            t1,
            now_s=self.now_s(),
            highlight=self.highlighted,
            title=self.title() if title else None,
        )

    # -- what is shown -------------------------------------------------------------------

    def highlight_trip(self, trip: str | None) -> None:
        """Draw ``trip``'s lines emphasised (None: no trip)."""
        if trip is not None and trip not in self.data.by_number:
            trip = None
        if trip != self.highlighted:
            self.highlighted = trip
            self.update()

    def zoom(self, factor: float, anchor_s: float | None = None) -> None:
        if self.follow_now and anchor_s is None:
            anchor_s = self.now_s()
        before = (self.time_window.start_s, self.time_window.span_s)
        self.time_window.zoom(factor, anchor_s)
        self._moved(before)

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP)

    def scroll_by(self, delta_s: float) -> None:
        before = (self.time_window.start_s, self.time_window.span_s)
        self.time_window.scroll(delta_s)
        if self.time_window.start_s != before[0]:
            self.set_follow_now(False)
        self._moved(before)

    def scroll_to(self, start_s: float) -> None:
        self.scroll_by(start_s - self.time_window.start_s)

    def show_time(self, start_s: float, span_s: float) -> None:
        before = (self.time_window.start_s, self.time_window.span_s)
        self.time_window.span_s, self.time_window.start_s = span_s, start_s
        self.time_window.clamp()
        self._moved(before)

    def fit_to_line(self) -> None:
        """The whole day across, the whole line down."""
        before = (self.time_window.start_s, self.time_window.span_s)
        self.time_window.show_all()
        self._moved(before)

    def set_follow_now(self, on: bool) -> None:
        if on == self.follow_now:
            return
        self.follow_now = on
        if on:
            before = (self.time_window.start_s, self.time_window.span_s)
            self.time_window.keep_in_view(self.now_s())
            self._moved(before)
        self.followChanged.emit(on)

    def _moved(self, before: tuple[float, float]) -> None:
        if (self.time_window.start_s, self.time_window.span_s) != before:
            self.windowChanged.emit()
            self.update()

    def tick(self) -> None:
        """The store and the clock looked at: repaint when either moved on screen."""
        changed = self.data.refresh()
        now = self.now_s()
        if self.follow_now:
            before = (self.time_window.start_s, self.time_window.span_s)
            self.time_window.keep_in_view(now)
            self._moved(before)
        now_px = round(self.mapping().x(now))
        if changed or now_px != self._last_now_px:
            self._last_now_px = now_px
            self.update()

    # -- painting ------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            self.painted_trips = paint_graph(
                p, QRectF(self.rect()), self.data, self.scene(), self.tr_, self.station_name
            )
        finally:
            p.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.windowChanged.emit()

    # -- input ---------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120
        if not steps:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            anchor = self.mapping().t_at(event.position().x())
            self.zoom(ZOOM_STEP**steps, anchor)
        else:
            self.scroll_by(-steps * self.time_window.span_s * 0.1)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
            self._press_start_s = self.time_window.start_s
            self._dragging = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None:
            dx = event.position().toPoint().x() - self._press.x()
            if abs(dx) > DRAG_START_PX:
                self._dragging = True
            if self._dragging:
                self.scroll_to(self._press_start_s - dx / self.mapping().sx)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            if not self._dragging:
                trip = self.trip_at(event.position().x(), event.position().y())
                if trip is not None:
                    self.highlight_trip(trip)
                    self.tripClicked.emit(trip)
            self._press = None
            self._dragging = False
        super().mouseReleaseEvent(event)

    def trip_at(self, x: float, y: float) -> str | None:
        """The trip whose line passes nearest the pixel (x, y), if one is near enough."""
        m = self.mapping()
        if not m.plot.contains(x, y):
            return None
        return self.data.hit(m.t_at(x), m.km_at(y), m.sx, m.sy, HIT_TOLERANCE_PX)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        page = self.time_window.span_s
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_Left:
            self.scroll_by(-0.1 * page)
        elif key == Qt.Key.Key_Right:
            self.scroll_by(0.1 * page)
        elif key == Qt.Key.Key_PageUp:
            self.scroll_by(-0.9 * page)
        elif key == Qt.Key.Key_PageDown:
            self.scroll_by(0.9 * page)
        elif key == Qt.Key.Key_Home:
            self.fit_to_line()
        elif key == Qt.Key.Key_N:
            self.set_follow_now(not self.follow_now)
        elif key == Qt.Key.Key_Escape:
            self.highlight_trip(None)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- export --------------------------------------------------------------------------

    def export_png(self, path: str | Path, *, whole_day: bool = True) -> None:
        export_png(self, path, whole_day=whole_day)

    def export_pdf(self, path: str | Path, *, whole_day: bool = True) -> None:
        export_pdf(self, path, whole_day=whole_day)


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
        self.canvas.scroll_to(self.canvas.time_window.day_start_s + value)

    def highlight_trip(self, trip: str | None) -> None:
        self.canvas.highlight_trip(trip)

    def export_png(self, path: str | Path, *, whole_day: bool = True) -> None:
        self.canvas.export_png(path, whole_day=whole_day)

    def export_pdf(self, path: str | Path, *, whole_day: bool = True) -> None:
        self.canvas.export_pdf(path, whole_day=whole_day)
