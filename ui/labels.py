"""Device ids laid out apart: no id over another, over a signal's lamp or on a track.

Each switch, signal and section draws its id at ``label_at`` (item coordinates),
by default beside its symbol on the side away from the track. Where two devices
stand at one joint (a switch under a signal, the two signals of one joint:
SD0607a and XD0607a), the defaults overlap. :func:`place_labels` runs once when
the scene is built: switches first, then signals, then sections, each id takes
the first place near its default that is clear of the ids already placed, the
lamps and the tracks (further out from the track, then to either side).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QPointF, QRectF

from ui.items import LAMP_R, SectionItem, SignalItem, SwitchItem, id_rect

#: the step an id is moved by, away from the track (scene units)
STEP = 2.4
#: how many steps out at most
STEPS = 5
#: the gap kept between two ids: across (x) and along the track (y)
GAP = 1.0
GAP_Y = 0.3
#: a section's id goes at most this many steps out (it is long: sideways is better)
SECTION_STEPS = 2


def _candidates(at: QPointF, out: float, width: float, steps: int = STEPS) -> list[QPointF]:
    """Places to try, nearest first: out from the track, then shifted sideways, then in."""
    places = [at + QPointF(0, out * k * STEP) for k in range(steps + 1)]
    for k in range(steps):
        for dx in (width * 0.55 + GAP, -(width * 0.55 + GAP)):
            places.append(at + QPointF(dx, out * k * STEP))
    places += [at + QPointF(0, -out * k * STEP) for k in range(1, 3)]
    return places


class _Grid:
    """Rectangles binned by x, so that a label is checked only against its neighbours."""

    BIN = 40.0

    def __init__(self) -> None:
        self.bins: dict[int, list[QRectF]] = {}

    def _keys(self, rect: QRectF) -> range:
        return range(int(rect.left() // self.BIN) - 1, int(rect.right() // self.BIN) + 2)

    def add(self, rect: QRectF) -> None:
        for key in range(int(rect.left() // self.BIN), int(rect.right() // self.BIN) + 1):
            self.bins.setdefault(key, []).append(rect)

    def near(self, rect: QRectF) -> list[QRectF]:
        out: list[QRectF] = []
        for key in self._keys(rect):
            out += self.bins.get(key, ())
        return out


def _clear(rect: QRectF, taken: Iterable[QRectF]) -> bool:
    padded = rect.adjusted(-GAP, -GAP_Y, GAP, GAP_Y)
    return not any(padded.intersects(other) for other in taken)


def _overlap(rect: QRectF, taken: Iterable[QRectF]) -> float:
    total = 0.0
    for other in taken:
        both = rect.intersected(other)
        total += both.width() * both.height()
    return total


def place_labels(
    switches: Sequence[SwitchItem],
    signals: Sequence[SignalItem],
    sections: Sequence[SectionItem],
) -> int:
    """Move every id clear of the others, the lamps and the tracks; returns how many
    found no clear place (each is put where it overlaps least)."""
    obstacles = _Grid()
    for sig in signals:
        lamp = sig.mapToScene(sig.lamp_centre())
        r = LAMP_R + 0.6
        obstacles.add(QRectF(lamp.x() - r, lamp.y() - r, 2 * r, 2 * r))
    for sec in sections:
        for piece in sec.pieces:
            half = sec.width / 2 + 0.2
            obstacles.add(
                QRectF(piece.line.p1(), piece.line.p2()).normalized().adjusted(0, -half, 0, half)
            )
    placed = _Grid()
    stuck = 0
    items: list[tuple[SwitchItem | SignalItem | SectionItem, str]] = [
        (sw, sw.switch.id) for sw in switches
    ]
    items += [(sig, sig.signal.id) for sig in signals]
    items += [(sec, sec.section.id) for sec in sections]
    for item, text in items:
        at = item.label_at
        if at is None:
            continue
        default = id_rect(text, item.mapToScene(at))
        chosen = None
        span = getattr(item, "label_span", None)
        steps = STEPS if span is None else SECTION_STEPS
        places = _candidates(at, item.label_out, default.width(), steps)
        if span is not None:
            # a section's id stays along its own track
            half = default.width() / 2
            places = [
                p
                for p in places
                if p.x() == at.x() or (span[0] <= p.x() - half and p.x() + half <= span[1])
            ]
        for place in places:
            rect = id_rect(text, item.mapToScene(place))
            if _clear(rect, placed.near(rect)) and _clear(rect, obstacles.near(rect)):
                chosen = (place, rect)
                break
        if chosen is None:
            # no clear place: the one overlapping least
            stuck += 1
            chosen = min(
                ((place, id_rect(text, item.mapToScene(place))) for place in places),
                key=lambda pr: (
                    _overlap(pr[1], placed.near(pr[1])) * 2 + _overlap(pr[1], obstacles.near(pr[1]))
                ),
            )
        if chosen[0] != at:
            item.set_label_at(chosen[0])
        placed.add(chosen[1])
    return stuck
