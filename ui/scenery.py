"""What the schematic scene is built on, once: station bands, platforms and names, the
row furniture, the control zones' brackets, the legend and the "no live data" banner.
No live state (:mod:`ui.schematic` updates the devices)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QPointF, QRectF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from app.model.topology import Line
from ui import style
from ui.decor import PathItem, RectItem, StationLabel, TextItem, add_legend, add_row_furniture
from ui.items import SignalItem, Z
from ui.layout import Layout
from ui.zones import ZoneBracket

PLATFORM_NEAR = 4.5
PLATFORM_DEPTH = 5.0


def build_static(
    self: QGraphicsScene, line: Line, lay: Layout, zone_items: dict[str, list[ZoneBracket]]
) -> tuple[QRectF, TextItem]:
    """Adds the static scenery; returns where the legend lies and the banner."""
    secs = line.section_by_id
    # station bands and platforms
    for st in line.stations:
        plats = [p for p in line.platforms if p.station == st.id and p.section in secs]
        if not plats:
            continue
        band = QRectF()
        for p in plats:
            sec = secs[p.section]
            for piece in lay.section_pieces(sec):
                band = band.united(QRectF(piece.line.p1(), piece.line.p2()).normalized())
                side = -lay.outer_side((sec.y0 + sec.y1) / 2)
                y0 = piece.line.p1().y() + side * PLATFORM_NEAR
                y1 = y0 + side * PLATFORM_DEPTH
                rect = QRectF(
                    QPointF(min(piece.line.x1(), piece.line.x2()) + 2.0, min(y0, y1)),
                    QPointF(max(piece.line.x1(), piece.line.x2()) - 2.0, max(y0, y1)),
                )
                self.addItem(RectItem(rect, style.PLATFORM_FILL, style.PLATFORM_EDGE, Z.STATIC))
        self.addItem(RectItem(band.adjusted(-2, -6, 2, 6), style.STATION_BAND, None, Z.BAND))
    # station names between the tracks, in the middle of the station
    for st in line.stations:
        plat_secs = [
            secs[p.section] for p in line.platforms if p.station == st.id and p.section in secs
        ]
        if plat_secs:
            ys = [y for sec in plat_secs for y in (sec.y0, sec.y1)]
            mid_y = (min(ys) + max(ys)) / 2
        else:
            mid_y = (lay.down_y + lay.up_y) / 2
        label = StationLabel(st)
        centre = lay.point(st.x, mid_y)
        label.setPos(centre.x(), centre.y() - label.boundingRect().height() / 2)
        self.addItem(label)
    add_row_furniture(self, line, lay)
    build_zones(self, line, lay, zone_items)
    legend_rect = add_legend(self, lay)
    # Text and static shapes are drawn once into pixmaps and blitted after: with
    # trains moving everywhere most frames repaint most of the view, and
    # laying out hundreds of labels each time is what costs (bench render).
    for item in self.items():
        if isinstance(item, TextItem | StationLabel | RectItem | PathItem | SignalItem):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    banner = TextItem(
        QCoreApplication.translate("Schematic", "NO LIVE DATA: waiting for the server's snapshot"),
        style.font(9, bold=True),
        style.ATTENTION,
        frame=style.ATTENTION,
    )
    banner.setZValue(Z.BANNER)
    if len(lay.rows) > 1:
        y = (lay.row_rect(0).bottom() + lay.row_rect(1).top()) / 2
    else:
        y = lay.row_rect(0).top() + 6
    banner.setPos(lay.row_rect(0).center().x(), y)
    self.addItem(banner)
    return legend_rect, banner


def build_zones(
    self: QGraphicsScene, line: Line, lay: Layout, zone_items: dict[str, list[ZoneBracket]]
) -> None:
    """Each control zone's extent as a bracket along the top of its rows.

    The bracket's line style and caption show the zone's authority
    (``SchematicScene.set_zone_look``); until it is known it is drawn as free.
    """
    stations = line.station_by_id
    signals = line.signal_by_id
    switches = line.switch_by_id
    font = style.font(5.0)
    for zone in line.zones:
        xs = [stations[s].x for s in zone.stations if s in stations]
        xs += [signals[s].x for s in zone.signals if s in signals]
        xs += [switches[s].x for s in zone.switches if s in switches]
        if not xs:
            continue
        x0, x1 = min(xs) + 1.5, max(xs) - 1.5
        for piece in lay.pieces(x0, 0.0, x1, 0.0):
            top = lay.row_rect(piece.row).top() + 5
            a, b = piece.line.x1(), piece.line.x2()
            path = QPainterPath()
            path.moveTo(a, top + (0 if piece.cut_start else 3))
            path.lineTo(a, top)
            path.lineTo(b, top)
            path.lineTo(b, top + (0 if piece.cut_end else 3))
            bracket = ZoneBracket(zone, path, QPointF(a + 2, top + 3.6), font)
            self.addItem(bracket)
            zone_items.setdefault(zone.id, []).append(bracket)
