"""The schematic scene: built from a Line, updated from LineState + Changes, folded in rows."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QContextMenuEvent
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
from ui import style
from ui.items import SectionItem, SignalItem, SwitchItem
from ui.layout import Layout
from ui.schematic import SchematicScene, SchematicView
from ui.trains import TrainItem

pytestmark = pytest.mark.ui


def distance_to_segment(p: QPointF, a: QPointF, b: QPointF) -> float:
    ax, ay, bx, by, px, py = a.x(), a.y(), b.x(), b.y(), p.x(), p.y()
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def on_section(item: SectionItem, p: QPointF, tol: float = 1e-6) -> bool:
    return any(
        distance_to_segment(p, item.mapToScene(piece.line.p1()), item.mapToScene(piece.line.p2()))
        <= tol
        for piece in item.pieces
    )


def synced(line: Line) -> LineState:
    state = LineState(line)
    state.apply_snapshot(StateSnapshot(seq=1))
    return state


def train(section: str, offset: float, tid: int = 7, number: str = "0701") -> TrainState:
    return TrainState(tid, number, section, offset, 40.0, Direction.DOWN)


def test_one_item_per_device(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    assert set(scene.section_items) == {s.id for s in line.sections}
    assert set(scene.switch_items) == {s.id for s in line.switches}
    assert set(scene.signal_items) == {s.id for s in line.signals}
    in_scene = set(scene.items())
    kinds = {SectionItem: 0, SwitchItem: 0, SignalItem: 0}
    for item in in_scene:
        for kind in kinds:
            if isinstance(item, kind):
                kinds[kind] += 1
    assert kinds == {
        SectionItem: len(line.sections),
        SwitchItem: len(line.switches),
        SignalItem: len(line.signals),
    }
    # a scene that is never indexed: items move (trains) and recolour all the time
    assert scene.itemIndexMethod() is scene.ItemIndexMethod.NoIndex


def test_train_marker_moves_onto_the_new_section(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = synced(line)
    scene.apply(state, Changes(full=True))
    assert scene.train_items == {}

    changes = state.apply_train(train("DAB", 300.0))
    scene.apply(state, changes)
    marker = scene.train_items[7]
    assert isinstance(marker, TrainItem)
    assert on_section(scene.section_items["DAB"], marker.scenePos())
    assert not on_section(scene.section_items["PDB"], marker.scenePos())
    first = marker.scenePos()

    changes = state.apply_train(train("PDB", 70.0))
    scene.apply(state, changes)
    assert scene.train_items[7] is marker, "the same marker moves, none is added"
    pos = marker.scenePos()
    assert on_section(scene.section_items["PDB"], pos)
    assert not on_section(scene.section_items["DAB"], pos)
    assert pos.x() > first.x(), "DOWN runs to the right"
    # offset 70 m of 140 m: the middle of the drawn segment
    piece = scene.section_items["PDB"].pieces[0].line
    assert pos.x() == pytest.approx(piece.center().x())
    assert marker.train.number == "0701"


def test_train_removed_and_snapshot_resets(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = synced(line)
    scene.apply(state, state.apply_train(train("DAB", 10.0, tid=1)))
    scene.apply(state, state.apply_train(train("PUA", 10.0, tid=2)))
    assert set(scene.train_items) == {1, 2}
    delta = StateDelta(seq=2, trains_removed=(1,))
    scene.apply(state, state.apply_delta(delta))
    assert set(scene.train_items) == {2}
    snap = StateSnapshot(seq=10, trains=(train("UAB", 5.0, tid=3),))
    scene.apply(state, state.apply_snapshot(snap))
    assert set(scene.train_items) == {3}
    assert len([i for i in scene.items() if isinstance(i, TrainItem)]) == 1


def test_only_changed_items_update(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = synced(line)
    scene.apply(state, Changes(full=True))
    before = {sid: item.record for sid, item in scene.section_items.items()}
    delta = StateDelta(
        seq=2,
        sections=(SectionState("DAB", occupied=True),),
        signals=(SignalState("XPDA", Aspect.PROCEED),),
        switches=(SwitchState("W1", SwitchPosition.REVERSE),),
    )
    changes = state.apply_delta(delta)
    scene.apply(state, changes)
    assert scene.section_items["DAB"].record.occupied
    assert scene.section_items["DAB"].colour()[0] == style.TRACK_OCCUPIED
    assert scene.signal_items["XPDA"].lamp_colour() is not None
    assert scene.switch_items["W1"].record.position is SwitchPosition.REVERSE
    # the leg the points do not lie in is cut open at the switch end; the other is whole
    assert scene.section_items["DBX"].gaps[1] > 0
    assert scene.section_items["CB"].gaps[1] == 0
    unchanged = {sid for sid in before if scene.section_items[sid].record is before[sid]}
    assert unchanged == set(before) - {"DAB"}


def test_stale_state_greys_out_and_shows_banner(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = synced(line)
    scene.apply(state, Changes(full=True))
    assert not scene.banner.isVisible()
    state.invalidate()
    scene.apply(state, Changes())
    assert scene.banner.isVisible()
    assert all(item.stale for item in scene.section_items.values())
    assert scene.signal_items["XPDA"].lamp_colour() is None


def test_layout_folds_rows_and_trains_follow(qtbot: QtBot, line: Line) -> None:
    lay = Layout(line, stations_per_row=2)
    assert len(lay.rows) == 2
    split = lay.splits[0]
    assert 200 < split < 300
    assert [s.id for s in lay.rows[0].stations] == ["A", "B"]
    assert [s.id for s in lay.rows[1].stations] == ["C"]
    # both rows start at the left margin; the second lies below the first
    assert lay.point(lay.rows[1].x_start, 0, prefer=split + 1).x() == pytest.approx(lay.left_margin)
    assert lay.row_rect(1).top() > lay.row_rect(0).bottom()
    scene = SchematicScene(line, lay)
    state = synced(line)
    scene.apply(state, state.apply_train(train("PDC", 20.0)))
    marker = scene.train_items[7]
    assert on_section(scene.section_items["PDC"], marker.scenePos())
    assert lay.row_rect(1).contains(marker.scenePos())


def test_a_section_across_the_cut_is_drawn_on_both_rows(qtbot: QtBot, line: Line) -> None:
    lay = Layout(line, stations_per_row=2)
    lay.splits[0] = 250.0  # force a cut through DBC (240..285)
    lay.rows = lay._build_rows()
    pieces = lay.pieces(240, 0, 285, 0)
    assert [p.row for p in pieces] == [0, 1]
    assert pieces[0].cut_end and pieces[1].cut_start
    # a point along it lands on the piece of its own row
    sec = line.section_by_id["DBC"]
    p = lay.along(sec, sec.length_m * 0.9)
    assert distance_to_segment(p, pieces[1].line.p1(), pieces[1].line.p2()) < 1e-6


def test_view_zoom_and_fit(qtbot: QtBot, line: Line) -> None:
    view = SchematicView(SchematicScene(line))
    qtbot.addWidget(view)
    view.resize(800, 400)
    view.zoom_to_fit()
    fit = view.zoom()
    view.zoom_by(2.0)
    assert view.zoom() == pytest.approx(2 * fit)
    assert not view.auto_fit
    view.zoom_to_fit()
    assert view.zoom() == pytest.approx(fit)
    assert view.auto_fit


def test_right_click_on_a_switch_or_signal_asks_for_its_menu(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    view = SchematicView(scene)
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    view.zoom_to_fit()
    view.zoom_by(3.0)
    for name, item, sig in (
        ("W1", scene.switch_items["W1"], view.switchMenuRequested),
        ("XPDB", scene.signal_items["XPDB"], view.signalMenuRequested),
    ):
        view.centerOn(item)
        hit = item.mapToScene(item.shape().boundingRect().center())
        at = view.mapFromScene(hit)
        event = QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at)
        )
        with qtbot.waitSignal(sig, timeout=1000) as blocker:
            view.contextMenuEvent(event)
        assert blocker.args is not None and blocker.args[0] == name


def test_tooltips_say_since_when_for_a_clock_time_only(qtbot: QtBot, line: Line) -> None:
    import datetime as dt

    scene = SchematicScene(line)
    state = synced(line)
    scene.apply(state, Changes(full=True))
    from zoneinfo import ZoneInfo

    # shown in the line's time zone, whatever the machine's
    when = dt.datetime(2026, 11, 29, 14, 2, 37, tzinfo=ZoneInfo(line.timezone))
    ms = int(when.timestamp() * 1000)
    delta = StateDelta(
        seq=2,
        sections=(SectionState("DAB", occupied=True, since_ms=ms),),
        switches=(SwitchState("W1", SwitchPosition.REVERSE, since_ms=ms),),
        signals=(SignalState("XPDA", Aspect.PROCEED, since_ms=5_000),),  # simulated time
    )
    scene.apply(state, state.apply_delta(delta))
    assert "14:02:37" in scene.section_items["DAB"].toolTip()
    assert "14:02:37" in scene.switch_items["W1"].toolTip()
    tip = scene.signal_items["XPDA"].toolTip()
    assert "XPDA" in tip and "since" not in tip


def test_trains_close_together_are_stacked_not_overlaid(qtbot: QtBot, line: Line) -> None:
    scene = SchematicScene(line)
    state = synced(line)
    close = (train("DAB", 10.0, 1, "0101"), train("DAB", 25.0, 2, "0201"))
    state.apply_snapshot(StateSnapshot(seq=1, trains=close))
    scene.apply(state, Changes(full=True))
    a, b = scene.train_items[1], scene.train_items[2]
    assert {a.tier, b.tier} == {0, 1}
    assert not a.mapRectToScene(a.box()).intersects(b.mapRectToScene(b.box()))
    # once apart again, both go back next to the track
    changes = state.apply_train(TrainState(2, "0201", "CB", 10.0, 40.0, Direction.DOWN))
    scene.apply(state, changes)
    assert (a.tier, b.tier) == (0, 0)
