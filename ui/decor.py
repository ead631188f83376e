"""Static decorations of the schematic: text, station labels, plain shapes, the row
furniture (direction labels, where a row goes on) and the legend. No live state."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from app.model.topology import Line, Station
from ui import style
from ui.items import Z
from ui.layout import Layout
from ui.legend import ENTRIES, LegendSymbol, colour_of, symbol_width


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


def add_row_furniture(scene: QGraphicsScene, line: Line, lay: Layout) -> None:
    """Direction labels at the start of each row; continuation marks at the cuts."""
    small = style.font(5.6, bold=True)
    for row in lay.rows:
        x = lay.left_margin - 6
        for y, text in (
            (lay.down_y, QCoreApplication.translate("Schematic", "DOWN ▶")),
            (lay.up_y, QCoreApplication.translate("Schematic", "◀ UP")),
        ):
            label = TextItem(text, small, style.TEXT_MUTED, Qt.AlignmentFlag.AlignRight)
            label.setPos(x, y * lay.scale_y + row.dy)
            scene.addItem(label)
    # chevrons after every track that runs on past the end of a row
    cut_pen = QPen(style.TEXT_MUTED, 1.0)
    ends = {i: lay.to_scene(row.x_end, 0, i).x() for i, row in enumerate(lay.rows[:-1])}
    for sec in line.sections:
        for piece in lay.section_pieces(sec):
            end_x = ends.get(piece.row)
            if end_x is None:
                continue
            for p in (piece.line.p1(), piece.line.p2()):
                if abs(p.x() - end_x) > 1e-6:
                    continue
                path = QPainterPath()
                for k in (0.0, 4.0):
                    tip = p + QPointF(7.0 + k, 0)
                    path.moveTo(tip + QPointF(-3.5, -3.5))
                    path.lineTo(tip)
                    path.lineTo(tip + QPointF(-3.5, 3.5))
                scene.addItem(PathItem(path, cut_pen))
    note = style.font(5.6)
    for i in range(len(lay.rows) - 1):
        cur_rect, nxt_rect = lay.row_rect(i), lay.row_rect(i + 1)
        gap_top, gap_bottom = cur_rect.bottom(), nxt_rect.top()
        nxt, cur = lay.rows[i + 1], lay.rows[i]
        first = nxt.stations[0] if nxt.stations else None
        last = cur.stations[-1] if cur.stations else None
        if first is not None:
            end_x = lay.to_scene(cur.x_end, 0, i).x() + 18
            label = TextItem(
                QCoreApplication.translate(
                    "Schematic", "continues on the next row: {0} {1} ▼"
                ).format(first.name_zh, first.name_en),
                note,
                style.TEXT_SECONDARY,
                Qt.AlignmentFlag.AlignRight,
            )
            label.setPos(end_x, gap_top + (gap_bottom - gap_top) * 0.25)
            scene.addItem(label)
        if last is not None:
            start_x = lay.to_scene(nxt.x_start, 0, i + 1).x() - 18
            label = TextItem(
                QCoreApplication.translate(
                    "Schematic", "▼ continued from the row above: {0} {1}"
                ).format(last.name_zh, last.name_en),
                note,
                style.TEXT_SECONDARY,
                Qt.AlignmentFlag.AlignLeft,
            )
            label.setPos(start_x, gap_top + (gap_bottom - gap_top) * 0.75)
            scene.addItem(label)


def add_legend(scene: QGraphicsScene, lay: Layout) -> QRectF:
    """The legend strip under the last row: every state's look (:data:`ui.legend.ENTRIES`,
    drawn by the schematic's own code), named; returns where it lies."""
    last = lay.row_rect(len(lay.rows) - 1)
    y = last.bottom() + 8
    x = lay.left_margin
    font = style.font(5.4)
    for entry in ENTRIES:
        symbol = LegendSymbol(entry.kind, colour_of(entry))
        symbol.setPos(x, y)
        symbol.setZValue(Z.STATIC)
        symbol.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # drawn once
        scene.addItem(symbol)
        w = symbol_width(entry.kind)
        text = QCoreApplication.translate("Schematic", entry.name)
        label = TextItem(text, font, style.TEXT_SECONDARY, Qt.AlignmentFlag.AlignLeft)
        label.setPos(x + w + 2.5, y)
        scene.addItem(label)
        x += w + 2.5 + label.boundingRect().width() + 9
    return QRectF(lay.left_margin - 4, y - 8, x - lay.left_margin + 4, 16)
