"""The strip above the schematic: the line, live counts, and who is at the desk.

Below :data:`COMPACT_BELOW` pixels wide (a 1366x768 desk) it is compact: the line's
name in the window's language only, the desk as "WS-01 · dispatcher-01", and the
counts of what is abnormal (lost switches, track faults) first, so that what is cut
when the strip is too narrow is never those."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy

from app.model.roles import Role
from app.model.state import SwitchPosition
from ui import style
from ui.bridge import SessionLike
from ui.i18n import active_language
from ui.style import coloured

#: narrower than this (logical pixels), the header is compact
COMPACT_BELOW = 1500


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
        self.row = row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.setSpacing(24)
        self.compact = False
        self._full_name = f"{line.name_zh}  ·  {line.name_en}"
        self._short_name = line.name_en if active_language() == "en" else line.name_zh
        self._full_desk = self.tr("Workstation {0} · {1} ({2})").format(
            session.node, session.dispatcher, self.role_text(Role(session.role))
        )
        self._short_desk = f"{session.node} · {session.dispatcher}"
        self.name_label = name = QLabel(self._full_name)
        font = name.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        name.setFont(font)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("countsLabel")
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.desk_label = desk = QLabel(self._full_desk)
        desk.setToolTip(self._full_desk)
        desk.setStyleSheet(f"color: {style.TEXT_SECONDARY.name()};")
        row.addWidget(name)
        row.addWidget(self.counts_label, 1)
        row.addWidget(desk)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        compact = event.size().width() < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            self.name_label.setText(self._short_name if compact else self._full_name)
            self.desk_label.setText(self._short_desk if compact else self._full_desk)
            self.row.setSpacing(12 if compact else 24)
            self.refresh_counts()

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

        abnormal = [
            count(self.tr("lost"), lost, alarm=True),
            count(self.tr("Track faults"), faults, alarm=True),
        ]
        normal = [
            count(self.tr("Trains"), len(state.trains)),
            count(self.tr("Routes"), len(state.routes)),
            count(self.tr("Occupied"), occupied),
            count(self.tr("Switches reverse"), reverse),
            count(self.tr("moving"), moving),
        ]
        if self.compact:
            self.counts_label.setText("&nbsp;·&nbsp;".join(abnormal + normal))
        else:
            self.counts_label.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(normal + abnormal))
