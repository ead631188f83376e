"""Which server the workstation follows, from the links' claims alone (no sockets)."""

from __future__ import annotations

from dataclasses import dataclass

from app.session import MasterView, choose_master
from app.session.election import NO_MASTER, MasterChange, elect


@dataclass
class Claim:
    """A link as the election sees it: up or not, and what its server last claimed."""

    server: str
    peer_role: str = "master"
    peer_epoch: int = 1
    up: bool = True

    def is_up(self) -> bool:
        return self.up


def test_nothing_up_follows_nobody() -> None:
    assert choose_master([], None) == NO_MASTER
    view = choose_master([Claim("A", up=False), Claim("B", "standby", up=False)], None)
    assert view == MasterView(None, 0, ())
    assert not view.can_command and not view.split_brain


def test_the_master_up_on_either_network_is_followed() -> None:
    links = [Claim("A", up=False), Claim("A"), Claim("B", "standby"), Claim("B", "standby")]
    view = choose_master(links, None)
    assert view == MasterView("A", 1, (("A", 1),), "master")
    assert view.can_command and not view.split_brain


def test_a_link_that_is_down_claims_nothing() -> None:
    view = choose_master([Claim("A", peer_epoch=9, up=False), Claim("B", peer_epoch=2)], "A")
    assert (view.server, view.epoch, view.claimants) == ("B", 2, (("B", 2),))


def test_the_two_networks_of_one_server_count_once_with_its_newest_epoch() -> None:
    # One network still carries the old epoch (the heartbeat with the new one came on
    # the other first): one claimant, the highest epoch.
    view = choose_master([Claim("B", peer_epoch=2), Claim("B", peer_epoch=3)], None)
    assert view.claimants == (("B", 3),) and view.epoch == 3 and not view.split_brain


def test_split_brain_follows_the_higher_epoch_and_names_both() -> None:
    view = choose_master([Claim("A", peer_epoch=1), Claim("B", peer_epoch=2)], "A")
    assert view == MasterView("B", 2, (("A", 1), ("B", 2)), "master")
    assert view.split_brain and view.can_command


def test_equal_epochs_keep_the_current_one_else_the_lower_id() -> None:
    links = [Claim("A", peer_epoch=4), Claim("B", peer_epoch=4)]
    assert choose_master(links, "B").server == "B"
    assert choose_master(links, "A").server == "A"
    assert choose_master(links, None).server == "A"
    assert choose_master(links, "C").server == "A"


def test_only_a_standby_reachable_shows_its_state_and_cannot_command() -> None:
    links = [Claim("A", up=False), Claim("B", "standby", peer_epoch=1)]
    view = choose_master(links, "A")
    assert view == MasterView("B", 1, (), "standby")
    assert not view.can_command and not view.split_brain


def test_only_the_followed_server_is_followed() -> None:
    view = MasterView("A", 1, (("A", 1),))
    assert view.follows("A")
    assert not view.follows("B")  # the standby's datagrams and deltas are not taken
    assert not NO_MASTER.follows("A")


def test_finding_the_first_master_is_no_failover() -> None:
    change = elect([Claim("A")], NO_MASTER)
    assert change.new.server == "A"
    assert change.changed and change.switched
    assert not change.failover and change.dual_master is None


def test_losing_the_master_to_the_standby_is_a_failover() -> None:
    old = MasterView("A", 1, (("A", 1),))
    change = elect([Claim("A", up=False), Claim("B", peer_epoch=2)], old)
    assert change.new == MasterView("B", 2, (("B", 2),))
    assert change.switched and change.failover and change.changed
    # and losing every link is one too: the state must be shown stale
    gone = elect([Claim("A", up=False)], old)
    assert gone.new == NO_MASTER and gone.failover


def test_the_same_master_with_a_new_epoch_changes_the_view_but_keeps_the_state() -> None:
    old = MasterView("A", 1, (("A", 1),))
    change = elect([Claim("A", peer_epoch=2)], old)
    assert change.changed and not change.switched and not change.failover


def test_the_master_demoted_to_standby_is_a_switch() -> None:
    old = MasterView("A", 2, (("A", 2),))
    change = elect([Claim("A", "standby", peer_epoch=2)], old)
    assert change.new.role == "standby" and change.switched and change.failover


def test_nothing_new_is_no_change() -> None:
    old = MasterView("A", 1, (("A", 1),))
    change = elect([Claim("A"), Claim("B", "standby")], old)
    assert change == MasterChange(old, old)
    assert not (change.changed or change.switched or change.failover)
    assert change.dual_master is None


def test_the_dual_master_alarm_rises_and_clears_once() -> None:
    one = MasterView("A", 1, (("A", 1),))
    both = elect([Claim("A", peer_epoch=1), Claim("B", peer_epoch=2)], one)
    assert both.dual_master == (
        True,
        "dual master: A (epoch 1), B (epoch 2) all claim master; following B",
    )
    still = elect([Claim("A", peer_epoch=1), Claim("B", peer_epoch=2)], both.new)
    assert still.dual_master is None  # raised once, not on every election
    cleared = elect([Claim("A", up=False), Claim("B", peer_epoch=2)], both.new)
    assert cleared.dual_master == (False, "dual master cleared")
    assert not cleared.switched  # B stays followed
