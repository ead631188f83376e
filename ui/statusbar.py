"""The status bar: each link's state and RTT, the master server and its epoch, the
alarm feed, the ISCS program, control (Redis), the line state's sync, the clock;
and the transient messages (command results, refusals, what was found).

The alarm feed's, the ISCS program's and control's labels are placed here, in
their order, and filled by their features (:mod:`ui.annunciation`,
:mod:`ui.iscsactions`, :mod:`ui.zonecontrol`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.comms.link import LinkInfo, LinkState
from app.session import Condition, LocalAlarm, MasterView
from app.session.health import condition_of
from ui import style
from ui.clock import date_time_text, time_text
from ui.host import Host
from ui.linkhealth import link_cause_text, link_state_text, local_alarm_text, peer_role_text
from ui.style import coloured

RESULT_SHOW_MS = 20_000


def _rich_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


class StatusBar(QObject):
    """The window's status bar; ``synchronisedChanged`` when the line state goes stale or fresh."""

    synchronisedChanged = Signal(bool)

    def __init__(self, host: Host) -> None:
        super().__init__(host.main_window)
        self.host = host
        self.session = host.session
        self.bar = host.main_window.statusBar()
        self.links_widget = QWidget()
        self.links_layout = QHBoxLayout(self.links_widget)
        self.links_layout.setContentsMargins(0, 0, 0, 0)
        self.links_layout.setSpacing(14)
        self.link_labels: dict[str, QLabel] = {}
        self.master_label = _rich_label("masterLabel")
        self.alarm_label = _rich_label("alarmFeedLabel")  # filled by the alarm annunciation
        self.iscs_label = _rich_label("iscsLabel")  # filled by the ISCS actions
        self.control_label = _rich_label("controlLabel")  # filled by zone control
        self.sync_label = _rich_label("syncLabel")
        self.clock_label = QLabel()
        #: what the clock shows, each second (a replay shows its own time)
        self.clock_text: Callable[[], str] = lambda: date_time_text(self.host.tz)
        self.clock_label.setObjectName("clockLabel")
        font = self.clock_label.font()
        font.setFamilies(style.MONO_FAMILIES)
        self.clock_label.setFont(font)
        for widget in (
            self.links_widget,
            self.master_label,
            self.alarm_label,
            self.iscs_label,
            self.control_label,
            self.sync_label,
            self.clock_label,
        ):
            self.bar.addPermanentWidget(widget)
        self._synchronised: bool | None = None

    def show_message(
        self, text: str, colour: QColor | None = None, timeout_ms: int = RESULT_SHOW_MS
    ) -> None:
        """A transient message, optionally coloured (command results)."""
        sheet = f"QStatusBar {{ color: {colour.name()}; }}" if colour is not None else ""
        self.bar.setStyleSheet(sheet)
        self.bar.showMessage(text, timeout_ms)

    def tick(self) -> None:
        """Every second: the clock, and the links' round-trip times and ages."""
        self.clock_label.setText(self.clock_text())
        self.on_links(self.session.link_infos())

    # -- the line state ---------------------------------------------------------------

    def refresh_sync(self) -> None:
        state = self.session.state
        synced = state.synchronised
        if synced:
            self.sync_label.setText(
                coloured(style.LINK_UP, "●")
                + " "
                + self.tr("Line state synchronised (seq {0})").format(state.seq)
            )
        else:
            self.sync_label.setText(
                coloured(style.ATTENTION, "●")
                + " "
                + coloured(style.ATTENTION, self.tr("Waiting for snapshot"))
            )
        if synced != self._synchronised:
            if self._synchronised is not None:
                self.host.log_event(
                    self.tr("Line state synchronised")
                    if synced
                    else self.tr("Line state not current: waiting for a snapshot")
                )
            self._synchronised = synced
            self.synchronisedChanged.emit(synced)

    # -- links ------------------------------------------------------------------------

    def on_links(self, infos: list[LinkInfo]) -> None:
        per_server: dict[str, int] = {}
        for info in infos:
            per_server[info.server] = per_server.get(info.server, 0) + 1
            short = f"{info.server}{per_server[info.server]}"
            label = self.link_labels.get(info.name)
            if label is None:
                label = _rich_label(f"link:{info.name}")
                self.links_layout.addWidget(label)
                self.link_labels[info.name] = label
            old = label.property("linkState")
            label.setText(self.link_text(info, short))
            label.setToolTip(self.link_tooltip(info))
            label.setProperty("linkState", info.state.value)
            # log what matters to the dispatcher: a link coming up, and an up link lost
            # (not every reconnect attempt of a link that stays down)
            was_up = old == LinkState.UP.value
            if old is not None and (info.state is LinkState.UP) != was_up:
                self.host.log_event(
                    self.tr("Link {0} {1}:{2} is {3}").format(
                        info.server, info.host, info.port, link_state_text(info.state)
                    )
                )
        self.refresh_sync()

    @staticmethod
    def link_text(info: LinkInfo, short: str) -> str:
        """Compact: server and network number, state, round-trip time (details in the tooltip)."""
        if info.state is LinkState.UP:
            colour = style.LINK_UP
        elif info.state is LinkState.DOWN:
            colour = style.LINK_DOWN
        else:
            colour = style.LINK_PENDING
        text = f"{short} {link_state_text(info.state)}"
        if info.state is LinkState.UP and info.rtt_ms is not None:
            text += f" {info.rtt_ms:.0f} ms"
        return coloured(colour, "● " + text)

    def link_tooltip(self, info: LinkInfo) -> str:
        lines = [
            self.tr("Server {0} at {1}:{2}: {3}").format(
                info.server, info.host, info.port, link_state_text(info.state)
            )
        ]
        if info.peer_role:
            lines.append(
                self.tr("role {0}, epoch {1}").format(
                    peer_role_text(info.peer_role), info.peer_epoch
                )
            )
        if info.rtt_ms is not None:
            lines.append(self.tr("round trip {0:.1f} ms").format(info.rtt_ms))
        if info.last_rx_age_s is not None:
            lines.append(self.tr("last frame {0:.1f} s ago").format(info.last_rx_age_s))
        lines.append(
            self.tr("reconnects {0}, bad frames {1}, bad datagrams {2}").format(
                info.reconnects, info.bad_frames, info.bad_datagrams
            )
        )
        if info.last_error:
            lines.append(self.tr("last error: {0}").format(link_cause_text(info)))
        return "\n".join(lines)

    # -- the master server --------------------------------------------------------------

    def on_master(self, view: MasterView) -> None:
        alarm = self.session.alarms.get("dual_master")
        if view.server is None:
            text = coloured(style.LINK_DOWN, self.tr("No server reachable"))
        elif view.role == "master":
            text = coloured(
                style.LINK_UP, self.tr("Master {0} (epoch {1})").format(view.server, view.epoch)
            )
        else:
            text = coloured(
                style.ATTENTION,
                self.tr("Master unreachable: showing standby {0}").format(view.server),
            )
        if alarm is not None:
            text = coloured(style.LINK_DOWN, self.tr("DUAL MASTER")) + " · " + text
        self.master_label.setText(text)
        self.master_label.setToolTip(local_alarm_text(alarm) if alarm is not None else "")

    def on_local_alarm(self, alarm: LocalAlarm) -> None:
        """A local alarm (a failover, no redundancy, a network down, a dual master, a
        consist's cab fault) raised or cleared: a line in the event log, since when."""
        text = local_alarm_text(alarm)
        if alarm.since_ms:
            since = time_text(alarm.since_ms, self.host.tz)
            if alarm.active:
                line = self.tr("ALARM: {0} (since {1})").format(text, since)
            elif condition_of(alarm.code) is Condition.FAILOVER:  # the takeover done
                line = self.tr("Failover complete: the line state from {0} is current").format(
                    alarm.param("to")
                )
            else:
                lasted = max(0, alarm.time_ms - alarm.since_ms) // 1000
                line = self.tr("Back to normal: {0} (since {1}, {2} s)").format(text, since, lasted)
        else:
            line = (self.tr("ALARM: {0}") if alarm.active else self.tr("Cleared: {0}")).format(text)
        self.host.log_event(line)
        self.on_master(self.session.master)
