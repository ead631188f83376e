"""A minimal typed publish/subscribe hook: the core's way of telling the views."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Event(Generic[T]):
    """Listeners run in order; one that raises is logged and does not stop the others."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[T], None]] = []

    def connect(self, listener: Callable[[T], None]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[[T], None]) -> None:
        self._listeners.remove(listener)

    def emit(self, value: T) -> None:
        for listener in list(self._listeners):
            try:
                listener(value)
            except Exception:
                log.exception("listener %r of %s failed", listener, self.name)
