"""Redundancy and networks told as local alarms (app/session/health.py): pure, no sockets."""

from __future__ import annotations

from dataclasses import dataclass

from app.session.election import choose_master
from app.session.health import (
    HOLD_MS,
    RULES,
    AlarmPriority,
    Condition,
    FailoverCause,
    HealthMonitor,
    condition_of,
    health_text,
    observe,
)


@dataclass
class Claim:
    server: str
    peer_role: str = "master"
    peer_epoch: int = 1
    up: bool = True

    def is_up(self) -> bool:
        return self.up


def pair(a1: bool = True, a2: bool = True, b1: bool = True, b2: bool = True) -> list[Claim]:
    """A master, B standby, each on networks 1 and 2 (configuration order)."""
    return [
        Claim("A", "master", 1, a1),
        Claim("A", "master", 1, a2),
        Claim("B", "standby", 1, b1),
        Claim("B", "standby", 1, b2),
    ]


def conditions(links: list[Claim]) -> dict[str, dict[str, str]]:
    return {
        code: dict(params) for code, params in observe(links, choose_master(links, None)).items()
    }


def test_every_condition_has_a_rule_with_a_priority() -> None:
    assert set(RULES) == set(Condition)
    assert RULES[Condition.DUAL_MASTER].priority is AlarmPriority.CRITICAL
    assert RULES[Condition.FAILOVER].hold_ms == 0


def test_all_well_holds_nothing() -> None:
    assert conditions(pair()) == {}


def test_one_link_down_is_not_a_network_down() -> None:
    assert conditions(pair(a1=False)) == {}


def test_a_network_down_to_both_servers() -> None:
    got = conditions(pair(a2=False, b2=False))
    assert got == {"network_down:2": {"network": "2", "servers": "A,B"}}
    assert condition_of("network_down:2") is Condition.NETWORK_DOWN


def test_the_standby_lost_is_no_redundancy() -> None:
    got = conditions(pair(b1=False, b2=False))
    assert got == {"no_redundancy": {"master": "A", "lost": "B"}}


def test_a_single_server_configuration_never_lacks_redundancy() -> None:
    assert conditions([Claim("A"), Claim("A")]) == {}


def test_only_the_standby_reachable_is_master_unreachable() -> None:
    assert conditions(pair(a1=False, a2=False)) == {"master_unreachable": {"standby": "B"}}


def test_nothing_up_is_one_alarm_not_three() -> None:
    assert conditions(pair(False, False, False, False)) == {"no_server": {"servers": "A,B"}}


def test_two_masters_are_a_dual_master() -> None:
    links = [Claim("A", "master", 3), Claim("B", "master", 5)]
    got = conditions(links)
    assert got == {"dual_master": {"claimants": "A:3,B:5", "following": "B"}}


def test_a_condition_must_hold_before_its_alarm_rises_and_clears_at_once() -> None:
    mon = HealthMonitor()
    lost = {"no_redundancy": (("master", "A"), ("lost", "B"))}
    assert mon.update(1000, lost) == []
    assert mon.update(1000 + HOLD_MS - 1, lost) == []
    (up,) = mon.update(1000 + HOLD_MS, lost)
    assert (up.code, up.active, up.since_ms, up.priority) == (
        "no_redundancy",
        True,
        1000,
        AlarmPriority.HIGH,
    )
    assert mon.update(1000 + HOLD_MS + 500, lost) == []  # raised once
    (down,) = mon.update(9000, {})
    assert (down.code, down.active, down.since_ms) == ("no_redundancy", False, 1000)
    assert health_text(up) == "no redundancy: master A, B unreachable"


def test_a_condition_that_ends_before_its_hold_is_never_told() -> None:
    mon = HealthMonitor()
    assert mon.update(0, {"network_down:1": (("network", "1"),)}) == []
    assert mon.update(1000, {}) == []
    assert mon.update(HOLD_MS + 1000, {}) == []


def test_a_dual_master_rises_at_once() -> None:
    mon = HealthMonitor()
    (ch,) = mon.update(5, {"dual_master": (("claimants", "A:3,B:5"), ("following", "B"))})
    assert ch.active and ch.priority is AlarmPriority.CRITICAL
    assert health_text(ch) == "dual master: A (epoch 3), B (epoch 5) all claim master; following B"


def test_a_failover_is_one_alarm_with_its_cause_back_to_normal_once_synchronised() -> None:
    mon = HealthMonitor()
    links = pair()
    assert mon.followed(0, links, choose_master(links, None)) == []  # the first master
    # A killed: its links drop, B is shown as standby for a moment, then takes over
    links = pair(a1=False, a2=False)
    assert mon.followed(100, links, choose_master(links, "A")) == []
    links[2].peer_role = links[3].peer_role = "master"
    links[2].peer_epoch = links[3].peer_epoch = 2
    (ch,) = mon.followed(1500, links, choose_master(links, "B"))
    assert (ch.code, ch.active, ch.since_ms) == ("failover", True, 1500)
    assert dict(ch.params) == {
        "from": "A",
        "to": "B",
        "epoch": "2",
        "cause": FailoverCause.MASTER_LOST,
    }
    assert mon.followed(1600, links, choose_master(links, "B")) == []  # the same master
    (back,) = mon.synchronised()
    assert (back.code, back.active, back.since_ms) == ("failover", False, 1500)
    assert mon.synchronised() == []


def test_a_master_that_stepped_down_or_was_superseded_says_so() -> None:
    mon = HealthMonitor()
    links = [Claim("A", "master", 1), Claim("B", "standby", 1)]
    mon.followed(0, links, choose_master(links, None))
    links = [Claim("A", "standby", 2), Claim("B", "master", 2)]
    (ch,) = mon.followed(10, links, choose_master(links, "A"))
    assert dict(ch.params)["cause"] == FailoverCause.STEPPED_DOWN
    links = [Claim("A", "master", 3), Claim("B", "master", 2)]
    (ch,) = mon.followed(20, links, choose_master(links, "B"))
    assert dict(ch.params)["cause"] == FailoverCause.SUPERSEDED


def test_the_link_integrity_alarm_carries_values_and_clears_with_them() -> None:
    from app.protocol.security import Violation
    from app.session.health import LINK_INTEGRITY, LocalAlarm, integrity_quiet, integrity_tripped

    up = integrity_tripped(7, "A@127.0.0.1:1", 3, 10_000, Violation("late", "frame 5", "old"))
    assert (up.code, up.active, up.since_ms) == (LINK_INTEGRITY, True, 7)
    assert dict(up.params) == {
        "link": "A@127.0.0.1:1",
        "failures": "3",
        "window_s": "10",
        "kind": "late",
    }
    assert health_text(up) == (
        "link integrity: A@127.0.0.1:1: 3 failures within 10 s (last: late); link resynchronised"
    )
    alarm = LocalAlarm(LINK_INTEGRITY, health_text(up), True, 7, up.params, 7, up.priority)
    down = integrity_quiet(alarm)
    assert (down.active, down.params, down.since_ms) == (False, up.params, 7)
