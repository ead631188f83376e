"""The strip above the schematic: the line, live counts, and who is at the desk."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy

from app.model.roles import Role
from app.model.state import SwitchPosition
from ui import style
from ui.bridge import SessionLike
from ui.style import coloured


class Header(QFrame):
    def __init__(self, session: SessionLike) -> None:
        super().__init__()
        self.session = session
        line = session.line
        self.setObjectName("header")
        self.setStyleSheet(
            "QFrame#header { background: #1d2024; border-bottom: 1px solid #3a4047; }"
            "QLabel { color: #e6e9ed; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.setSpacing(24)
        name = QLabel(f"{line.name_zh}  ·  {line.name_en}")
        font = name.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        name.setFont(font)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("countsLabel")
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        desk = QLabel(
            self.tr("Workstation {0} · {1} ({2})").format(
                session.node, session.dispatcher, self.role_text(Role(session.role))
            )
        )
        desk.setStyleSheet(f"color: {style.TEXT_SECONDARY.name()};")
        row.addWidget(name)
        row.addWidget(self.counts_label, 1)
        row.addWidget(desk)

    def role_text(self, role: Role) -> str:
        return {
            Role.DISPATCHER: self.tr("dispatcher"),
            Role.SUPERVISOR: self.tr("supervisor"),
            Role.OBSERVER: self.tr("observer"),
        }[role]

    def refresh_counts(self) -> None:
        state = self.session.state
        if not state.synchronised:
            self.counts_label.setText(coloured(style.ATTENTION, self.tr("no live data")))
            return
        occupied = sum(1 for s in state.sections.values() if s.occupied)
        faults = sum(1 for s in state.sections.values() if s.fault)
        moving = sum(1 for w in state.switches.values() if w.position is SwitchPosition.MOVING)
        lost = sum(1 for w in state.switches.values() if w.position is SwitchPosition.LOST)
        reverse = sum(1 for w in state.switches.values() if w.position is SwitchPosition.REVERSE)

        def count(text: str, n: int, alarm: bool = False) -> str:
            value = str(n)
            if alarm and n:
                value = coloured(style.TRACK_OCCUPIED, f"<b>{n}</b>")
            return f"{text} {value}"

        parts = [
            count(self.tr("Trains"), len(state.trains)),
            count(self.tr("Routes"), len(state.routes)),
            count(self.tr("Occupied"), occupied),
            count(self.tr("Switches reverse"), reverse),
            count(self.tr("moving"), moving),
            count(self.tr("lost"), lost, alarm=True),
            count(self.tr("Track faults"), faults, alarm=True),
        ]
        self.counts_label.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(parts))
