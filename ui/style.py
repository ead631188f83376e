"""Colours, pens and fonts of the schematic, in one place.

The palette follows the high-performance HMI idea (ISA-101): a dark grey
background, muted greys for everything in its normal state, and saturated colour
only where the dispatcher's attention is wanted. The rail conventions stay (red
is stop and occupied, green is a route and proceed), but what is normal in
running is drawn quiet: a signal at stop is a dim red lamp with a red rim, a set
route a muted green, an occupied section a muted red (and wider); faults, lost
and moving switches, dark signals, dispatchers' marks and proceed aspects keep
full strength so that they stand out. The table in ``docs/ui.md`` ("Look")
gives each state, its colour and why.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont

BACKGROUND = QColor("#25292e")
STATION_BAND = QColor("#2e3339")
ROW_RULE = QColor("#3a4047")

TRACK_FREE = QColor("#7c858f")
TRACK_DEPOT = QColor("#5f666e")
TRACK_OCCUPIED = QColor("#c04a4f")  # muted: trains occupy sections all the time
TRACK_ROUTE = QColor("#79b27b")  # muted: a set route is normal running
TRACK_ROUTE_SETTING = QColor("#b6f0b0")  # bright and dashed: switches still moving
TRACK_FAULT = QColor("#d65bd6")
TRACK_STALE = QColor("#4a5058")

SWITCH_MOVING = QColor("#f2b13c")
SWITCH_LOST = QColor("#ff4fd8")
SWITCH_BLOCKED = QColor("#4fc3f7")
SWITCH_LOST_FILL = QColor(255, 79, 216, 60)

#: stop, the normal aspect of most signals: a dim red lamp with a red rim
ASPECT_STOP = QColor("#d0454a")
ASPECT_STOP_FILL = QColor("#5e2a2e")
ASPECT_PROCEED = QColor("#46c46a")
ASPECT_DIVERGING = QColor("#f2c53c")
SIGNAL_MAST = QColor("#8a939d")
#: a dark signal (lamp out): abnormal, a bright hollow ring
SIGNAL_DARK = QColor("#dfe4ea")

PLATFORM_FILL = QColor("#4a535d")
PLATFORM_EDGE = QColor("#6b7580")

TEXT_PRIMARY = QColor("#e6e9ed")
TEXT_SECONDARY = QColor("#a7b0ba")
TEXT_MUTED = QColor("#7d8791")

TRAIN_FILL = QColor("#dfe6ee")
TRAIN_EDGE = QColor("#f5f8fb")
TRAIN_TEXT = QColor("#111418")
TRAIN_ARROW = QColor("#dfe6ee")

ZONE_RULE = QColor("#56606b")

#: The frame around the device a confirmation asks about, or that Find found
#: (ui/highlight.py): white, bold, dashed, with corner ticks: no state looks like it.
TARGET = QColor("#ffffff")
#: The thin dashed frame of the device a click selected (the keyboard's commands act on it).
SELECTED = QColor("#c8d2dc")

#: What a dispatcher has imposed on a device (switch locked, signal closed, train
#: held): abnormal, so drawn with a shape of its own (padlock, cross, badge) as well
#: as this colour, distinct from the alarm colours and the aspects.
DISPATCHER_MARK = QColor("#f5f8fb")
DISPATCHER_MARK_EDGE = QColor("#111418")
TRAIN_HELD = QColor("#f2b13c")
TRAIN_HELD_TEXT = QColor("#111418")

LINK_UP = QColor("#46c46a")
LINK_PENDING = QColor("#a7b0ba")
LINK_DOWN = QColor("#e5484d")
ATTENTION = QColor("#f2b13c")
BANNER_FILL = QColor(20, 22, 25, 235)

#: Families tried in order; the first one installed wins (CJK-capable ones first); a
#: character the bundled subset lacks comes from the next family that has it.
FONT_FAMILIES = [
    "Noto Sans CJK SC",  # bundled (resources/fonts): the same look on every machine
    "Microsoft YaHei UI",
    "Microsoft YaHei",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "DejaVu Sans",
]
MONO_FAMILIES = ["Consolas", "DejaVu Sans Mono", "WenQuanYi Micro Hei Mono", "Noto Sans Mono"]

TRACK_WIDTH = 3.2
DEPOT_TRACK_WIDTH = 2.4
OCCUPIED_WIDTH_FACTOR = 1.6  # an occupied section is drawn this much wider


def font(size: float, *, bold: bool = False, mono: bool = False) -> QFont:
    """A font of ``size`` points in scene units (the view's zoom scales it)."""
    f = QFont()
    f.setFamilies(MONO_FAMILIES + FONT_FAMILIES if mono else FONT_FAMILIES)
    f.setPointSizeF(size)
    f.setBold(bold)
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return f


def coloured(colour: QColor, text: str) -> str:
    """``text`` in ``colour``, for a rich-text label (the status bar, the header)."""
    return f'<span style="color:{colour.name()}">{text}</span>'


# -- the train graph (运行图, ui/traingraph.py) ------------------------------------------
#: planned lines: thin and muted, down and up in two quiet hues
GRAPH_PLANNED_DOWN = QColor("#7f97ad")
GRAPH_PLANNED_UP = QColor("#ad9a7f")
#: actual lines by lateness (app/timetable/delays.py classify): on time quiet, early
#: and late in two distinct colours, late beyond the severe threshold the loudest
GRAPH_ON_TIME = QColor("#79b27b")
GRAPH_EARLY = QColor("#5fa8d3")
GRAPH_LATE = QColor("#e0a040")
GRAPH_SEVERE = QColor("#e5484d")
#: the now line
GRAPH_NOW = QColor("#f5f8fb")
GRAPH_GRID_MINOR = QColor("#30353b")
GRAPH_GRID_MAJOR = QColor("#4a525b")
