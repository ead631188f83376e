"""Static decorations of the schematic: text, station labels, plain shapes. No live state."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.model.topology import Station
from ui import style
from ui.items import Z


class TextItem(QGraphicsItem):
    """Static text centred (or aligned) on a point, with no hit area."""

    def __init__(
        self,
        text: str,
        font: QFont,
        colour: QColor,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignHCenter,
        frame: QColor | None = None,
    ) -> None:
        super().__init__()
        self.text = text
        self._font = font
        self._colour = colour
        self._align = align
        self._frame = frame
        metrics = QFontMetricsF(font)
        w = metrics.horizontalAdvance(text) + 2
        h = metrics.height()
        if align & Qt.AlignmentFlag.AlignLeft:
            x = 0.0
        elif align & Qt.AlignmentFlag.AlignRight:
            x = -w
        else:
            x = -w / 2
        self._rect = QRectF(x, -h / 2, w, h)
        self._box = self._rect.adjusted(-h * 0.6, -h * 0.25, h * 0.6, h * 0.25)
        self.setZValue(Z.LABEL)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._box.adjusted(-1, -1, 1, 1) if self._frame is not None else self._rect

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        if self._frame is not None:
            painter.setPen(QPen(self._frame, 0.8))
            painter.setBrush(style.BANNER_FILL)
            painter.drawRoundedRect(self._box, 2.0, 2.0)
        painter.setFont(self._font)
        painter.setPen(self._colour)
        painter.drawText(self._rect, int(Qt.AlignmentFlag.AlignCenter), self.text)


class StationLabel(QGraphicsItem):
    """A station's Chinese name with the English one below, centred on its x."""

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        self._zh = style.font(10.8, bold=True)
        self._en = style.font(6.3)
        zh_m, en_m = QFontMetricsF(self._zh), QFontMetricsF(self._en)
        w = max(zh_m.horizontalAdvance(station.name_zh), en_m.horizontalAdvance(station.name_en))
        w = max(w + 4, 20.0)
        self._zh_rect = QRectF(-w / 2, 0, w, zh_m.height())
        self._en_rect = QRectF(-w / 2, zh_m.height() - 1.0, w, en_m.height())
        self._rect = self._zh_rect.united(self._en_rect)
        self.setZValue(Z.LABEL)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setToolTip(f"{station.id} {station.name_zh} / {station.name_en} · km {station.km:g}")

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        painter.setFont(self._zh)
        painter.setPen(style.TEXT_PRIMARY)
        painter.drawText(self._zh_rect, int(Qt.AlignmentFlag.AlignCenter), self.station.name_zh)
        painter.setFont(self._en)
        painter.setPen(style.TEXT_SECONDARY)
        painter.drawText(self._en_rect, int(Qt.AlignmentFlag.AlignCenter), self.station.name_en)


class RectItem(QGraphicsItem):
    """A plain filled rectangle (platforms, station bands) with no hit area."""

    def __init__(self, rect: QRectF, fill: QColor, edge: QColor | None, z: float) -> None:
        super().__init__()
        self._rect = rect
        self._fill = QBrush(fill)
        self._edge = QPen(edge, 0.6) if edge is not None else QPen(Qt.PenStyle.NoPen)
        self.setZValue(z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        painter.setPen(self._edge)
        painter.setBrush(self._fill)
        painter.drawRect(self._rect)


class PathItem(QGraphicsItem):
    """A static stroked (and optionally filled) path with no hit area."""

    def __init__(
        self, path: QPainterPath, pen: QPen, brush: QBrush | None = None, z: float = Z.STATIC
    ) -> None:
        super().__init__()
        self._path = path
        self._pen = pen
        self._brush = brush or QBrush(Qt.BrushStyle.NoBrush)
        w = pen.widthF()
        self._rect = path.boundingRect().adjusted(-w, -w, w, w)
        self.setZValue(z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        painter.setPen(self._pen)
        painter.setBrush(self._brush)
        painter.drawPath(self._path)
