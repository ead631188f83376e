"""The login's rate limit (a table) and the desk's idle lock (a table), on a fake clock."""

from __future__ import annotations

import pytest

from app.identity.idle import TRANSITIONS, DeskEvent, DeskState, IdleLock
from app.identity.throttle import DESK_POLICY, NAME_POLICY, LoginThrottle, wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_policy_table_gives_the_wait() -> None:
    assert [wait_for(NAME_POLICY, n) for n in range(10)] == [
        0, 0, 0, 15, 15, 60, 60, 60, 300, 300
    ]  # fmt: skip
    assert wait_for(DESK_POLICY, 9) == 0 and wait_for(DESK_POLICY, 10) == 60


def test_wrong_passwords_slow_the_next_try_and_a_right_one_clears_it() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    assert throttle.wait_s("li") == 0
    assert throttle.failed("li") == 0
    assert throttle.failed("li") == 0
    assert throttle.failed("li") == pytest.approx(15)
    clock.now += 10
    assert throttle.wait_s("li") == pytest.approx(5)
    assert throttle.wait_s("wang") == 0  # another name is not held up by li's mistakes
    clock.now += 5
    assert throttle.wait_s("li") == 0
    throttle.failed("li")
    assert throttle.failed("li") == pytest.approx(60)
    clock.now += 60
    throttle.succeeded("li")
    assert throttle.wait_s("li") == 0


def test_cycling_through_names_is_slowed_by_the_desks_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for n in range(9):
        assert throttle.failed(f"user{n}") == 0
    assert throttle.failed("user9") == pytest.approx(60)
    assert throttle.wait_s("someone-else") == pytest.approx(60)
    clock.now += 901  # the desk forgets
    assert throttle.wait_s("someone-else") == 0


def test_the_desk_locks_when_idle_and_only_the_password_opens_it() -> None:
    clock = Clock()
    desk = IdleLock(60_000, clock)
    clock.now += 59
    assert desk.tick() is DeskState.ACTIVE
    desk.handle(DeskEvent.INPUT)
    clock.now += 59
    assert desk.tick() is DeskState.ACTIVE  # input restarted the count
    clock.now += 1
    assert desk.tick() is DeskState.LOCKED
    assert desk.handle(DeskEvent.INPUT) is DeskState.LOCKED  # a key does not open it
    assert desk.handle(DeskEvent.UNLOCK) is DeskState.ACTIVE
    assert desk.tick() is DeskState.ACTIVE  # unlocking counts as input
    assert desk.handle(DeskEvent.LOCK) is DeskState.LOCKED


def test_zero_never_locks_by_time_and_the_table_is_closed() -> None:
    clock = Clock()
    desk = IdleLock(0, clock)
    clock.now += 10**6
    assert desk.tick() is DeskState.ACTIVE
    assert desk.handle(DeskEvent.LOCK) is DeskState.LOCKED
    assert (DeskState.LOCKED, DeskEvent.IDLE) not in TRANSITIONS
    with pytest.raises(ValueError):
        IdleLock(-1)
