"""One owner for the lifetime of a program's parts: started in order, closed in reverse.

Each part (the session, the control services, the alarm service, the ISCS hand-off…)
has ``start()`` and an idempotent ``async aclose()``. :func:`running` starts them one
by one and, however the block ends, closes every part that was started, in the
reverse order, each whatever the others did: an ``aclose`` that raises does not skip
the rest (the errors are raised at the end, chained). The CLI, the window's runtime
and the smoke test all use it, so the order is written once.

Standard library only: every layer may use it.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol

__all__ = ["Part", "running"]


class Part(Protocol):
    def start(self) -> Awaitable[None] | None: ...  # some start by awaiting (a server)

    async def aclose(self) -> None: ...


@contextlib.asynccontextmanager
async def running(*parts: Part | None) -> AsyncIterator[contextlib.AsyncExitStack]:
    """Start ``parts`` in order (None: absent, skipped); close them in reverse order.

    Yields the exit stack, so the block can hand it more to close (a task to cancel,
    a callback) in the same order."""
    async with contextlib.AsyncExitStack() as stack:
        for part in parts:
            if part is None:
                continue
            stack.push_async_callback(part.aclose)
            started = part.start()
            if inspect.isawaitable(started):
                await started
        yield stack
