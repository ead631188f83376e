"""The legend: every state's symbol, drawn by the same code as on the schematic.

:data:`ENTRIES` lists each state once: its symbol (a kind and a colour of
:mod:`ui.style`), its name and what it means. The strip under the schematic
(:func:`ui.decor.add_legend`) draws each symbol small with its name; Help →
Legend (F1, :class:`LegendDialog`) draws each large, with its name in Chinese
and in English and what it means, in the window's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt, QTranslator
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGraphicsItem,
    QGridLayout,
    QLabel,
    QScrollArea,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from app.alarms.records import Priority
from ui import style
from ui.alarmtag import draw_tag
from ui.i18n import translations_dir
from ui.marks import draw_cross, draw_held_badge, draw_padlock


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Marks ``text`` for lupdate in ``context``; translated where it is shown."""
    del context
    return text


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # how the symbol is drawn (draw_symbol)
    colour: str  # the name of its colour in ui.style
    name: str  # English, translated in the context "Schematic"
    meaning: str  # English, translated in the context "Legend"


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "track",
        "TRACK_FREE",
        QT_TRANSLATE_NOOP("Schematic", "free"),
        QT_TRANSLATE_NOOP("Legend", "No train and no route: grey, the normal state."),
    ),
    Entry(
        "thick",
        "TRACK_OCCUPIED",
        QT_TRANSLATE_NOOP("Schematic", "occupied"),
        QT_TRANSLATE_NOOP("Legend", "A train is in the section: muted red, and wider."),
    ),
    Entry(
        "track",
        "TRACK_ROUTE",
        QT_TRANSLATE_NOOP("Schematic", "route set"),
        QT_TRANSLATE_NOOP("Legend", "Locked in a set route: muted green."),
    ),
    Entry(
        "dash",
        "TRACK_ROUTE_SETTING",
        QT_TRANSLATE_NOOP("Schematic", "route setting"),
        QT_TRANSLATE_NOOP("Legend", "The route is being set (switches moving): bright, dashed."),
    ),
    Entry(
        "dash",
        "TRACK_FAULT",
        QT_TRANSLATE_NOOP("Schematic", "track fault"),
        QT_TRANSLATE_NOOP("Legend", "Train detection failed in the section: magenta, dashed."),
    ),
    Entry(
        "stop",
        "ASPECT_STOP",
        QT_TRANSLATE_NOOP("Schematic", "stop"),
        QT_TRANSLATE_NOOP("Legend", "Signal at stop, its normal aspect: a dim lamp, red rim."),
    ),
    Entry(
        "lamp",
        "ASPECT_PROCEED",
        QT_TRANSLATE_NOOP("Schematic", "proceed"),
        QT_TRANSLATE_NOOP("Legend", "Signal cleared for a route: green lamp."),
    ),
    Entry(
        "lamp",
        "ASPECT_DIVERGING",
        QT_TRANSLATE_NOOP("Schematic", "diverging"),
        QT_TRANSLATE_NOOP("Legend", "Cleared onto a diverging route: yellow lamp."),
    ),
    Entry(
        "hollow",
        "SIGNAL_DARK",
        QT_TRANSLATE_NOOP("Schematic", "dark"),
        QT_TRANSLATE_NOOP("Legend", "The lamp is out: a bright hollow ring."),
    ),
    Entry(
        "ring",
        "SWITCH_MOVING",
        QT_TRANSLATE_NOOP("Schematic", "switch moving"),
        QT_TRANSLATE_NOOP("Legend", "The points are moving: a blinking amber ring."),
    ),
    Entry(
        "diamond",
        "SWITCH_LOST",
        QT_TRANSLATE_NOOP("Schematic", "switch lost"),
        QT_TRANSLATE_NOOP("Legend", "No position detected (失表): a magenta diamond."),
    ),
    Entry(
        "square",
        "SWITCH_BLOCKED",
        QT_TRANSLATE_NOOP("Schematic", "switch blocked"),
        QT_TRANSLATE_NOOP("Legend", "Blocked (封锁): a blue square."),
    ),
    Entry(
        "padlock",
        "DISPATCHER_MARK",
        QT_TRANSLATE_NOOP("Schematic", "switch locked"),
        QT_TRANSLATE_NOOP("Legend", "Single-locked by a dispatcher (单锁): cannot be thrown."),
    ),
    Entry(
        "cross",
        "DISPATCHER_MARK",
        QT_TRANSLATE_NOOP("Schematic", "signal closed"),
        QT_TRANSLATE_NOOP("Legend", "Closed by a dispatcher (封闭): no route from it."),
    ),
    Entry(
        "badge",
        "TRAIN_HELD",
        QT_TRANSLATE_NOOP("Schematic", "train held"),
        QT_TRANSLATE_NOOP("Legend", "Held at its platform by a dispatcher (扣车)."),
    ),
    Entry(
        "alarm",
        "TEXT_PRIMARY",
        QT_TRANSLATE_NOOP("Schematic", "unacknowledged alarm"),
        QT_TRANSLATE_NOOP(
            "Legend",
            "A device with an unacknowledged alarm: a white-framed tag in the priority's "
            "colour with its number (1 critical … 4 low), blinking until acknowledged.",
        ),
    ),
)

#: each symbol's width (scene units), its height is LAMP_H
TRACK_W = 12.0
SYMBOL_W = 6.0
SYMBOL_H = 8.0
LAMP_R = 2.7


def symbol_width(kind: str) -> float:
    return TRACK_W if kind in ("track", "dash", "thick") else SYMBOL_W


