"""Link health: every link's state, peer role and epoch, RTT, age of the last frame,
reconnects and bad input counters, in a dock (a table model); and the redundancy
alarms the session raises (``app/session/health.py``) told in the dispatcher's
language, by code and parameters."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QDockWidget, QHeaderView, QTableView, QWidget

from app.comms.link import LinkInfo, LinkState
from app.session import Condition, FailoverCause, LocalAlarm
from app.session.health import condition_of
from app.session.service import TRAIN_LATE
from ui import style

Index = QModelIndex | QPersistentModelIndex


def link_state_text(state: LinkState) -> str:
    """A link's state in words (the status bar and the link health dock)."""
    translate = QCoreApplication.translate
    return {
        LinkState.DOWN: translate("LinkTableModel", "down"),
        LinkState.CONNECTING: translate("LinkTableModel", "connecting"),
        LinkState.HANDSHAKE: translate("LinkTableModel", "handshake"),
        LinkState.UP: translate("LinkTableModel", "up"),
        LinkState.DRAINING: translate("LinkTableModel", "closing"),
        LinkState.CLOSED: translate("LinkTableModel", "closed"),
    }.get(state, state.value)


def peer_role_text(role: str) -> str:
    """A server's role (``master``, ``standby``) in words; another as it is."""
    translate = QCoreApplication.translate
    return {
        "master": translate("LinkTableModel", "master"),
        "standby": translate("LinkTableModel", "standby"),
    }.get(role, role)


def link_cause_text(info: LinkInfo) -> str:
    """Why the link last failed, in the window's language (its cause code); a link
    whose cause has no code (an older part) shows its last error as it is."""
    translate = QCoreApplication.translate
    param = info.cause_param
    refusals = {
        "link_key": translate("LinkCause", "the server refused the link key"),
        "role": translate("LinkCause", "the server refused the link key for this role"),
        "destination": translate(
            "LinkCause", "the server refused the link: it is not the server this link is for"
        ),
    }
    texts = {
        "connection_refused": translate("LinkCause", "connection refused: nothing listens there"),
        "timeout": translate("LinkCause", "no answer in time"),
        "network": translate("LinkCause", "network error"),
        "refused": refusals.get(param)
        or translate("LinkCause", "the server refused the link ({0})").format(param),
        "heartbeat_timeout": translate(
            "LinkCause", "no frame for {0} s (heartbeat timeout)"
        ).format(param),
        "peer_not_reading": translate(
            "LinkCause", "the server stopped reading ({0} bytes waiting)"
        ).format(param),
        "bad_frame": translate("LinkCause", "a frame that breaks the protocol"),
        "integrity": translate(
            "LinkCause", "too many protection failures (last: {0}); resynchronising"
        ).format(param),
        "wrong_line": translate("LinkCause", "the server serves another line ({0})").format(param),
        "connection_lost": translate("LinkCause", "connection lost"),
        "closed_by_peer": translate("LinkCause", "connection closed by the server"),
    }
    return texts.get(info.cause, info.last_error)


def _servers(names: str) -> str:
    return ", ".join(n for n in names.split(",") if n)


def failover_cause_text(cause: str, old: str, new: str) -> str:
    translate = QCoreApplication.translate
    texts: dict[str, str] = {
        FailoverCause.MASTER_LOST: translate("HealthAlarm", "{0} lost on every network"),
        FailoverCause.STEPPED_DOWN: translate("HealthAlarm", "{0} stepped down to standby"),
        FailoverCause.SUPERSEDED: translate("HealthAlarm", "{1} has a higher epoch"),
    }
    text = texts.get(cause)
    return cause if text is None else text.format(old, new)


