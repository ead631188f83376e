"""Capped exponential backoff as a pure strategy: ``delay(failures)`` in seconds.

A reconnect loop asks it how long to wait after ``failures`` attempts in a row
failed; the jitter spreads workstations that lost the same server at the same
instant, so they do not all come back at once. Pure (the randomness is passed in),
so a test can check every figure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """``min_s × factor**failures``, at most ``max_s``, times 1 ± ``jitter``."""

    min_s: float
    max_s: float
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise ValueError("backoff needs 0 < min_s <= max_s")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter < 1")

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after ``failures`` failures in a row (0: the first retry)."""
        base = min(self.max_s, self.min_s * self.factor ** min(max(failures, 0), 64))
        return base * (1 + self.jitter * (2 * rand() - 1))
