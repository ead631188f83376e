"""Redundancy and network health, told as local alarms (``docs/comms.md``, "Health alarms").

Pure: :func:`observe` reads what the links know (up or not, the role and epoch each
server claims) and the followed master, and says which conditions hold now, each
with its parameters (values, never prose); :class:`HealthMonitor` turns that into
alarm changes by the table :data:`RULES`: a condition must hold for its
``hold_ms`` before its alarm is raised (links coming up one by one at start, or a
link's quick reconnect, are not news), and its alarm clears (ISA-18.2: returns to
normal) as soon as it ends. Each alarm says since when its condition holds.

A failover is an event, not a level: :meth:`HealthMonitor.followed` raises it at
once when the followed master becomes another server, with the cause, and it
returns to normal once the new master's state is synchronised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Final

from app.clock import wall_ms
from app.events import Event
from app.protocol.security import Violation
from app.session.election import LinkClaim, MasterView

# the session's logger (app.session), whatever the module
_log = logging.getLogger("app.session")


class Condition(StrEnum):
    """What the workstation watches; the local alarm's code is the value
    (``network_down`` with the network's number: ``network_down:1``)."""

    FAILOVER = "failover"  # the followed master became another server
    NO_REDUNDANCY = "no_redundancy"  # a master is followed, no other server is reachable
    NETWORK_DOWN = "network_down"  # one network's links to every server are down
    MASTER_UNREACHABLE = "master_unreachable"  # only a standby is reachable
    NO_SERVER = "no_server"  # no link to any server is up
    DUAL_MASTER = "dual_master"  # two servers claim master at once (双主)


class FailoverCause(StrEnum):
    """Why the old master is no longer followed."""

    MASTER_LOST = "master_lost"  # no link to it is up (dead, silent, or both networks)
    STEPPED_DOWN = "stepped_down"  # it is reachable and says it is standby now
    SUPERSEDED = "superseded"  # it still claims master, another has a higher epoch


class AlarmPriority(IntEnum):
    """The alarm list's priorities (``app.alarms.records.Priority``, same numbers)."""

    CRITICAL = 1
    HIGH = 2
    MEDIUM = 3
    LOW = 4


@dataclass(frozen=True, slots=True)
class Rule:
    """How a condition is told: its alarm's priority, how long it must hold first."""

    priority: AlarmPriority
    hold_ms: int


#: How long a level condition must hold before its alarm rises (twice the links'
#: dead interval: a link that reconnects at once is not news).
HOLD_MS: Final = 3000

RULES: Final[dict[Condition, Rule]] = {
    Condition.DUAL_MASTER: Rule(AlarmPriority.CRITICAL, 0),
    Condition.NO_SERVER: Rule(AlarmPriority.CRITICAL, HOLD_MS),
    Condition.FAILOVER: Rule(AlarmPriority.HIGH, 0),
    Condition.MASTER_UNREACHABLE: Rule(AlarmPriority.HIGH, HOLD_MS),
    Condition.NO_REDUNDANCY: Rule(AlarmPriority.HIGH, HOLD_MS),
    Condition.NETWORK_DOWN: Rule(AlarmPriority.MEDIUM, HOLD_MS),
}

Params = tuple[tuple[str, str], ...]


def condition_of(code: str) -> Condition | None:
    """The condition a local alarm's code names (``network_down:2`` → NETWORK_DOWN)."""
    try:
        return Condition(code.partition(":")[0])
    except ValueError:
        return None


def param(params: Params, name: str, default: str = "") -> str:
    return next((v for k, v in params if k == name), default)


def observe(links: Sequence[LinkClaim], master: MasterView) -> dict[str, Params]:
    """The level conditions that hold now, by alarm code, with their parameters.

    ``links`` in configuration order: a server's n-th link is on network n.
    """
    servers: dict[str, list[bool]] = {}
    for link in links:
        servers.setdefault(link.server, []).append(link.is_up())
    out: dict[str, Params] = {}
    if not servers:
        return out
    if master.split_brain:
        claimants = ",".join(f"{s}:{e}" for s, e in master.claimants)
        out[Condition.DUAL_MASTER] = (("claimants", claimants), ("following", master.server or ""))
    if not any(any(ups) for ups in servers.values()):
        out[Condition.NO_SERVER] = (("servers", ",".join(sorted(servers))),)
        return out  # every network and every standby is down with it: one alarm says it
    if master.server is not None and master.role != "master":
        out[Condition.MASTER_UNREACHABLE] = (("standby", master.server),)
    elif master.server is not None and len(servers) > 1:
        lost = sorted(s for s, ups in servers.items() if s != master.server and not any(ups))
        if lost:
            out[Condition.NO_REDUNDANCY] = (("master", master.server), ("lost", ",".join(lost)))
    networks = max(len(ups) for ups in servers.values())
    if networks > 1:
        for n in range(networks):
            if not any(ups[n] for ups in servers.values() if n < len(ups)):
                code = f"{Condition.NETWORK_DOWN}:{n + 1}"
                out[code] = (("network", str(n + 1)), ("servers", ",".join(sorted(servers))))
    return out


def failover_cause(links: Sequence[LinkClaim], old: str) -> FailoverCause:
    """Why ``old`` is no longer the master followed, from what its links say now."""
    claims = [(lk.peer_role, lk.peer_epoch) for lk in links if lk.server == old and lk.is_up()]
    if not claims:
        return FailoverCause.MASTER_LOST
    if any(role == "master" for role, _ in claims):
        return FailoverCause.SUPERSEDED
    return FailoverCause.STEPPED_DOWN


@dataclass(frozen=True, slots=True)
class LocalAlarm:
    """An alarm the workstation raises itself (the alarm list shows it with the server's).

    ``text`` is for the log; the views tell it by ``code`` and ``params`` (values).
    ``since_ms``: when its condition began (0: at ``time_ms``); ``priority``: the
    list's (1..4), 0 for the list's default.
    """

    code: str
    text: str
    active: bool
    time_ms: int
    params: Params = ()
    since_ms: int = 0
    priority: int = 0

    def param(self, name: str, default: str = "") -> str:
        return param(self.params, name, default)


@dataclass(frozen=True, slots=True)
class HealthChange:
    """An alarm to raise (``active``) or clear; ``since_ms`` when its condition began."""

    code: str
    active: bool
    params: Params
    since_ms: int
    priority: AlarmPriority


@dataclass(slots=True)
class HealthMonitor:
    """The conditions seen, since when, and which alarms are up (one per code)."""

    rules: dict[Condition, Rule] = field(default_factory=lambda: dict(RULES))
    #: code -> (since wall ms, params) of every condition holding now
    holding: dict[str, tuple[int, Params]] = field(default_factory=dict)
    #: codes whose alarm is up
    raised: set[str] = field(default_factory=set)
    #: the last server followed as master, and the failover waiting for its state
    last_master: str | None = None
    failover: tuple[int, Params] | None = None

    def update(self, now_ms: int, holding: Mapping[str, Params]) -> list[HealthChange]:
        """The level conditions holding now (:func:`observe`): alarms to raise and clear."""
        changes: list[HealthChange] = []
        for code in list(self.holding):
            if code not in holding:
                since, params = self.holding.pop(code)
                if code in self.raised:
                    self.raised.discard(code)
                    changes.append(self._change(code, False, params, since))
        for code, params in holding.items():
            since, _ = self.holding.get(code, (now_ms, params))
            self.holding[code] = (since, params)
            hold = self._rule(code).hold_ms
            if code not in self.raised and now_ms - since >= hold:
                self.raised.add(code)
                changes.append(self._change(code, True, params, since))
        return changes

    def followed(
        self, now_ms: int, links: Sequence[LinkClaim], master: MasterView
    ) -> list[HealthChange]:
        """The followed server changed: a failover when another server is now the master."""
        if master.server is None or master.role != "master":
            return []
        old, self.last_master = self.last_master, master.server
        if old is None or old == master.server:
            return []
        cause = failover_cause(links, old)
        params: Params = (
            ("from", old),
            ("to", master.server),
            ("epoch", str(master.epoch)),
            ("cause", cause.value),
        )
        self.failover = (now_ms, params)
        self.raised.add(Condition.FAILOVER)
        return [self._change(Condition.FAILOVER, True, params, now_ms)]

    def synchronised(self) -> list[HealthChange]:
        """The new master's state is in: the failover returns to normal."""
        if self.failover is None:
            return []
        since, params = self.failover
        self.failover = None
        self.raised.discard(Condition.FAILOVER)
        return [self._change(Condition.FAILOVER, False, params, since)]

    def _rule(self, code: str) -> Rule:
        cond = condition_of(code)
        return self.rules[cond] if cond is not None else Rule(AlarmPriority.HIGH, 0)

    def _change(self, code: str, active: bool, params: Params, since: int) -> HealthChange:
        return HealthChange(str(code), active, params, since, self._rule(code).priority)


#: The local alarm raised when a link's protection failures pass the threshold
#: (``docs/security.md``); it clears once every link has been quiet for the window.
LINK_INTEGRITY: Final = "link_integrity"


def integrity_tripped(
    now_ms: int, link: str, failures: int, window_ms: int, violation: Violation
) -> HealthChange:
    """The link-integrity alarm raised: which link, how many failures within how long,
    and the last one's kind (a value: ``tag``, ``seq``, ``age``...)."""
    params: Params = (
        ("link", link),
        ("failures", str(failures)),
        ("window_s", f"{window_ms / 1000:g}"),
        ("kind", violation.kind),
    )
    return HealthChange(LINK_INTEGRITY, True, params, now_ms, AlarmPriority.HIGH)


def integrity_quiet(alarm: LocalAlarm) -> HealthChange:
    """The link-integrity alarm ``alarm`` cleared: every link quiet for the window."""
    return HealthChange(LINK_INTEGRITY, False, alarm.params, alarm.since_ms, AlarmPriority.HIGH)


def health_text(change: HealthChange) -> str:
    """The alarm in English for the log (the views translate by code and parameters)."""
    p = change.params
    cond = condition_of(change.code)
    if not change.active:
        return f"{change.code} cleared"
    if change.code == LINK_INTEGRITY:
        return (
            f"link integrity: {param(p, 'link')}: {param(p, 'failures')} failures within "
            f"{param(p, 'window_s')} s (last: {param(p, 'kind')}); link resynchronised"
        )
    if cond is Condition.FAILOVER:
        return (
            f"failover: master {param(p, 'from')} -> {param(p, 'to')} "
            f"(epoch {param(p, 'epoch')}), cause {param(p, 'cause')}"
        )
    if cond is Condition.DUAL_MASTER:
        names = ", ".join(
            f"{s} (epoch {e})"
            for s, _, e in (c.partition(":") for c in param(p, "claimants").split(","))
        )
        return f"dual master: {names} all claim master; following {param(p, 'following')}"
    if cond is Condition.NO_REDUNDANCY:
        return f"no redundancy: master {param(p, 'master')}, {param(p, 'lost')} unreachable"
    if cond is Condition.NETWORK_DOWN:
        return f"network {param(p, 'network')} down to every server"
    if cond is Condition.MASTER_UNREACHABLE:
        return f"master unreachable: showing standby {param(p, 'standby')}"
    if cond is Condition.NO_SERVER:
        return f"no server reachable ({param(p, 'servers')})"
    return change.code


class LocalAlarms:
    """The session's own alarms (health, link protection, coupling): what is active now,
    by code, and an event for every raise and clear (the alarm list takes them in)."""

    def __init__(self) -> None:
        self.active: dict[str, LocalAlarm] = {}
        self.changed: Event[LocalAlarm] = Event("alarm")

    def told(self, changes: list[HealthChange], now_ms: int | None = None) -> None:
        """``now_ms``: the time the changes were found at (one reading of the clock, so
        that an alarm raised at once says since-when = when)."""
        for ch in changes:
            self.set(ch.code, health_text(ch), ch.active, ch, now_ms)

    def set(
        self,
        code: str,
        text: str,
        active: bool,
        health: HealthChange | None = None,
        now_ms: int | None = None,
    ) -> None:
        alarm = LocalAlarm(code, text, active, wall_ms() if now_ms is None else now_ms)
        if health is not None:
            alarm = replace(
                alarm, params=health.params, since_ms=health.since_ms, priority=health.priority
            )
        if active:
            self.active[code] = alarm
            _log.error("local alarm %s: %s", code, text)
        else:
            self.active.pop(code, None)
            _log.warning("local alarm %s cleared", code)
        self.changed.emit(alarm)
