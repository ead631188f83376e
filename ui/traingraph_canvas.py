"""The train graph's canvas (运行图): time across, stations down by distance, the planned
graph thin and the actual graph thick and live, the now line.

:class:`TrainGraphCanvas` paints (``traingraph_paint.py``) and takes the mouse and
the keys: Ctrl+wheel zooms about the pointer (the whole day down to a quarter
hour), the wheel and a drag scroll in time, a click near a trip's line emits
:attr:`~TrainGraphCanvas.tripClicked`. ``ui/traingraph.py``'s :class:`TrainGraph`
puts it under its buttons and over a scroll bar.

Everything comes in by argument: the line, the plan, the day's actuals store, the
service-day time now (``service_ms``) and the translation in use. A timer looks at
the store's ``generation``: when it moved, only the trips the store names
(``take_changed_trips``) have their actual lines made again, then one repaint.

A frame is the kept base layer (a pixmap: all that stands still while the window
does) under the live layer (the running trips, the highlight, the now line); the
base is painted again when the window or the size changes, or when many trips
finished since (those finished are drawn into it meanwhile). While the user zooms
or scrolls, the base is stretched to the new window until the gesture settles.
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
    QPixmap,
    QRegion,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from app.model.topology import Line
from app.timetable.actuals import ActualsStore
from app.timetable.model import Timetable
from ui import style
from ui.i18n import active_language
from ui.traingraph_data import GraphData, TripLines
from ui.traingraph_export import export_pdf, export_png
from ui.traingraph_geometry import Layout, Mapping, Scene
from ui.traingraph_marks import Taken
from ui.traingraph_paint import Frame, Translate, paint_actual, paint_base, paint_live
from ui.traingraph_window import StationAxis, TimeWindow, day_bounds

ServiceMs = Callable[[], int]
#: a click this near a line (pixels) picks its trip
HIT_TOLERANCE_PX = 6.0
#: a press that moves further than this (pixels) is a drag, not a click
DRAG_START_PX = 4
ZOOM_STEP = 0.8
#: when this many trips finished since the base layer was painted, it is painted again
#: (their numbers and delays then written; lines alone go into the kept base)
REBUILD_AFTER = 40
#: the base layer is painted again this long after the last step of a zoom or a scroll
SETTLE_MS = 150


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
        self._base: QPixmap | None = None
        self._base_key: tuple[float, ...] = ()
        self._base_trips = 0
        self._taken: Taken = set()
        self.base_builds = 0  # how often the base layer was painted whole
        self._gesture = False
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.settle)
        self._warm = QTimer(self)
        self._warm.setInterval(0)
        self._warm.timeout.connect(self._warm_some)
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
        tr = self.tr_
        date = self.store.service_date or tr("(no date)")
        title = tr("Train graph")  # not in the f-string: lupdate finds it here
        return f"{title}  {name}  {date}  {self.timetable.id}"

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

    def zoom(self, factor: float, anchor_s: float | None = None, *, gesture: bool = False) -> None:
        """Narrow (``factor`` < 1) or widen the window about ``anchor_s``. ``gesture``:
        one step of the user's zooming or scrolling (see :meth:`settle`)."""
        if self.follow_now and anchor_s is None:
            anchor_s = self.now_s()
        before = (self.time_window.start_s, self.time_window.span_s)
        self.time_window.zoom(factor, anchor_s)
        self._moved(before, gesture)

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP, gesture=True)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP, gesture=True)

    def scroll_by(self, delta_s: float, *, gesture: bool = False) -> None:
        before = (self.time_window.start_s, self.time_window.span_s)
        self.time_window.scroll(delta_s)
        if self.time_window.start_s != before[0]:
            self.set_follow_now(False)
        self._moved(before, gesture)

    def scroll_to(self, start_s: float, *, gesture: bool = False) -> None:
        self.scroll_by(start_s - self.time_window.start_s, gesture=gesture)

    def settle(self) -> None:
        """The gesture is over: the next frame is painted whole at the new window.

        While the user zooms or scrolls, each step's frame shows the kept base layer
        stretched and shifted to the new window under the exact live layer (a few
        milliseconds, whatever the day holds); :data:`SETTLE_MS` after the last step
        the base is painted again at the new scale."""
        self._settle.stop()
        if self._gesture:
            self._gesture = False
            self.update()

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

    def _moved(self, before: tuple[float, float], gesture: bool = False) -> None:
        if (self.time_window.start_s, self.time_window.span_s) != before:
            if gesture:
                self._gesture = True
                self._settle.start()
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
        scene = self.scene()
        data = self.data
        frame = Frame(QRectF(self.rect()), data, scene, 1.0, True)
        ratio = self.devicePixelRatioF()
        key: tuple[float, ...] = (scene.t0, scene.t1, self.width(), self.height(), ratio)
        base = self._base
        if (
            self._gesture
            and base is not None
            and self._base_key[2:] == key[2:]
            and not self.data.settled
            and not self.data.base_stale
        ):
            p = QPainter(self)
            try:
                self._paint_stretched(p, frame, base)
                paint_live(p, frame, data, scene, self._running(scene), self._taken)
            finally:
                p.end()
            return
        if (
            base is None
            or self._base_key != key
            or data.base_stale
            or len(data.settled) > REBUILD_AFTER
        ):
            base = self._base = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            base.setDevicePixelRatio(ratio)
            bp = QPainter(base)
            try:
                self._base_trips, self._taken = paint_base(
                    bp, frame, data, scene, self.tr_, self.station_name, data.running
                )
            finally:
                bp.end()
            self._base_key = key
            self.base_builds += 1
            data.settled.clear()
            data.base_stale = False
            if not self._warm.isActive():
                self._warm.start()
        elif data.settled:  # trips that finished: into the kept base
            finished = [data.by_number[n] for n in data.settled if n in data.by_number]
            data.settled.clear()
            bp = QPainter(base)
            try:
                paint_actual(bp, frame, data, finished)
            finally:
                bp.end()
        p = QPainter(self)
        try:
            p.drawPixmap(0, 0, base)
            paint_live(p, frame, data, scene, self._running(scene), self._taken)
        finally:
            p.end()
        self.painted_trips = self._base_trips

    def _running(self, scene: Scene) -> list[TripLines]:
        """The running trips whose lines may cross the window, in the day's order."""
        by_number, t0, t1 = self.data.by_number, scene.t0, scene.t1
        trips = [by_number[n] for n in self.data.running if n in by_number]
        return sorted(
            (
                t
                for t in trips
                if min(t.start_s, t.actual_points.t[0]) <= t1
                and max(t.end_s, t.actual_points.t[-1]) >= t0
            ),
            key=lambda t: (t.start_s, t.number),
        )

    def _paint_stretched(self, p: QPainter, frame: Frame, base: QPixmap) -> None:
        """The kept base, its plot and time band stretched and shifted from the window
        it was painted for to the window now."""
        lay, m = frame.lay, frame.m
        band = QRectF(lay.plot.left(), lay.time_band.top(), lay.plot.width(), 0)
        band.setBottom(lay.plot.bottom())
        # the names and the legend as they are; the plot and the time band stretched
        p.setClipRegion(QRegion(self.rect()).subtracted(QRegion(band.toAlignedRect())))
        p.drawPixmap(0, 0, base)
        p.setClipping(False)
        old_t0, old_t1 = self._base_key[0], self._base_key[1]
        x0, x1 = m.x(old_t0), m.x(old_t1)
        if x0 > band.left() or x1 < band.right():
            p.fillRect(band, style.BACKGROUND)
        ratio = base.devicePixelRatio()
        source = QRectF(
            band.left() * ratio, band.top() * ratio, band.width() * ratio, band.height() * ratio
        )
        p.save()
        p.setClipRect(band)
        p.drawPixmap(QRectF(x0, band.top(), x1 - x0, band.height()), base, source)
        p.restore()

    def _warm_some(self) -> None:
        """An idle moment: make some of the levels of detail not made yet."""
        if self.data.warm(0.008):
            self._warm.stop()

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
            self.zoom(ZOOM_STEP**steps, anchor, gesture=True)
        else:
            self.scroll_by(-steps * self.time_window.span_s * 0.1, gesture=True)
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
                self.scroll_to(self._press_start_s - dx / self.mapping().sx, gesture=True)
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
            self.scroll_by(-0.1 * page, gesture=True)
        elif key == Qt.Key.Key_Right:
            self.scroll_by(0.1 * page, gesture=True)
        elif key == Qt.Key.Key_PageUp:
            self.scroll_by(-0.9 * page, gesture=True)
        elif key == Qt.Key.Key_PageDown:
            self.scroll_by(0.9 * page, gesture=True)
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