def draw_symbol(painter: QPainter, kind: str, colour: QColor, at: QPointF) -> None:
    """One state's symbol, its left end at ``at`` and centred on it vertically."""
    x, y = at.x(), at.y()
    centre = QPointF(x + 3, y)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if kind in ("track", "dash", "thick"):
        width = style.TRACK_WIDTH * (style.OCCUPIED_WIDTH_FACTOR if kind == "thick" else 1.0)
        pen = QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
        if kind == "dash":
            pen.setDashPattern([2.0, 1.2])
        painter.setPen(pen)
        painter.drawLine(QPointF(x, y), QPointF(x + TRACK_W, y))
    elif kind in ("stop", "cross"):
        painter.setPen(QPen(style.ASPECT_STOP, 0.8))
        painter.setBrush(style.ASPECT_STOP_FILL)
        painter.drawEllipse(centre, LAMP_R, LAMP_R)
        if kind == "cross":
            draw_cross(painter, centre, LAMP_R + 1.0)
    elif kind == "lamp":
        painter.setPen(QPen(colour.darker(140), 0.6))
        painter.setBrush(colour)
        painter.drawEllipse(centre, LAMP_R, LAMP_R)
    elif kind == "hollow":
        painter.setPen(QPen(colour, 1.1))
        painter.drawEllipse(centre, LAMP_R, LAMP_R)
    elif kind == "ring":
        painter.setPen(QPen(colour, 1.2))
        painter.drawEllipse(centre, LAMP_R, LAMP_R)
    elif kind == "diamond":
        painter.setPen(QPen(colour, 1.2))
        painter.setBrush(style.SWITCH_LOST_FILL)
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(x + 3, y - 3.5),
                    QPointF(x + 6.5, y),
                    QPointF(x + 3, y + 3.5),
                    QPointF(x - 0.5, y),
                ]
            )
        )
    elif kind == "square":
        painter.setPen(QPen(colour, 1.2))
        painter.drawRect(QRectF(x - 0.5, y - 3.5, 7, 7))
    elif kind == "padlock":
        draw_padlock(painter, centre)
    elif kind == "badge":
        draw_held_badge(painter, QRectF(x - 0.5, y - 3.5, 7, 7))
    elif kind == "alarm":  # ui/alarmmarks.py: the priority-1 tag
        draw_tag(painter, QRectF(x - 0.5, y - 3.5, 7, 7), Priority.CRITICAL)


class LegendSymbol(QGraphicsItem):
    """One symbol of the legend strip on the schematic (no hit area)."""

    def __init__(self, kind: str, colour: QColor) -> None:
        super().__init__()
        self.kind = kind
        self.colour = colour
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return QRectF(-1.5, -SYMBOL_H / 2 - 1, symbol_width(self.kind) + 3, SYMBOL_H + 2)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        draw_symbol(painter, self.kind, self.colour, QPointF(0, 0))


def colour_of(entry: Entry) -> QColor:
    return QColor(getattr(style, entry.colour))


def symbol_pixmap(entry: Entry, scale: float) -> QPixmap:
    """The symbol drawn ``scale`` times larger, on the schematic's background."""
    w = symbol_width(entry.kind) + 4
    pixmap = QPixmap(int(w * scale), int((SYMBOL_H + 2) * scale))
    pixmap.fill(style.BACKGROUND)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    draw_symbol(painter, entry.kind, colour_of(entry), QPointF(2, (SYMBOL_H + 2) / 2))
    painter.end()
    return pixmap


def chinese_names() -> QTranslator | None:
    """The Chinese catalogue, whatever the window's language (the legend shows both)."""
    translator = QTranslator()
    if translator.load(str(translations_dir() / "dispatcher_hmi_zh_CN.qm")):
        return translator
    return None


class LegendDialog(QDialog):
    """Help → Legend (F1): each symbol large, its name in Chinese and English, its meaning."""

    SCALE = 6.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("legendDialog")
        self.setWindowTitle(self.tr("Legend"))
        zh = chinese_names()
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(6)
        for col, head in enumerate(
            (self.tr("Symbol"), "中文", "English", self.tr("What it means"))
        ):
            label = QLabel(f"<b>{head}</b>")
            grid.addWidget(label, 0, col)
        self.rows: list[tuple[str, str, str]] = []  # (Chinese, English, meaning): for tests
        for row, entry in enumerate(ENTRIES, start=1):
            symbol = QLabel()
            symbol.setPixmap(symbol_pixmap(entry, self.SCALE))
            symbol.setObjectName(f"legend_{entry.kind}_{entry.colour}")
            chinese = zh.translate("Schematic", entry.name) if zh is not None else ""
            meaning = QCoreApplication.translate("Legend", entry.meaning)
            name_zh = QLabel(chinese or entry.name)
            name_en = QLabel(entry.name)
            text = QLabel(meaning)
            text.setWordWrap(True)
            for font_label in (name_zh, name_en):
                font = font_label.font()
                font.setPointSizeF(font.pointSizeF() * 1.15)
                font_label.setFont(font)
            grid.addWidget(symbol, row, 0)
            grid.addWidget(name_zh, row, 1)
            grid.addWidget(name_en, row, 2)
            grid.addWidget(text, row, 3)
            self.rows.append((chinese, entry.name, meaning))
        grid.setColumnStretch(3, 1)
        body = QWidget()
        body.setLayout(grid)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        column = QVBoxLayout(self)
        column.addWidget(scroll)
        note = QLabel(
            QCoreApplication.translate(
                "Workspace",
                "Abnormal states differ in shape or line pattern as well as colour: "
                "a fault is dashed, a lost switch is a diamond, a blocked one a square, "
                "a closed signal is crossed, a held train carries a badge.",
            )
        )
        note.setWordWrap(True)
        column.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)
        self.resize(820, 640)
