"""Alarm annunciation in the window (ISA-18.2, ``docs/alarms.md``).

- the *Alarms* dock (:mod:`ui.alarmlist`): bottom, in front of the logs, the one
  a dispatcher watches most;
- a dashed ring, blinking, around every device on the schematic with an
  unacknowledged alarm;
- the alarm feed's state in the status bar: live, catching up, STALE with the time since.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, QObject, Qt, QTimer
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QDockWidget, QGraphicsEllipseItem, QLabel

from app.alarms.consumer import FeedState
from app.alarms.service import AlarmService
from app.iscs.messages import HandoffKind
from app.model.roles import Role
from ui import style
from ui.alarmlist import AlarmDock
from ui.host import Host
from ui.iscsactions import IscsActions
from ui.items import Z
from ui.style import coloured

BLINK_MS = 500


class AlarmAnnunciation(QObject):
    def __init__(self, host: Host, alarms: AlarmService, label: QLabel, iscs: IscsActions) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.alarms = alarms
        self.label = label  # in the status bar
        self.marks: dict[str, QGraphicsEllipseItem] = {}
        line = host.session.line
        self.dock = AlarmDock(
            alarms,
            language="en" if QLocale().name().startswith("en") else "zh_CN",
            tz=host.tz,
            station_name=lambda sid: (
                line.station_by_id[sid].name_zh if sid in line.station_by_id else sid
            ),
            stations=[(s.id, f"{s.name_zh} {s.name_en}") for s in line.stations],
            zones=[z.id for z in line.zones],
            can_acknowledge=Role(host.session.role).may_command,
            parent=host.main_window,
        )
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        # The alarm list is what a dispatcher watches most: bottom, in front of the logs.
        host.add_dock(self.dock, Qt.DockWidgetArea.BottomDockWidgetArea, tabbed=True)
        self.dock.raise_()
        self.dock.focusDevice.connect(host.focus_device)
        self.dock.openInIscs.connect(
            lambda aid, device, station: iscs.open(
                HandoffKind.SHOW_ALARM, alarm_id=aid, device=device, station=station
            )
        )
        self.dock.set_iscs_available(iscs.available)
        self.dock.message.connect(host.log_event)
        self.dock.bridge.changed.connect(lambda _c: self.refresh_marks())
        self.dock.bridge.statusChanged.connect(lambda _s: self.refresh_label())
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._toggle_marks)
        self._blink.start()
        self.refresh_label()

    def refresh_marks(self) -> None:
        """A ring around every device with an unacknowledged alarm (it blinks)."""
        scene = self.host.scene
        wanted = {d for d in self.alarms.list.unacked_devices() if scene.device_item(d)}
        for device in list(self.marks):
            if device not in wanted:
                scene.removeItem(self.marks.pop(device))
        for device in wanted - set(self.marks):
            item = scene.device_item(device)
            assert item is not None
            centre = item.sceneBoundingRect().center()
            ring = QGraphicsEllipseItem(centre.x() - 7, centre.y() - 7, 14, 14)
            pen = QPen(style.ATTENTION, 1.6)
            pen.setStyle(Qt.PenStyle.DashLine)  # a shape, not only a colour
            ring.setPen(pen)
            ring.setZValue(Z.BANNER)
            ring.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            scene.addItem(ring)
            self.marks[device] = ring

    def _toggle_marks(self) -> None:
        for ring in self.marks.values():
            ring.setVisible(not ring.isVisible())

    def refresh_label(self) -> None:
        """The feed's state in the status bar (the stale time moves on: every second)."""
        st = self.alarms.status
        stale = self.alarms.stale_for_s()
        if stale is not None:
            text = coloured(
                style.LINK_DOWN, "■ " + self.tr("ALARMS STALE {0} s").format(int(stale))
            )
        elif st.state is FeedState.LIVE:
            text = coloured(style.LINK_UP, "● " + self.tr("Alarms live"))
            if st.lag > 0:
                text += " " + self.tr("lag {0}").format(st.lag)
        elif st.state in (FeedState.STARTING, FeedState.CATCHING_UP):
            text = coloured(
                style.ATTENTION,
                "◆ " + self.tr("Alarms catching up {0}%").format(int(st.progress * 100)),
            )
        else:
            state = {FeedState.STALE: self.tr("stale"), FeedState.STOPPED: self.tr("stopped")}
            text = coloured(
                style.TEXT_MUTED,
                self.tr("Alarms: {0}").format(state.get(st.state, st.state.value)),
            )
        self.label.setText(text)
        self.label.setToolTip(
            self.tr("topic {0}, offset {1}, lag {2}, malformed {3}").format(
                st.topic, st.offset, st.lag, st.bad_records
            )
        )

    async def aclose(self) -> None:
        self._blink.stop()
        await self.dock.aclose()
