"""Abnormal states must not be told by hue alone (ISA-101; about 1 man in 12 is colour-blind).

Each abnormal state of a device is drawn twice, in its normal state and in
the abnormal one, and both pictures are reduced to grey (luminance only, as
a person with no colour vision sees them). The abnormal one must still differ
in enough pixels: a shape, a pattern or a mark, not only a colour.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from pytestqt.qtbot import QtBot

from app.model.state import (
    Aspect,
    Changes,
    LineState,
    SectionState,
    SignalState,
    StateDelta,
    StateSnapshot,
    SwitchPosition,
    SwitchState,
    TrainState,
)
from app.model.topology import Direction, Line
from ui.schematic import SchematicScene

pytestmark = pytest.mark.ui

SCALE = 8  # pixels per scene unit: small symbols, drawn large
GREY_STEP = 48  # a difference of grey a person sees at a glance (of 255)
MIN_PIXELS = 30


def grey_picture(scene: SchematicScene, rect: QRectF) -> QImage:
    image = QImage(
        int(rect.width() * SCALE), int(rect.height() * SCALE), QImage.Format.Format_RGB32
    )
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_Grayscale8)


def grey_difference(a: QImage, b: QImage) -> int:
    """How many pixels differ in grey by at least GREY_STEP."""
    assert a.size() == b.size()
    width = a.width()
    count = 0
    for y in range(a.height()):
        ra = bytes(a.constScanLine(y))[:width]
        rb = bytes(b.constScanLine(y))[:width]
        count += sum(1 for pa, pb in zip(ra, rb, strict=True) if abs(pa - pb) >= GREY_STEP)
    return count


Change = Callable[[Line], StateDelta]


def one(**kw: object) -> Change:
    return lambda line: StateDelta(seq=2, **kw)  # type: ignore[arg-type]


CASES: dict[str, tuple[str, str, Change]] = {
    "section fault": ("section", "DAB", one(sections=(SectionState("DAB", fault=True),))),
    "section occupied": ("section", "DAB", one(sections=(SectionState("DAB", occupied=True),))),
    "switch lost": ("switch", "W1", one(switches=(SwitchState("W1", SwitchPosition.LOST),))),
    "switch moving": ("switch", "W1", one(switches=(SwitchState("W1", SwitchPosition.MOVING),))),
    "switch blocked": ("switch", "W1", one(switches=(SwitchState("W1", blocked=True),))),
    "switch locked": ("switch", "W1", one(switches=(SwitchState("W1", locked=True),))),
    "signal closed": (
        "signal",
        "XPDA",
        one(signals=(SignalState("XPDA", Aspect.STOP, closed=True),)),
    ),
    "signal dark": ("signal", "XPDA", one(signals=(SignalState("XPDA", Aspect.DARK),))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_abnormal_states_differ_in_grey_not_only_in_hue(
    qtbot: QtBot, line: Line, case: str
) -> None:
    kind, device, change = CASES[case]
    scene = SchematicScene(line)
    state = LineState(line)
    state.apply_snapshot(StateSnapshot(seq=1))
    scene.apply(state, Changes(full=True))
    items = {"section": scene.section_items, "switch": scene.switch_items}
    item = items.get(kind, scene.signal_items)[device]
    rect = item.sceneBoundingRect().adjusted(-4, -4, 4, 4)
    normal = grey_picture(scene, rect)
    scene.apply(state, state.apply_delta(change(line)))
    abnormal = grey_picture(scene, rect)
    assert grey_difference(normal, abnormal) >= MIN_PIXELS, case


def test_a_held_train_differs_in_grey(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = LineState(line)
    running = TrainState(7, "0701", "DAB", 20.0, 40.0, Direction.DOWN)
    state.apply_snapshot(StateSnapshot(seq=1, trains=(running,)))
    scene.apply(state, Changes(full=True))
    rect = scene.train_items[7].sceneBoundingRect().adjusted(-6, -6, 6, 6)
    normal = grey_picture(scene, rect)
    held = TrainState(7, "0701", "DAB", 20.0, 0.0, Direction.DOWN, held=True)
    scene.apply(state, state.apply_train(held))
    assert grey_difference(normal, grey_picture(scene, rect)) >= MIN_PIXELS
