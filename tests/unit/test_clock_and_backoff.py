"""The shared clock and backoff (app/clock.py, app/backoff.py)."""

from __future__ import annotations

import time

import pytest

from app.backoff import Backoff
from app.clock import mono_ms, wall_ms


def test_the_clocks_read_milliseconds() -> None:
    assert abs(wall_ms() - time.time() * 1000) < 1000
    a = mono_ms()
    time.sleep(0.01)
    assert mono_ms() - a >= 9


def test_backoff_grows_to_its_cap_within_its_jitter() -> None:
    b = Backoff(0.2, 5.0)
    assert [b.delay(n, rand=lambda: 0.5) for n in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert b.delay(0, rand=lambda: 0.0) == pytest.approx(0.16)
    assert b.delay(0, rand=lambda: 1.0) == pytest.approx(0.24)
    assert b.delay(10_000, rand=lambda: 0.5) == 5.0  # no overflow however long it failed
    assert Backoff(1.0, 1.0, jitter=0.0).delay(3) == 1.0


@pytest.mark.parametrize("args", [(0.0, 1.0), (2.0, 1.0), (1.0, 2.0, 0.5), (1.0, 2.0, 2.0, 1.0)])
def test_a_backoff_that_makes_no_sense_is_refused(args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        Backoff(*args)
