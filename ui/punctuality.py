"""The punctuality report: the share of departures within ±1, ±2 and ±5 minutes of
the plan, per station or per hour, as a table and a bar chart.

The figures come from ``app/timetable/punctuality.py`` (passenger departures: service
trips, every stop but the destination; an hour is the one the departure was planned
in). The chart is painted with
QPainter (QtCharts would add a module to ship for three bars a row): per row, the
three shares as nested bars, ±5 behind, ±1 in front, on a 0-100 % scale.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QLineF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.model.topology import Line
from app.timetable.actuals import ActualsStore
from app.timetable.punctuality import WINDOWS_S, Figures, punctuality
from app.timetable.punctuality import PunctualityReport as Report
from ui import style
from ui.traingraph_window import clock_text

Translate = Callable[[str], str]

#: the bars, ±1 min (front) to ±5 min (behind)
BAR_COLOURS = (style.GRAPH_ON_TIME, QColor("#5d8f60"), QColor("#44664a"))
BY_STATION, BY_HOUR = 0, 1


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f} %"


class BarChart(QWidget):
    """One row of nested bars per group: the shares within each threshold."""

    def __init__(self, legend: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("punctualityChart")
        self.legend = legend  # the thresholds' names, ±1 first
        self.rows: list[tuple[str, Figures]] = []
        self.setMinimumSize(240, 160)

    def set_rows(self, rows: list[tuple[str, Figures]]) -> None:
        self.rows = rows
        self.update()

    def bar_rect(self, row: int, threshold: int) -> QRectF:
        """Where the bar of ``row`` for ``threshold`` is drawn (empty: no departures)."""
        label_w, top, right = 110.0, 24.0, 12.0
        n = max(1, len(self.rows))
        height = (self.height() - top - 20) / n
        share = self.rows[row][1].shares()[threshold] or 0.0
        width = (self.width() - label_w - right) * share
        inset = height * 0.12 * (2 - threshold)  # ±1 narrowest, in front
        return QRectF(
            label_w, top + row * height + 1 + inset, width, max(1.0, height - 2 - 2 * inset)
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), style.BACKGROUND)
            p.setFont(style.font(8))
            fm = QFontMetricsF(p.font())
            label_w, top = 110.0, 24.0
            x = label_w
            for colour, text in zip(BAR_COLOURS, self.legend, strict=False):
                p.fillRect(QRectF(x, 6, 14, 10), colour)
                p.setPen(style.TEXT_SECONDARY)
                p.drawText(QRectF(x + 18, 2, 80, 18), Qt.AlignmentFlag.AlignVCenter, text)
                x += 24 + fm.horizontalAdvance(text)
            plot_w = self.width() - label_w - 12
            for tenth in range(0, 11, 2):  # a rule each 20 %
                x = label_w + plot_w * tenth / 10
                p.setPen(style.ROW_RULE)
                p.drawLine(QLineF(x, top, x, self.height() - 20))
                p.setPen(style.TEXT_MUTED)
                p.drawText(
                    QRectF(x - 20, self.height() - 18, 40, 16),
                    Qt.AlignmentFlag.AlignCenter,
                    f"{tenth * 10}%",
                )
            for row, (label, _share) in enumerate(self.rows):
                for threshold in (2, 1, 0):
                    p.fillRect(self.bar_rect(row, threshold), BAR_COLOURS[threshold])
                r = self.bar_rect(row, 0)
                p.setPen(style.TEXT_SECONDARY)
                box = QRectF(0, r.center().y() - fm.height() / 2, label_w - 6, fm.height())
                text = fm.elidedText(label, Qt.TextElideMode.ElideRight, box.width())
                p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        finally:
            p.end()


class PunctualityReport(QWidget):
    """The report: per station / per hour tabs, the table, the chart, the day's line."""

    def __init__(
        self,
        line: Line,
        store: ActualsStore,
        tr: Translate,
        parent: QWidget | None = None,
        *,
        english: bool = False,
        refresh_ms: int = 10_000,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("punctualityReport")
        self.line = line
        self.store = store
        self.tr_ = tr
        self.english = english
        self.figures: Report | None = None
        self._generation = -1
        self._order = [s.id for s in sorted(line.stations, key=lambda s: s.km)]
        self.tabs = QTabBar(self)
        self.tabs.setObjectName("punctualityTabs")
        self.tabs.addTab(tr("By station"))
        self.tabs.addTab(tr("By hour"))
        self.tabs.currentChanged.connect(lambda _i: self._show())
        self.summary = QLabel(self)
        self.summary.setObjectName("punctualitySummary")
        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("punctualityTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.chart = BarChart([tr("±{0} min").format(t // 60) for t in WINDOWS_S], self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(self.chart)
        head = QHBoxLayout()
        head.addWidget(self.tabs)
        head.addStretch(1)
        head.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def station_name(self, station: str) -> str:
        s = self.line.station_by_id.get(station)
        if s is None:
            return station
        return s.name_en if self.english else s.name_zh

    def refresh(self) -> None:
        """The figures made again when the store has news and the report is shown (a
        hidden report is brought up to date when it shows)."""
        if self.store.generation == self._generation and self.figures is not None:
            return
        if self.figures is not None and not self.isVisible():
            return
        self._generation = self.store.generation
        self.figures = punctuality(self.store, self._order)
        self._show()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def rows(self) -> list[tuple[str, Figures]]:
        f = self.figures
        if f is None:
            return []
        if self.tabs.currentIndex() == BY_HOUR:
            return [
                (f"{clock_text(h.hour * 3600)}–{clock_text((h.hour + 1) * 3600)}", h.figures)
                for h in f.hours
            ]
        return [(self.station_name(s.station), s.figures) for s in f.stations]

    def _show(self) -> None:
        f = self.figures
        if f is None:
            return
        tr = self.tr_
        first = tr("Station") if self.tabs.currentIndex() == BY_STATION else tr("Hour")
        minutes = [tr("±{0} min").format(t // 60) for t in f.windows_s]
        self.table.setHorizontalHeaderLabels([first, tr("Departures"), *minutes])
        rows = self.rows()
        self.table.setRowCount(len(rows))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, (label, share) in enumerate(rows):
            cells = [label, str(share.departures)] + [percent(x) for x in share.shares()]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(right)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.chart.set_rows(rows)
        day = f.overall.shares()
        self.summary.setText(
            tr("{0} departures: {1} within ±1 min, {2} within ±5 min").format(
                f.overall.departures, percent(day[0]), percent(day[-1])
            )
        )
