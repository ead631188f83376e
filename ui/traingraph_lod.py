"""Levels of detail for the train graph's lines (plain Python, no Qt).

Zoomed out, a trip of a hundred stops spans a few dozen pixels: most of its points
fall on the straight line between their neighbours. A level is a scale of
``2**level`` seconds a pixel; at each, a line keeps only the points that move it by
more than half a pixel (Douglas-Peucker, in pixels of that level). A frame uses the
finest level not coarser than its own scale, so what is left out is never more than
half a pixel away. Below :data:`FIRST_LEVEL` every point is drawn.
"""

from __future__ import annotations

import math
from array import array
from typing import Final

Point = tuple[float, float]

#: 2 s a pixel: finer than this a line is drawn whole
FIRST_LEVEL: Final = 1
#: 128 s a pixel: a day of 24 h on 675 pixels
LAST_LEVEL: Final = 7
TOLERANCE_PX: Final = 0.5


def level_for(px_per_s: float) -> int | None:
    """The level a frame at ``px_per_s`` draws with (None: every point)."""
    if px_per_s <= 0:
        return LAST_LEVEL
    level = math.floor(math.log2(1 / px_per_s))
    if level < FIRST_LEVEL:
        return None
    return min(level, LAST_LEVEL)


class Points:
    """A line's points, (t_s, km) each, in two ``array`` columns: 16 bytes a point
    (a list of tuples costs some 100)."""

    __slots__ = ("km", "t")

    def __init__(self) -> None:
        self.t = array("d")
        self.km = array("d")

    def add(self, t: float, km: float) -> None:
        self.t.append(t)
        self.km.append(km)

    def __len__(self) -> int:
        return len(self.t)

    def at(self, i: int) -> Point:
        return self.t[i], self.km[i]


def simplify(points: Points, lo: int, hi: int, level: int, px_per_km: float) -> list[int]:
    """The indices in ``points[lo..hi]`` (both kept) of the points that are more than
    half a pixel off the line through the ones kept, at ``level`` and ``px_per_km``."""
    if hi - lo < 2:
        return list(range(lo, hi + 1))
    sx = 1.0 / (1 << level)
    xs = [t * sx for t in points.t[lo : hi + 1]]
    ys = [k * px_per_km for k in points.km[lo : hi + 1]]
    n = len(xs)
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    tol2 = TOLERANCE_PX * TOLERANCE_PX
    while stack:
        a, b = stack.pop()
        ax, ay = xs[a], ys[a]
        dx, dy = xs[b] - ax, ys[b] - ay
        length2 = dx * dx + dy * dy
        best, at = -1.0, -1
        if length2 == 0:
            for i in range(a + 1, b):
                d = (xs[i] - ax) ** 2 + (ys[i] - ay) ** 2
                if d > best:
                    best, at = d, i
        else:
            for i in range(a + 1, b):
                c = (xs[i] - ax) * dy - (ys[i] - ay) * dx
                d = c * c / length2
                if d > best:
                    best, at = d, i
        if best > tol2:
            keep[at] = True
            if at - a > 1:
                stack.append((a, at))
            if b - at > 1:
                stack.append((at, b))
    return [lo + i for i, k in enumerate(keep) if k]
