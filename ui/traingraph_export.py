"""The train graph on paper and in a picture: PDF (A3 landscape, ``QPdfWriter``) and
PNG, the whole day (or the window shown), planned against actual, with a title (the
line, the service date, the timetable) and the legend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray, QMarginsF, QRectF
from PySide6.QtGui import QImage, QImageWriter, QPageLayout, QPageSize, QPainter, QPdfWriter

from ui.traingraph_data import GraphData
from ui.traingraph_geometry import Scene
from ui.traingraph_paint import paint_graph


class Exportable(Protocol):
    """What an export needs of the view (``TrainGraphCanvas``)."""

    data: GraphData
    tr_: Callable[[str], str]

    def station_name(self, station: str) -> str: ...
    def scene(self, *, whole_day: bool = False, title: bool = False) -> Scene: ...
    def title(self) -> str: ...
    def width(self) -> int: ...
    def height(self) -> int: ...


#: the PDF's resolution: 144 dpi, so that lines and texts keep the screen's
#: proportions at 1.5 times a 96-dpi pixel
PDF_DPI = 144
#: a picture of the whole day is this wide (a window shown: the widget's size, x2)
PNG_DAY_SIZE = (3200, 1400)


class ExportError(OSError):
    """The file could not be written (the path and the reason in the message)."""


def export_png(canvas: Exportable, path: str | Path, *, whole_day: bool = True) -> None:
    if whole_day:
        width, height = PNG_DAY_SIZE
    else:
        width, height = canvas.width() * 2, canvas.height() * 2
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    p = QPainter(image)
    try:
        if not whole_day:
            p.scale(2, 2)
            rect = QRectF(0, 0, canvas.width(), canvas.height())
        else:
            rect = QRectF(0, 0, width, height)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        scene = canvas.scene(whole_day=whole_day, title=True)
        paint_graph(p, rect, canvas.data, scene, canvas.tr_, canvas.station_name, 1.0)
    finally:
        p.end()
    writer = QImageWriter(str(path), QByteArray(b"png"))
    if not writer.write(image):
        raise ExportError(f"{path}: the PNG could not be written ({writer.errorString()})")


def export_pdf(canvas: Exportable, path: str | Path, *, whole_day: bool = True) -> None:
    try:  # QPdfWriter says nothing when it cannot open the file: ask first
        Path(path).open("wb").close()
    except OSError as e:
        raise ExportError(f"{path}: the PDF could not be written ({e.strerror})") from e
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_DPI)
    writer.setTitle(canvas.title())
    writer.setCreator("dispatcher-hmi")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A3),
            QPageLayout.Orientation.Landscape,
            QMarginsF(10, 10, 10, 10),
            QPageLayout.Unit.Millimeter,
        )
    )
    p = QPainter()
    if not p.begin(writer):
        raise ExportError(f"{path}: the PDF could not be started")
    try:
        scale = PDF_DPI / 96
        area = writer.pageLayout().paintRectPixels(PDF_DPI)
        rect = QRectF(0, 0, area.width(), area.height())
        scene = canvas.scene(whole_day=whole_day, title=True)
        paint_graph(p, rect, canvas.data, scene, canvas.tr_, canvas.station_name, scale)
    finally:
        p.end()