def local_alarm_text(alarm: LocalAlarm) -> str:
    """A redundancy alarm in the dispatcher's language, from its code and parameters; any
    other local alarm (or one without parameters) as the session wrote it."""
    cond = condition_of(alarm.code)
    p = alarm.param
    translate = QCoreApplication.translate
    if alarm.code == "link_integrity" and alarm.params:
        return translate(
            "HealthAlarm",
            "Link integrity: {0}: {1} failures within {2} s (last: {3}); link resynchronised",
        ).format(p("link"), p("failures"), p("window_s"), p("kind"))
    if alarm.code.startswith(TRAIN_LATE + ":") and alarm.params:
        return translate(
            "HealthAlarm", "Train {0} (unit {1}) {2} min late (alarm above {3} min)"
        ).format(p("trip"), p("unit"), p("minutes"), p("threshold_min"))
    if cond is None or not alarm.params:
        return alarm.text
    if cond is Condition.FAILOVER:
        return translate("HealthAlarm", "Failover: master {0} → {1} (epoch {2}): {3}").format(
            p("from"), p("to"), p("epoch"), failover_cause_text(p("cause"), p("from"), p("to"))
        )
    if cond is Condition.NO_REDUNDANCY:
        return translate(
            "HealthAlarm", "No redundancy: master {0}, standby {1} unreachable"
        ).format(p("master"), _servers(p("lost")))
    if cond is Condition.NETWORK_DOWN:
        return translate("HealthAlarm", "Network {0} down to every server ({1})").format(
            p("network"), _servers(p("servers"))
        )
    if cond is Condition.MASTER_UNREACHABLE:
        return translate(
            "HealthAlarm", "Master unreachable: showing standby {0}, commands refused"
        ).format(p("standby"))
    if cond is Condition.NO_SERVER:
        return translate("HealthAlarm", "No server reachable ({0})").format(_servers(p("servers")))
    # the dual master
    epoch = translate("HealthAlarm", "{0} (epoch {1})")
    names = ", ".join(
        epoch.format(s, e) for s, _, e in (c.partition(":") for c in p("claimants").split(",") if c)
    )
    return translate("HealthAlarm", "Dual master: {0} all claim master; following {1}").format(
        names, p("following")
    )


class LinkTableModel(QAbstractTableModel):
    """One row per link; the rows are replaced when the set of links changes."""

    COLUMNS = (
        QT_TRANSLATE_NOOP("LinkTableModel", "Link"),
        QT_TRANSLATE_NOOP("LinkTableModel", "State"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Peer"),
        QT_TRANSLATE_NOOP("LinkTableModel", "RTT ms"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Last frame s"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Reconnects"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Bad frames"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Bad datagrams"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Protected"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Integrity failures"),
        QT_TRANSLATE_NOOP("LinkTableModel", "Last error"),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.links: list[LinkInfo] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.links)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.tr(str(self.COLUMNS[section]))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.links):
            return None
        info = self.links[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(info, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return {
                LinkState.UP: style.LINK_UP,
                LinkState.DOWN: style.LINK_DOWN,
            }.get(info.state, style.LINK_PENDING)
        if role == Qt.ItemDataRole.ForegroundRole and (
            (col == 8 and not info.protected) or (col == 9 and info.integrity_failures)
        ):
            return style.ATTENTION
        if role == Qt.ItemDataRole.TextAlignmentRole and (3 <= col <= 7 or col == 9):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.host}:{info.port}"
        return None

    @staticmethod
    def _text(info: LinkInfo, col: int) -> str:
        if col == 0:
            return info.name
        translate = QCoreApplication.translate
        if col == 1:
            return link_state_text(info.state)
        if col == 2:
            role = peer_role_text(info.peer_role)
            return f"{role} #{info.peer_epoch}" if info.peer_role else ""
        if col == 3:
            return "" if info.rtt_ms is None else f"{info.rtt_ms:.1f}"
        if col == 4:
            return "" if info.last_rx_age_s is None else f"{info.last_rx_age_s:.1f}"
        if col == 5:
            return str(info.reconnects)
        if col == 6:
            return str(info.bad_frames)
        if col == 7:
            return str(info.bad_datagrams)
        if col == 8:
            # a link without the MAC (no key configured) is said plainly (docs/security.md)
            return (
                translate("LinkTableModel", "MAC")
                if info.protected
                else translate("LinkTableModel", "NO")
            )
        if col == 9:
            return str(info.integrity_failures)
        return link_cause_text(info)

    def set_links(self, links: list[LinkInfo]) -> None:
        if [i.name for i in links] == [i.name for i in self.links]:
            self.links = list(links)
            if links:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(links) - 1, len(self.COLUMNS) - 1)
                )
            return
        self.beginResetModel()
        self.links = list(links)
        self.endResetModel()


class LinkHealthDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("LinkHealthDock", "Link health"), parent)
        self.setObjectName("linkHealthDock")
        self.model = LinkTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("linkTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(
            len(LinkTableModel.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.setColumnWidth(0, 170)
        self.setWidget(self.table)
