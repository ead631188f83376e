"""More views of the one schematic scene: a minimap, a station's detail, following a train.

Each is a :class:`QGraphicsView` on the window's own scene, so it shows the
same items, live, with no second model to keep in step.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFrame,
    QGraphicsView,
    QVBoxLayout,
    QWidget,
)

from app.model.topology import Line
from ui import style
from ui.schematic import SchematicScene, SchematicView


class Minimap(QGraphicsView):
    """The whole line, small, over a corner of the main view; the visible part framed.

    A click or a drag on it centres the main view there.
    """

    WIDTH = 300

    def __init__(self, main: SchematicView) -> None:
        super().__init__(main.schematic, main)
        self.setObjectName("minimap")
        self.main = main
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHints(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QColor(20, 22, 25, 235))
        self.setFrameShape(QFrame.Shape.Box)
        self.setStyleSheet(
            f"QGraphicsView#minimap {{ border: 1px solid {style.ROW_RULE.name()}; }}"
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(self.tr("Overview: click to go there"))
        for bar in (main.horizontalScrollBar(), main.verticalScrollBar()):
            bar.valueChanged.connect(lambda _v: self.viewport().update())
            bar.rangeChanged.connect(lambda _a, _b: self.viewport().update())
        main.viewport().installEventFilter(self)
        self.place()

    def visible_rect(self) -> QRectF:
        """The part of the scene the main view shows."""
        return self.main.mapToScene(self.main.viewport().rect()).boundingRect()

    def place(self) -> None:
        rect = self.main.schematic.content_rect
        height = max(40, int(self.WIDTH * rect.height() / max(rect.width(), 1.0)))
        self.resize(self.WIDTH, height)
        vp = self.main.viewport().rect()
        self.move(vp.right() - self.WIDTH - 10, vp.bottom() - height - 10)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        # hidden when the main view shows (nearly) the whole line anyway
        self.setVisible(self.isEnabled() and not self.main.auto_fit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Paint):
            if event.type() == QEvent.Type.Resize:
                self.place()
            elif self.isVisible() == self.main.auto_fit and self.isEnabled():
                self.setVisible(not self.main.auto_fit)
        return False

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        pen = QPen(style.ATTENTION, 0)
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self.visible_rect())

    def go_to(self, scene_point: QPointF) -> None:
        self.main.centerOn(scene_point)
        self.viewport().update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.go_to(self.mapToScene(event.position().toPoint()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.go_to(self.mapToScene(event.position().toPoint()))
        event.accept()


class StationDetailDock(QDockWidget):
    """One station, close up, beside the overview: the same live scene, zoomed in."""

    stationChanged = Signal(str)

    MARGIN_X = 90.0  # scene units either side of the station: its switches and signals

    def __init__(self, scene: SchematicScene, line: Line, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Station detail"), parent)
        self.setObjectName("stationDetailDock")
        self.scene_ = scene
        self.line = line
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.picker = QComboBox()
        self.picker.setObjectName("stationPicker")
        for st in line.stations:
            self.picker.addItem(f"{st.name_zh}  {st.name_en}", st.id)
        column.addWidget(self.picker)
        self.view = QGraphicsView(scene)
        self.view.setObjectName("stationDetailView")
        self.view.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        self.view.setBackgroundBrush(style.BACKGROUND)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        column.addWidget(self.view, 1)
        self.setWidget(body)
        self.picker.currentIndexChanged.connect(lambda _i: self.show_station(self.station_id()))
        self.view.viewport().installEventFilter(self)

    def station_id(self) -> str:
        return str(self.picker.currentData() or "")

    def station_rect(self, station_id: str) -> QRectF | None:
        """The scene area of a station: its name label widened to take in its track."""
        for item in self.scene_.items():
            st = getattr(item, "station", None)
            if st is not None and getattr(st, "id", None) == station_id:
                label = item.sceneBoundingRect()
                centre = label.center()
                return QRectF(centre.x() - self.MARGIN_X, centre.y() - 55, 2 * self.MARGIN_X, 110)
        return None

    def show_station(self, station_id: str) -> bool:
        rect = self.station_rect(station_id)
        if rect is None:
            return False
        i = self.picker.findData(station_id)
        if i >= 0 and i != self.picker.currentIndex():
            self.picker.setCurrentIndex(i)  # comes back here through the signal
            return True
        self.view.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.stationChanged.emit(station_id)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.station_id():
            rect = self.station_rect(self.station_id())
            if rect is not None:
                self.view.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        return False
