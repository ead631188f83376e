"""The timetable at the desk (issue 19): the train graph, the delay list, the describer.

Built by the window when its session runs to a timetable (``session.service``, a
:class:`app.session.service.ServiceFeed` with a plan): nothing of it exists otherwise.

- **The train describer** (:class:`ui.trains.Describer`): each train of the plan shows
  its destination and, when it is off time by more than ``on_time_s``, its deviation
  in minutes, early and late in two colours; a train stopped between stations is
  framed in red.
- **The delay list** (:mod:`ui.delaylist`), a dock: trains by delay, with the
  countdown to departure while they stand at a platform.
- **The train graph** (:mod:`ui.traingraph`), a dock that can float on a screen of
  its own, and the punctuality report (:mod:`ui.punctuality`), a dock beside it.
- **One selection**: a train selected on the schematic highlights its line on the
  graph and its row in the list; a click on a line, or a double click on a row,
  selects the train on the schematic and centres it.

Everything refreshes once a second and when actuals arrive (at most once a frame).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFileDialog

from app.model.commands import parse_train_device, train_device
from app.model.state import TrainState
from app.model.topology import TrackKind
from app.session.service import ServiceFeed
from app.timetable.delays import TrainDelay, classify
from app.timetable.times import delay_text
from ui import style
from ui.delaylist import DelayListDock, DelayRow
from ui.host import Host
from ui.i18n import active_language
from ui.punctuality import PunctualityReport
from ui.traingraph import TrainGraph
from ui.trains import Describer

#: how often the describer, the list and the countdowns move on
REFRESH_MS = 1000


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # lupdate files a bare tr() under ""


class TimetableDesk(QObject):
    """The timetable's views in the window, fed by the session's service feed."""

    def __init__(self, host: Host, feed: ServiceFeed) -> None:
        super().__init__(host.main_window)
        assert feed.timetable is not None and feed.store is not None
        self.host = host
        self.feed = feed
        self.timetable = feed.timetable
        self.store = feed.store
        self.on_time_s = on_time_s = feed.on_time_s
        line = host.session.line
        english = active_language() == "en"
        self._names = {s.id: (s.name_en if english else s.name_zh) for s in line.stations}
        self._standing_kinds = {TrackKind.TURNBACK, TrackKind.DEPOT}
        self._platform_sections = {p.section for p in line.platforms}
        # the delay list
        self.delays = DelayListDock(on_time_s, self.station_name, host.main_window)
        host.add_dock(self.delays, Qt.DockWidgetArea.RightDockWidgetArea)
        self.delays.trainActivated.connect(lambda unit: self.select_unit(unit, centre=True))
        # the train graph
        self.graph = TrainGraph(
            line, self.timetable, self.store, self._service_ms, tr, on_time_s=on_time_s
        )
        self.graph_dock = QDockWidget(tr("Train graph"), host.main_window)
        self.graph_dock.setObjectName("trainGraphDock")
        self.graph_dock.setWidget(self.graph)
        host.add_dock(self.graph_dock, Qt.DockWidgetArea.BottomDockWidgetArea, tabbed=True)
        self.graph.tripClicked.connect(self.select_trip)
        # the punctuality report, beside the graph
        self.report = PunctualityReport(line, self.store, tr, english=english)
        self.report_dock = QDockWidget(tr("Punctuality"), host.main_window)
        self.report_dock.setObjectName("punctualityDock")
        self.report_dock.setWidget(self.report)
        host.add_dock(self.report_dock, Qt.DockWidgetArea.BottomDockWidgetArea, tabbed=True)
        host.view.selectionChanged.connect(self._schematic_selected)
        self._export_actions()
        # the clock
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        # a catch-up comes in many messages: one refresh for them, a frame later
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(40)
        self._soon.timeout.connect(self.refresh)
        feed.actuals_changed.connect(self._actuals)
        self.refresh()

    def close(self) -> None:
        """Stop every timer of the desk and its views, and stop listening."""
        self.feed.actuals_changed.disconnect(self._actuals)
        for timer in (*self.findChildren(QTimer), *self.graph.findChildren(QTimer)):
            timer.stop()
        for timer in self.report.findChildren(QTimer):
            timer.stop()

    # -- names and selection ------------------------------------------------------------

    def station_name(self, station: str) -> str:
        return self._names.get(station, station)

    def unit_of_trip(self, trip: str) -> int | None:
        """The unit in service running ``trip`` now (None: none is)."""
        for t in self.host.session.state.trains.values():
            if t.number == trip:
                return t.id
        return None

    def select_trip(self, trip: str) -> None:
        """A line clicked on the graph: its train selected and centred on the schematic."""
        unit = self.unit_of_trip(trip)
        if unit is None:
            self.graph.highlight_trip(trip)
            self.host.show_status(tr("Trip {0} is not running now").format(trip))
            return
        self.select_unit(unit, centre=True)

    def select_unit(self, unit: int, *, centre: bool = False) -> None:
        device = train_device(unit)
        self.host.view.select(device)
        if centre:
            self.host.focus_device(device)

    def _schematic_selected(self, device: str) -> None:
        unit = parse_train_device(device) if device else None
        train = self.host.session.state.trains.get(unit) if unit is not None else None
        if train is not None and train.number in self.timetable.trip_by_number:
            self.graph.highlight_trip(train.number)
            self.delays.select_unit(train.id)
        else:
            self.graph.highlight_trip(None)

    # -- refresh --------------------------------------------------------------------------

    def _service_ms(self) -> int:
        now = self.feed.now_ms()
        return now if now is not None else 0

    def _actuals(self, _news: object) -> None:
        if not self._soon.isActive():
            self._soon.start()

    def refresh(self) -> None:
        trains = self.host.session.state.trains
        planned = {tid: t for tid, t in trains.items() if t.number in self.timetable.trip_by_number}
        delays = self.feed.delays(planned)
        now = self.feed.now_ms()
        rows = []
        for tid, item in self.host.scene.train_items.items():
            train = planned.get(tid)
            item.set_describer(None if train is None else self.describe(train, delays.get(tid)))
        for tid, train in planned.items():
            rows.append(self._row(train, delays.get(tid), now))
        self.delays.show_rows(rows)

    def describe(self, train: TrainState, delay: TrainDelay | None) -> Describer:
        trip = self.timetable.trip_by_number[train.number]
        # turning back into its next trip, a train carries the delay of the one before
        seconds = delay.delay_s if delay is not None else None
        p = classify(seconds, self.on_time_s)
        deviation = "" if seconds is None or abs(seconds) <= self.on_time_s else delay_text(seconds)
        return Describer(trip.destination, deviation, p, self.stopped(train))

    def stopped(self, train: TrainState) -> bool:
        """Standing still between stations (not at a platform, a turnback or the depot)."""
        if train.speed_kmh > 0.5 or train.held:
            return False
        if train.section in self._platform_sections:
            return False
        sec = self.host.session.line.section_by_id.get(train.section)
        return sec is not None and sec.kind not in self._standing_kinds

    def _row(self, train: TrainState, delay: TrainDelay | None, now: int | None) -> DelayRow:
        trip = self.timetable.trip_by_number[train.number]
        if delay is None:
            return DelayRow(train.id, train.number, trip.destination, None, "", False, None)
        if delay.trip != train.number:  # turning back: the last trip's delay, no countdown
            last = self.timetable.trip_by_number[delay.trip].stops[delay.order]
            return DelayRow(
                train.id, train.number, trip.destination, delay.delay_s, last.station, True, None
            )
        stop = trip.stops[delay.order]
        departs_in = None
        if delay.standing and now is not None and delay.order < len(trip.stops) - 1:
            departs_in = (stop.depart_s * 1000 - now) / 1000
        return DelayRow(
            train.id,
            train.number,
            trip.destination,
            delay.delay_s,
            stop.station,
            delay.standing,
            departs_in,
        )

    # -- export ---------------------------------------------------------------------------

    def _export_actions(self) -> None:
        menu = self.host.view_menu
        menu.addSeparator()
        for text, slot in (
            (tr("Export the train graph as PDF…"), self._export_pdf),
            (tr("Export the train graph as PNG…"), self._export_png),
        ):
            action = QAction(text, self.host.main_window)
            action.triggered.connect(slot)
            menu.addAction(action)

    def _export(self, export: Callable[[str], None], path: str) -> None:
        try:
            export(path)
        except OSError as exc:  # the reason and the path in the message
            self.host.show_status(tr("Not exported: {0}").format(exc), style.LINK_DOWN)
            return
        self.host.log_event(tr("Train graph exported to {0}").format(path))

    def _export_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.host.main_window, tr("Export the train graph"), "train-graph.pdf", "PDF (*.pdf)"
        )
        if path:
            self._export(self.graph.export_pdf, path)

    def _export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.host.main_window, tr("Export the train graph"), "train-graph.png", "PNG (*.png)"
        )
        if path:
            self._export(self.graph.export_png, path)


def install(host: Host) -> TimetableDesk | None:
    """The timetable's views, if the window's session runs to a timetable."""
    feed = getattr(host.session, "service", None)
    if not isinstance(feed, ServiceFeed) or feed.timetable is None:
        return None
    return TimetableDesk(host, feed)
