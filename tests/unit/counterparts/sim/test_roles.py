"""Master and standby between the two servers (RoleRules): promotion, demotion, epochs."""

from __future__ import annotations

from app.counterparts.sim.roles import RoleRules


def test_a_standby_that_hears_no_master_takes_over_above_every_epoch_seen() -> None:
    rules = RoleRules("B", "standby", 1, dead_after_s=1.5, last_master_heard=10.0)
    assert rules.heard("A", "master", 3, now=10.5) is None  # the master, epoch 3
    assert rules.tick(11.9) is None  # 1.4 s of silence: still within the interval
    assert rules.tick(12.1) == "promote"
    assert (rules.role, rules.epoch) == ("master", 4)
    assert rules.tick(20.0) is None  # a master does not promote again


def test_hearing_the_master_keeps_a_standby_standing_by() -> None:
    rules = RoleRules("B", "standby", 1, dead_after_s=1.5, last_master_heard=0.0)
    for t in (1.0, 2.0, 3.0):
        rules.heard("A", "master", 1, now=t)
        assert rules.tick(t + 1.0) is None
    assert rules.role == "standby"


def test_a_standby_partner_is_no_sign_of_a_master() -> None:
    rules = RoleRules("B", "standby", 1, dead_after_s=1.5, last_master_heard=0.0)
    assert rules.heard("A", "standby", 5, now=1.0) is None
    assert rules.tick(1.6) == "promote"
    assert rules.epoch == 6  # above the partner's epoch, even as a standby's


def test_a_master_steps_down_for_a_higher_epoch() -> None:
    rules = RoleRules("A", "master", 1, dead_after_s=1.5)
    assert rules.heard("B", "master", 2, now=0.0) == "demote"
    assert rules.role == "standby"
    assert rules.heard("B", "master", 2, now=0.1) is None  # once


def test_equal_epochs_the_lower_node_id_stays_master() -> None:
    a = RoleRules("A", "master", 3, dead_after_s=1.5)
    b = RoleRules("B", "master", 3, dead_after_s=1.5)
    assert a.heard("B", "master", 3, now=0.0) is None
    assert b.heard("A", "master", 3, now=0.0) == "demote"
    assert (a.role, b.role) == ("master", "standby")


def test_a_lower_epoch_master_does_not_demote_and_its_own_echo_is_ignored() -> None:
    rules = RoleRules("B", "master", 4, dead_after_s=1.5)
    assert rules.heard("A", "master", 3, now=0.0) is None  # a paused old master resumes
    assert rules.role == "master"
    assert rules.heard("B", "master", 9, now=0.0) is None  # itself (a looped-back link)
    assert rules.role == "master" and rules.highest_epoch_seen == 9
