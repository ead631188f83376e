"""A replay as the views see a session: what :class:`ui.bridge.SessionLike` needs, and
the service feed, backed by a :class:`~app.replay.player.Player`.

The same window that shows a live line shows a recording through this: the
schematic, the alarm list, the logs and the timetable desk read the player's model
and hear its events (the very same :class:`~app.events.Event` objects). It is an
observer's desk that is replaying: ``role`` is :attr:`Role.OBSERVER` whatever the
recorded desk's was, and ``replaying`` is true, so that every command is refused
(``RefusalCode.REPLAY``). Nothing here opens a link: there are none.

It has no ``coupling`` (the coupling views stay off) and nothing to wait for.
No Qt.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.clock import ClockMs
from app.comms.linkstate import LinkInfo
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.refusal import Refusal, RefusalCode
from app.model.roles import Role
from app.replay.clip import open_clip
from app.replay.player import Player
from app.replay.store import DAY_DIR, SUFFIX, Recording, days, desk_of, desks
from app.session.election import MasterView
from app.session.health import LocalAlarm


class ReplaySession:
    """A session-like face of ``player`` (an observer's, replaying)."""

    replaying = True

    def __init__(self, player: Player, *, node: str = "", dispatcher: str = "") -> None:
        self.player = player
        self.line = player.line
        self.state = player.state  # the same object always: the views hold it
        self.service = player.service
        meta = player.meta
        #: the desk the recording was made at, and who was at it
        self.node = node or (meta.node if meta is not None else "") or "replay"
        self.dispatcher = dispatcher or (meta.dispatcher if meta is not None else "")
        self.recorded_role = meta.role if meta is not None else ""
        self.role = Role.OBSERVER.value
        # the player's own events: the views connect to them as to a live session's
        self.state_changed = player.state_changed
        self.links_changed = player.links_changed
        self.master_changed = player.master_changed
        self.alarm = player.alarm
        self.alarms_changed = player.alarms_changed
        self.command_finished = player.command_finished
        self.moved = player.moved

    @property
    def clock_ms(self) -> ClockMs:
        """The replay's clock (the moment shown), for views that stamp with a clock."""
        return self.player.now_ms

    @property
    def master(self) -> MasterView:
        return self.player.master

    @master.setter
    def master(self, view: MasterView) -> None:
        self.player.master = view

    @property
    def alarms(self) -> dict[str, LocalAlarm]:
        """The workstation's own alarms active at the moment shown."""
        return self.player.local

    @alarms.setter
    def alarms(self, alarms: dict[str, LocalAlarm]) -> None:
        self.player.local = alarms

    @property
    def timezone(self) -> str:
        meta = self.player.meta
        return meta.timezone if meta is not None and meta.timezone else self.line.timezone

    def link_infos(self) -> list[LinkInfo]:
        return list(self.player.links)

    def now_ms(self) -> int:
        return self.player.now_ms()

    # -- the command pipeline's commander: there is no line to send to ----------------

    async def wait_commandable(self, timeout_s: float) -> bool:
        return False

    async def command(
        self,
        device: str,
        op: CommandOp,
        *,
        idempotency_key: str = "",
        fencing_token: int = 0,
        zone: str | None = None,
        arg: str = "",
    ) -> CommandResult:
        """Never sent: a replay has no link (the views refuse before this)."""
        return CommandResult(
            "", device, op, Outcome.FAILED, RefusalCode.REPLAY.value, str(REPLAY_REFUSAL)
        )


#: why a replay sends nothing
REPLAY_REFUSAL = Refusal.of(RefusalCode.REPLAY)


def open_source(source: Path, day: str | None = None, prefer_desk: str = "") -> Recording:
    """The recording at ``source``: a black-box folder (its day ``day``, ``YYYY-MM-DD``,
    else its newest), a day's folder, a ``.dhbx`` file (with the rest of its desk's day
    when it lies in a day's folder), or a clip. A folder several desks recorded into
    gives ``prefer_desk``'s day when it is one of them. Raises ``ValueError`` saying why
    not."""
    if source.is_dir():
        recorded = days(source)
        if not recorded:
            if any(source.glob(f"*{SUFFIX}")) and DAY_DIR.match(source.name):  # a day's folder
                return _one_desk(source.parent, dt.date.fromisoformat(source.name), prefer_desk)
            raise ValueError(f"{source}: no recorded day here")
        chosen = dt.date.fromisoformat(day) if day else recorded[-1]
        if chosen not in recorded:
            listed = ", ".join(d.isoformat() for d in recorded)
            raise ValueError(f"{source}: nothing recorded on {chosen} (recorded: {listed})")
        return _one_desk(source, chosen, prefer_desk)
    if not source.is_file():
        raise ValueError(f"{source}: no such file or folder")
    if source.suffix == SUFFIX:
        desk = desk_of(source)
        if desk and DAY_DIR.match(source.parent.name):  # the rest of that desk's day
            return Recording.open_day(
                source.parent.parent, dt.date.fromisoformat(source.parent.name), desk
            )
        return Recording.open([source])
    return open_clip(source)


def _one_desk(root: Path, day: dt.date, prefer: str) -> Recording:
    found = desks(root, day)
    desk = prefer if prefer in found else (found[0] if len(found) == 1 else None)
    return Recording.open_day(root, day, desk)  # None with several: ValueError naming them


__all__ = ["REPLAY_REFUSAL", "ReplaySession", "open_source"]
