"""Help → Legend (F1) is a real legend: each symbol of the schematic drawn large, named in
Chinese and in English, with what it means; the strip under the schematic draws the same
symbols (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.model.topology import Line
from ui.legend import ENTRIES, LegendDialog, LegendSymbol
from ui.schematic import SchematicScene

pytestmark = pytest.mark.ui


def test_the_large_legend_shows_every_symbol_large_in_both_languages(qtbot: QtBot) -> None:
    dialog = LegendDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert len(dialog.rows) == len(ENTRIES) >= 15
    by_english = {en: (zh, meaning) for zh, en, meaning in dialog.rows}
    # the Chinese names come from the shipped catalogue, whatever the window's language
    assert by_english["occupied"][0] == "占用"
    assert by_english["switch lost"][0] == "道岔失表"
    assert all(zh and zh != en for zh, en, _ in dialog.rows), dialog.rows
    assert all(meaning for _, _, meaning in dialog.rows)
    symbols = [
        label for label in dialog.findChildren(QLabel) if label.objectName().startswith("legend_")
    ]
    assert len(symbols) == len(ENTRIES)
    # drawn large: a lamp of 5.4 scene units is over 30 px across
    assert all(s.pixmap().height() >= 50 for s in symbols)
    # it is not a slice of the line: no graphics view in it
    from PySide6.QtWidgets import QGraphicsView

    assert dialog.findChildren(QGraphicsView) == []


def test_the_strip_under_the_schematic_draws_the_same_entries(qapp: Any, line: Line) -> None:
    scene = SchematicScene(line)
    drawn = [(i.kind, i.colour.name()) for i in scene.items() if isinstance(i, LegendSymbol)]
    assert len(drawn) == len(ENTRIES)
    assert all(
        scene.legend_rect.contains(i.scenePos())
        for i in scene.items()
        if isinstance(i, LegendSymbol)
    )
