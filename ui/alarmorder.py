"""The alarm table's order on screen (issue 18: priority first, and rows that do not jump).

- **Priority first** by default: :func:`app.alarms.rows.list_order_key` (unacknowledged,
  then priority, then newest). A click on a column header sorts by that column; the
  *Priority first* button goes back.
- **Held while worked on**: while a row is selected or the pointer is over the rows,
  a row that changes keeps its place and new rows come at the bottom
  (:class:`app.alarms.rows.OrderHold`, the proxy's keys), and the "n new" button
  counts the alarms that came; when both let go, or "n new" is clicked (which clears
  the selection), only the rows held back move, each to its place (no full sort: a
  full sort of 10 000 rows takes the proxy most of a second). Sorted by a column, the
  proxy simply stops sorting while held and sorts again after.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QItemSelection, QObject, Qt
from PySide6.QtWidgets import QPushButton, QTableView

from app.alarms.model import AlarmChanges
from ui import style
from ui.alarmtable import AlarmFilter, AlarmTableModel

#: The reasons the order holds still.
HOLD_SELECTED = "selected"
HOLD_POINTER = "pointer"


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # lupdate files a bare tr() under ""


class AlarmOrder(QObject):
    """Keeps ``table``'s order: priority first, held while a dispatcher works on it."""

    def __init__(
        self,
        table: QTableView,
        proxy: AlarmFilter,
        model: AlarmTableModel,
        released: Callable[[], None],
    ) -> None:
        super().__init__(table)
        self.table = table
        self.proxy = proxy
        self.model = model
        self.released = released  # told when the order sorts again
        self.hold = proxy.hold
        self.priority_first_button = QPushButton(tr("Priority first"))
        self.priority_first_button.setObjectName("alarmPriorityFirst")
        self.priority_first_button.setToolTip(
            tr("unacknowledged first, then by priority, then newest (the default order)")
        )
        self.priority_first_button.setEnabled(False)
        self.priority_first_button.clicked.connect(self.sort_priority_first)
        self.new_button = QPushButton()
        self.new_button.setObjectName("alarmNew")
        self.new_button.setStyleSheet(
            f"background: {style.ATTENTION.name()}; color: black; font-weight: bold;"
        )
        self.new_button.setToolTip(tr("the list holds its order while you work on it"))
        self.new_button.clicked.connect(self.release)
        self.new_button.hide()
        proxy.sort(0, Qt.SortOrder.AscendingOrder)
        header = table.horizontalHeader()
        header.setSortIndicatorShown(False)  # priority first: no column holds the order
        header.sectionClicked.connect(self._column_clicked)
        table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._viewport = table.viewport()
        self._viewport.installEventFilter(self)

    @property
    def frozen(self) -> bool:
        return self.hold.frozen

    def note(self, changes: AlarmChanges) -> None:
        """Before the model applies ``changes``."""
        self.hold.note(changes)
        if changes.reset and self.hold.frozen:
            self.release()  # a snapshot replaced the list: it is sorted again anyway
        n = self.hold.new_count
        self.new_button.setVisible(n > 0)
        self.new_button.setText(tr("{0} new: click to sort them in").format(n))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._viewport:
            if event.type() == QEvent.Type.Enter:
                self._hold(HOLD_POINTER)
            elif event.type() == QEvent.Type.Leave:
                self._let_go(HOLD_POINTER)
        return super().eventFilter(watched, event)

    def _selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        if self.table.selectionModel().hasSelection():
            self._hold(HOLD_SELECTED)
        else:
            self._let_go(HOLD_SELECTED)

    def _hold(self, reason: str) -> None:
        if self.hold.hold(reason) and not self.proxy.priority_first:
            self.proxy.setDynamicSortFilter(False)

    def _let_go(self, reason: str) -> None:
        moved = self.hold.let_go(reason)
        if moved is None:
            return
        for aid in sorted(moved):
            # one at a time, each to its place, the rest staying: the proxy finds a
            # row's place by a binary search among the others, right only while the
            # rows not yet moved keep the held places they stand in
            self.hold.settle(aid)
            if self.proxy.priority_first:
                self.model.touch({aid})
        if not self.proxy.dynamicSortFilter():
            self.proxy.setDynamicSortFilter(True)  # sorts again
        self.new_button.hide()
        self.released()

    def release(self) -> None:
        """Sort in what came while the order held (the "n new" button)."""
        self.table.clearSelection()
        self._let_go(HOLD_POINTER)
        self._let_go(HOLD_SELECTED)

    def sort_priority_first(self) -> None:
        """Back to the default order (unacknowledged, priority, newest)."""
        self.proxy.priority_first = True
        self.table.horizontalHeader().setSortIndicatorShown(False)
        self.proxy.sort(0, Qt.SortOrder.AscendingOrder)
        self.proxy.invalidate()  # sort() alone does nothing when the column is the same
        self.priority_first_button.setEnabled(False)

    def _column_clicked(self, column: int) -> None:
        # the view has sorted by the column already, with priority first still on
        self.proxy.priority_first = False
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(True)
        self.proxy.sort(column, header.sortIndicatorOrder())
        self.proxy.invalidate()
        self.priority_first_button.setEnabled(True)
