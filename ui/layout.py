"""Where schematic coordinates land in the scene: the one place that folds the line.

A metro line is long and thin: drawn on one row it is either illegible or needs
scrolling. :class:`Layout` cuts it into rows (by default at most 12 stations a
row, cut between two stations at a joint of the main tracks) and stacks the rows
top to bottom, each starting at the left margin. Within one row the mapping is a
plain scale and shift, so a point interpolated along a section in schematic units
maps exactly onto the segment drawn for it. Every item, and every train, asks
this class, so they always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QLineF, QPointF, QRectF

from app.model.topology import Direction, Line, Section, Station, TrackKind

EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Row:
    """One folded row: schematic ``x_start..x_end`` drawn with its top at ``top``."""

    index: int
    x_start: float
    x_end: float
    y_min: float
    y_max: float
    dy: float  # scene y = y * scale_y + dy
    stations: tuple[Station, ...]

    def contains(self, x: float) -> bool:
        return self.x_start - EPS <= x <= self.x_end + EPS


@dataclass(frozen=True, slots=True)
class Piece:
    """The part of a schematic segment that falls in one row, in scene coordinates."""

    row: int
    line: QLineF
    cut_start: bool  # the segment continues on the previous row
    cut_end: bool  # the segment continues on the next row


class Layout:
    """Maps schematic ``(x, y)`` to scene points, folding the line into rows.

    ``top_margin`` and ``bottom_margin`` are the scene space kept above the
    highest and below the lowest track of each row (station names, trains,
    signals); ``row_gap`` separates consecutive rows.
    """

    def __init__(
        self,
        line: Line,
        *,
        stations_per_row: int = 12,
        scale_x: float = 0.86,
        scale_y: float = 2.1,
        top_margin: float = 44.0,
        bottom_margin: float = 30.0,
        row_gap: float = 40.0,
        left_margin: float = 48.0,
    ) -> None:
        self.line = line
        self.scale_x = scale_x
        self.scale_y = scale_y
        self.top_margin = top_margin
        self.bottom_margin = bottom_margin
        self.row_gap = row_gap
        self.left_margin = left_margin
        self.splits = self._choose_splits(stations_per_row)
        self.rows = self._build_rows()
        self.down_y, self.up_y = self._main_track_ys()

    # -- building -----------------------------------------------------------------

    def _extent(self) -> tuple[float, float]:
        xs = [x for s in self.line.sections for x in (s.x0, s.x1)]
        xs += [st.x for st in self.line.stations]
        return (min(xs), max(xs)) if xs else (0.0, 1.0)

    def _choose_splits(self, per_row: int) -> list[float]:
        stations = sorted(self.line.stations, key=lambda s: s.x)
        n = len(stations)
        if per_row <= 0 or n <= per_row:
            return []
        rows = math.ceil(n / per_row)
        size = math.ceil(n / rows)
        splits = []
        for k in range(size, n, size):
            splits.append(self._split_between(stations[k - 1].x, stations[k].x))
        return splits

    def _split_between(self, a: float, b: float) -> float:
        """A main-track joint between stations at ``a`` and ``b``, clear of any switch."""
        mid = (a + b) / 2
        blocked: list[tuple[float, float]] = []
        for sw in self.line.switches:
            blocked.append((sw.x - 1, sw.x + 1))
        for sec in self.line.sections:
            if sec.kind is not TrackKind.MAIN and min(sec.y0, sec.y1) != max(sec.y0, sec.y1):
                blocked.append((min(sec.x0, sec.x1), max(sec.x0, sec.x1)))
        candidates = {
            x
            for sec in self.line.sections
            if sec.kind is TrackKind.MAIN
            for x in (sec.x0, sec.x1)
            if a < x < b and not any(lo <= x <= hi for lo, hi in blocked)
        }
        if not candidates:
            return mid
        return min(candidates, key=lambda x: (abs(x - mid), x))

    def _build_rows(self) -> list[Row]:
        x_min, x_max = self._extent()
        bounds = [x_min, *self.splits, x_max]
        rows: list[Row] = []
        dy_next = self.top_margin
        for i in range(len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            ys = [y for s in self.line.sections if self._overlaps(s, lo, hi) for y in (s.y0, s.y1)]
            y_min, y_max = (min(ys), max(ys)) if ys else (0.0, 0.0)
            dy = dy_next - y_min * self.scale_y
            last = i == len(bounds) - 2
            stations = tuple(
                st
                for st in sorted(self.line.stations, key=lambda s: s.x)
                if lo - EPS <= st.x and (st.x < hi or (last and st.x <= hi + EPS))
            )
            rows.append(Row(i, lo, hi, y_min, y_max, dy, stations))
            height = (y_max - y_min) * self.scale_y
            dy_next += height + self.bottom_margin + self.row_gap + self.top_margin
        return rows

    @staticmethod
    def _overlaps(s: Section, lo: float, hi: float) -> bool:
        a, b = min(s.x0, s.x1), max(s.x0, s.x1)
        return (b > lo + EPS and a < hi - EPS) or (a == b and lo <= a <= hi)

    def _main_track_ys(self) -> tuple[float, float]:
        """Schematic y of the DOWN and UP main tracks, judged by the platforms."""
        down: list[float] = []
        up: list[float] = []
        for p in self.line.platforms:
            sec = self.line.section_by_id.get(p.section)
            if sec is None:
                continue
            (down if p.direction is Direction.DOWN else up).append((sec.y0 + sec.y1) / 2)
        d = sum(down) / len(down) if down else 0.0
        u = sum(up) / len(up) if up else d + 30.0
        return d, u

    # -- mapping --------------------------------------------------------------------

    def row_index(self, x: float, prefer: float | None = None) -> int:
        """The row showing schematic ``x``; at a cut, the row that shows ``prefer``."""
        for i, split in enumerate(self.splits):
            if abs(x - split) <= EPS and prefer is not None:
                return i if prefer < split else i + 1
            if x < split:
                return i
        return len(self.splits)

    def to_scene(self, x: float, y: float, row: int) -> QPointF:
        r = self.rows[row]
        return QPointF(self.left_margin + (x - r.x_start) * self.scale_x, y * self.scale_y + r.dy)

    def point(self, x: float, y: float, prefer: float | None = None) -> QPointF:
        return self.to_scene(x, y, self.row_index(x, prefer))

    def pieces(self, x0: float, y0: float, x1: float, y1: float) -> list[Piece]:
        """The scene segments drawn for a schematic segment, one per row it crosses."""
        if x1 < x0:
            flipped = self.pieces(x1, y1, x0, y0)
            return [
                Piece(p.row, QLineF(p.line.p2(), p.line.p1()), p.cut_end, p.cut_start)
                for p in reversed(flipped)
            ]
        cuts = [s for s in self.splits if x0 + EPS < s < x1 - EPS]
        xs = [x0, *cuts, x1]
        out: list[Piece] = []
        for i in range(len(xs) - 1):
            a, b = xs[i], xs[i + 1]
            ya, yb = self._y_at(x0, y0, x1, y1, a), self._y_at(x0, y0, x1, y1, b)
            row = self.row_index((a + b) / 2)
            line = QLineF(self.to_scene(a, ya, row), self.to_scene(b, yb, row))
            out.append(Piece(row, line, i > 0, i < len(xs) - 2))
        return out

    @staticmethod
    def _y_at(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
        if abs(x1 - x0) <= EPS:
            return y0
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def section_pieces(self, section: Section) -> list[Piece]:
        return self.pieces(section.x0, section.y0, section.x1, section.y1)

    def section_mid_x(self, section: Section) -> float:
        return (section.x0 + section.x1) / 2

    def along(self, section: Section, offset_m: float) -> QPointF:
        """The scene point ``offset_m`` metres from end 0 of ``section`` (clamped)."""
        f = 0.0 if section.length_m <= 0 else max(0.0, min(1.0, offset_m / section.length_m))
        x = section.x0 + (section.x1 - section.x0) * f
        y = section.y0 + (section.y1 - section.y0) * f
        return self.point(x, y, prefer=self.section_mid_x(section))

    def direction_vector(self, x: float, y: float, tx: float, ty: float) -> QPointF:
        """The unit scene vector from schematic ``(x, y)`` towards ``(tx, ty)``."""
        dx, dy = (tx - x) * self.scale_x, (ty - y) * self.scale_y
        n = math.hypot(dx, dy)
        return QPointF(dx / n, dy / n) if n > EPS else QPointF(1.0, 0.0)

    # -- geometry for decorations -----------------------------------------------------

    def outer_side(self, y: float) -> float:
        """-1 to draw above a track at schematic ``y``, +1 to draw below it."""
        top, bottom = min(self.down_y, self.up_y), max(self.down_y, self.up_y)
        mid = (top + bottom) / 2
        return -1.0 if y <= mid else 1.0

    def row_rect(self, row: int) -> QRectF:
        """The scene rectangle of one row, margins included."""
        r = self.rows[row]
        top = r.y_min * self.scale_y + r.dy - self.top_margin
        bottom = r.y_max * self.scale_y + r.dy + self.bottom_margin
        width = (r.x_end - r.x_start) * self.scale_x
        return QRectF(self.left_margin, top, width, bottom - top)

    def scene_rect(self) -> QRectF:
        rect = QRectF()
        for i in range(len(self.rows)):
            rect = rect.united(self.row_rect(i))
        return rect.adjusted(-self.left_margin, -10, self.left_margin, 10)
