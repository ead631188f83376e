"""Zone control in the window: who may command each zone, and whether anyone may at all.

- each zone's bracket on the schematic (:mod:`ui.zones` draws it) follows its authority;
- the *Zone control* dock, when there is zone authority (Redis);
- a request for a zone this desk holds is told once in the event log and the
  status bar (the bracket and the dock show it as long as it stands); the status
  bar's "asks for" goes when the request is answered (granted, withdrawn);
- what changes hands is told (``app/control/zonenews.py``): "you now hold Z2", a zone
  that becomes free (released, or its desk gone), a zone a supervisor took;
- control's state in the status bar (Redis up or down, or the single-workstation
  lock) and, while commands are refused, a red banner across the window.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QLabel

from app.control.authority import ZoneAuthority
from app.control.service import ControlMode, ControlService, ControlStatus
from app.control.zonenews import NewsKind, ZoneNews, ZoneNotice, ZoneOp, news_for
from ui import style
from ui.bridge import ControlBridge
from ui.host import Host
from ui.i18n import refusal_text
from ui.style import coloured
from ui.zones import ZONE_MINE, ZoneDock, zone_look

REQUEST_SHOW_MS = 15_000
NEWS_SHOW_MS = 15_000


class ZoneControl(QObject):
    def __init__(
        self, host: Host, control: ControlService, bridge: ControlBridge, label: QLabel
    ) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.control = control
        self.label = label  # in the status bar
        self.banner = QLabel()  # across the window, above the schematic
        self.banner.setObjectName("controlBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            f"QLabel#controlBanner {{ background: {style.LINK_DOWN.name()}; color: #ffffff;"
            " font-weight: bold; padding: 6px 12px; }"
        )
        self.banner.hide()
        self.dock: ZoneDock | None = None
        self._requests: dict[str, tuple[str, ...]] = {}  # to tell new requests
        self._asking: dict[str, str] = {}  # zone -> the "asks for" text on the status bar
        self.news: list[str] = []  # what was told, newest last (the event log has it too)
        if control.authority is not None:
            self.dock = ZoneDock(control.authority, host.main_window)
            self.dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            host.add_dock(self.dock, Qt.DockWidgetArea.RightDockWidgetArea)
            self.dock.message.connect(host.log_event)
        if control.authority is not None:
            control.authority.notices.connect(self._on_notice)
        bridge.zoneChanged.connect(self._on_zone)
        bridge.availabilityChanged.connect(self._on_availability)
        bridge.statusChanged.connect(lambda _status: self.refresh())

    def _on_zone(self, state: ZoneAuthority) -> None:
        store = self.control.authority
        if store is None:
            return
        self.host.scene.set_zone_look(state.zone, zone_look(state, store.who, store.available))
        if self.dock is not None:
            self.dock.show_zone(state.zone, state, store.available)
            self.dock.refresh_buttons()
        before = self._requests.get(state.zone, ())
        self._requests[state.zone] = tuple(state.requests)
        if state.holder == store.who:
            for asker in state.requests:
                if asker != store.who and asker not in before:
                    zone = self.host.session.line.zone_by_id.get(state.zone)
                    text = self.tr("{0} asks for zone {1} {2}: grant or keep it in Zone control")
                    text = text.format(asker, state.zone, zone.name_zh if zone else "")
                    self.host.log_event(text)
                    self.host.main_window.statusBar().showMessage(text, REQUEST_SHOW_MS)
                    self._asking[state.zone] = text
        asking = state.holder == store.who and any(r != store.who for r in state.requests)
        if not asking and state.zone in self._asking:
            # answered (granted, withdrawn, the zone gone): the notice goes
            shown = self._asking.pop(state.zone)
            bar = self.host.main_window.statusBar()
            if bar.currentMessage() == shown:
                bar.clearMessage()

    def _on_notice(self, notice: ZoneNotice) -> None:
        store = self.control.authority
        news = news_for(notice, store.who) if store is not None else None
        if news is None:
            return
        text = self.news_text(news)
        self.news.append(text)
        self.host.log_event(text)
        colour = ZONE_MINE if news.kind is NewsKind.YOURS else style.ATTENTION
        self.host.show_status(text, colour, NEWS_SHOW_MS)

    def news_text(self, news: ZoneNews) -> str:
        """What changed hands, in words (the news is a code and its parameters)."""
        zone = self.host.session.line.zone_by_id.get(news.zone)
        name = f"{news.zone} {zone.name_zh}" if zone else news.zone
        if news.kind is NewsKind.YOURS and news.op is ZoneOp.GRANT:
            return self.tr("You now hold zone {0}: granted by {1}").format(name, news.by)
        if news.kind is NewsKind.YOURS:
            return self.tr("You now hold zone {0}: given by supervisor {1}").format(name, news.by)
        if news.kind is NewsKind.TAKEN:
            return self.tr("Zone {0} was taken from you by supervisor {1}").format(name, news.by)
        if news.op is ZoneOp.LAPSE:
            return self.tr(
                "Zone {0} is free: the desk of {1} left (quit or stopped answering)"
            ).format(name, news.was)
        if news.op is ZoneOp.FORCE:
            return self.tr("Zone {0} is free: supervisor {1} took it from {2}").format(
                name, news.by, news.was
            )
        return self.tr("Zone {0} is free: released by {1}").format(name, news.was)

    def _on_availability(self, available: bool) -> None:
        self.host.log_event(
            self.tr("Zone control available again")
            if available
            else self.tr("Zone control unavailable: commands refused")
        )
        self.refresh()

    def detail(self, status: ControlStatus) -> str:
        """The tooltip: the Redis nodes, the lock's quorum, and why commands are refused."""
        if status.mode is ControlMode.LOCAL:
            return self.tr(
                "No Redis is configured: device locks protect this workstation's own "
                "commands only, and zone control is not shared with other workstations."
            )
        nodes = ", ".join(status.nodes)
        if status.refusal is not None:
            return self.tr("Redis {0}: {1}").format(nodes, refusal_text(status.refusal))
        if len(status.nodes) > 1:
            return self.tr("Redis {0}; lock quorum {1} of {2}").format(
                nodes, status.quorum, len(status.nodes)
            )
        return self.tr("Redis {0}").format(nodes)

    def refresh(self) -> None:
        """The status-bar label, the banner, every zone bracket and the zone dock."""
        status = self.control.status()
        if status.mode is ControlMode.LOCAL:
            text = coloured(style.ATTENTION, "◆ " + self.tr("single-workstation lock"))
        elif status.ok:
            text = coloured(style.LINK_UP, "● " + self.tr("Redis up"))
        else:
            text = coloured(style.LINK_DOWN, "■ " + self.tr("REDIS DOWN"))
        self.label.setText(text)
        detail = self.detail(status)
        self.label.setToolTip(detail)
        if status.ok:
            self.banner.hide()
        else:
            self.banner.setText(
                self.tr("Zone control unavailable: every command is refused. {0}").format(detail)
            )
            self.banner.show()
        store = self.control.authority
        if store is not None:
            snapshot = store.snapshot()
            for zone in self.host.session.line.zones:
                self.host.scene.set_zone_look(
                    zone.id, zone_look(snapshot.get(zone.id), store.who, store.available)
                )
            if self.dock is not None:
                self.dock.refresh()

    async def aclose(self) -> None:
        if self.control.authority is not None:
            with contextlib.suppress(ValueError):  # closed before
                self.control.authority.notices.disconnect(self._on_notice)
        if self.dock is not None:
            await self.dock.aclose()
