"""How sections join end to end, derived from the topology's geometry.

A section has two ends: end 0 at ``(x0, y0)`` and end 1 at ``(x1, y1)``. A
plain link joins the two closest ends of its sections; a switch joins the ends
of its root and legs that lie at the switch's point. Traversing a switch needs
it lying in the position of the leg being used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.model.topology import Line, Section, SwitchLeg


@dataclass(frozen=True, slots=True)
class Join:
    section: str
    end: int
    switch: str | None = None
    needs: SwitchLeg | None = None


def end_point(section: Section, end: int) -> tuple[float, float]:
    return (section.x0, section.y0) if end == 0 else (section.x1, section.y1)


def nearest_end(section: Section, x: float, y: float) -> int:
    d0 = math.dist((section.x0, section.y0), (x, y))
    d1 = math.dist((section.x1, section.y1), (x, y))
    return 0 if d0 <= d1 else 1


class TrackGraph:
    def __init__(self, line: Line) -> None:
        self.line = line
        self.joins: dict[tuple[str, int], list[Join]] = {}
        secs = line.section_by_id
        for link in line.links:
            a, b = secs[link.a], secs[link.b]
            ea, eb = min(
                ((i, j) for i in (0, 1) for j in (0, 1)),
                key=lambda ij: math.dist(end_point(a, ij[0]), end_point(b, ij[1])),
            )
            self._add(a.id, ea, Join(b.id, eb))
            self._add(b.id, eb, Join(a.id, ea))
        for sw in line.switches:
            root = secs[sw.root]
            er = nearest_end(root, sw.x, sw.y)
            for leg in SwitchLeg:
                other = secs[sw.leg(leg)]
                eo = nearest_end(other, sw.x, sw.y)
                self._add(root.id, er, Join(other.id, eo, sw.id, leg))
                self._add(other.id, eo, Join(root.id, er, sw.id, leg))

    def _add(self, section: str, end: int, join: Join) -> None:
        self.joins.setdefault((section, end), []).append(join)

    def ahead(self, section: str, exit_end: int, positions: Mapping[str, str]) -> Join | None:
        """The section a train leaving ``section`` by ``exit_end`` enters, if the way is set."""
        for join in self.joins.get((section, exit_end), ()):
            if join.switch is None or positions.get(join.switch) == join.needs:
                return join
        return None

    def is_dead_end(self, section: str, end: int) -> bool:
        return not self.joins.get((section, end))
