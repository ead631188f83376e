"""app/lifetime.py: started in order, closed in reverse, a failing close skips nothing."""

from __future__ import annotations

import asyncio

import pytest

from app.lifetime import running


class Part:
    def __init__(self, name: str, log: list[str], fail_close: bool = False) -> None:
        self.name, self.log, self.fail_close = name, log, fail_close

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def aclose(self) -> None:
        self.log.append(f"close {self.name}")
        if self.fail_close:
            raise RuntimeError(f"{self.name} would not close")


def test_started_in_order_closed_in_reverse_each_whatever_the_others_did() -> None:
    log: list[str] = []

    async def main() -> None:
        async with running(Part("session", log), None, Part("control", log, fail_close=True)):
            log.append("work")

    with pytest.raises(RuntimeError, match="control would not close"):
        asyncio.run(main())
    assert log == ["start session", "start control", "work", "close control", "close session"]


def test_a_part_that_fails_to_start_closes_what_started_before() -> None:
    log: list[str] = []

    class Broken(Part):
        def start(self) -> None:
            raise OSError("no port")

    async def main() -> None:
        async with running(Part("session", log), Broken("alarms", log), Part("iscs", log)):
            log.append("never")

    with pytest.raises(OSError, match="no port"):
        asyncio.run(main())
    # the one that failed to start is closed too (its aclose is idempotent)
    assert log == ["start session", "close alarms", "close session"]


def test_a_part_that_starts_by_awaiting_is_awaited() -> None:
    log: list[str] = []

    class Server(Part):
        async def start(self) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            log.append("listening")

    async def main() -> None:
        async with running(Server("iscs", log), Part("session", log)):
            log.append("work")

    asyncio.run(main())
    assert log == ["listening", "start session", "work", "close session", "close iscs"]
