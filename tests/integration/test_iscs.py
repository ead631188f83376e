"""The ISCS hand-off with the real reference program as a child process."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from app.iscs.connection import IscsConnection
from app.iscs.handoff import IscsHandoff, IscsState
from app.iscs.messages import Handoff, HandoffKind, IscsHello

pytestmark = pytest.mark.integration

STUB = [sys.executable, "-m", "app.counterparts.iscs_program", "--quiet"]


def handoff(journal: Path, *extra: str, **kw: float) -> IscsHandoff:
    return IscsHandoff(STUB[0], [*STUB[1:], "--journal", str(journal), *extra], **kw)  # type: ignore[arg-type]


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 120) -> None:
    async def main() -> None:
        async with asyncio.timeout(timeout):
            await scenario()

    asyncio.run(main())


async def until(pred: Callable[[], bool]) -> None:
    while not pred():
        await asyncio.sleep(0.02)


def handled(journal: Path) -> list[str]:
    return journal.read_text().split() if journal.exists() else []


def test_every_hand_off_is_handled_exactly_once(tmp_path: Path) -> None:
    journal = tmp_path / "handled.txt"
    sent: list[str] = []

    async def scenario() -> None:
        h = handoff(journal, capacity=100_000)
        await h.start()
        try:
            for n in range(3000):
                kind = (HandoffKind.SHOW_STATION, HandoffKind.SHOW_DEVICE, HandoffKind.SHOW_ALARM)[
                    n % 3
                ]
                sent.append(h.hand_off(kind, station="S01", device=f"W{n}").id)
            await until(lambda: h.delivered == 3000)
            assert len(h.outbox) == 0 and h.state is IscsState.READY and h.launches == 1
        finally:
            await h.aclose()

    run(scenario)
    ids = handled(journal)
    assert sorted(ids) == sorted(sent) and len(set(ids)) == len(ids)


def test_killed_mid_stream_and_relaunched_nothing_lost_nothing_twice(tmp_path: Path) -> None:
    journal = tmp_path / "handled.txt"
    sent: list[str] = []

    async def scenario() -> None:
        # The program crashes after every 400 new hand-offs; the HMI relaunches it.
        h = handoff(journal, "--exit-after", "400", capacity=100_000)
        await h.start()
        try:
            for n in range(1500):
                sent.append(h.hand_off(HandoffKind.SHOW_DEVICE, device=f"W{n}").id)
                if n % 100 == 0:
                    await asyncio.sleep(0)
            await until(lambda: h.delivered == 1500)
            assert h.launches >= 4
        finally:
            await h.aclose()

    run(scenario)
    ids = handled(journal)
    assert len(ids) == len(set(ids)) == 1500, "an id handled twice, or one lost"
    assert set(ids) == set(sent)


def test_a_program_that_stops_reading_gets_a_bounded_outbox(tmp_path: Path) -> None:
    superseded: list[Handoff] = []

    async def scenario() -> None:
        h = handoff(
            tmp_path / "j.txt",
            "--stop-reading-after",
            "5",
            capacity=50,
            answer_s=0.5,
            high_water=4096,
        )
        h.superseded.connect(superseded.append)
        await h.start()
        try:
            h.hand_off(HandoffKind.SHOW_STATION, station="S01")
            await until(lambda: h.state is IscsState.READY)
            for n in range(5000):
                h.hand_off(HandoffKind.SHOW_STATION, station=f"S{n % 23:02d}")
                if n % 200 == 0:
                    await asyncio.sleep(0.01)
            await until(lambda: h.state is IscsState.NOT_ANSWERING)
            assert len(h.outbox) <= 50
        finally:
            await h.aclose()

    run(scenario)
    assert len(superseded) > 4000  # the dispatcher was told each time


def test_wrong_secret_and_garbage_are_refused_and_the_channel_goes_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = handoff(tmp_path / "j.txt")
        await h.start()
        try:
            # A client without the secret.
            r, w = await asyncio.open_connection("127.0.0.1", h.port)
            w.write(IscsConnection("x").send(IscsHello("not-the-secret", "intruder")))
            assert await r.read() == b""  # closed without a word
            w.close()
            assert h.refused == 1
            # A client with the secret that then sends garbage.
            r, w = await asyncio.open_connection("127.0.0.1", h.port)
            w.write(IscsConnection("x").send(IscsHello(h.secret, "broken")))
            await until(lambda: h.state is IscsState.READY)
            w.write(b"MH" + b"\xff" * 60)
            assert await r.read() == b""
            w.close()
            assert h.bad_messages == 1
            # The real program still gets its hand-offs.
            item = h.hand_off(HandoffKind.SHOW_ALARM, alarm_id="A-1")
            await until(lambda: h.delivered == 1)
            assert item.id not in h.outbox
        finally:
            await h.aclose()

    run(scenario)


def test_oversize_and_malformed_messages_close_the_channel_and_it_reopens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An authenticated peer sending too much or nonsense is cut off, logged, counted."""
    from app.protocol.frames import MessageType, encode_frame

    async def refused(h: IscsHandoff, data: bytes) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", h.port)
        w.write(IscsConnection("x").send(IscsHello(h.secret, "bad-peer")))
        await until(lambda: h.state is IscsState.READY)
        w.write(data)
        assert await r.read() == b""  # the HMI closed the channel
        w.close()

    async def scenario() -> None:
        journal = tmp_path / "j.txt"
        h = handoff(journal)
        await h.start()
        try:
            # an acknowledgement of 20 KiB (the limit is 16 KiB), frame seq 1 after the hello
            big = b'{"v":1,"id":"' + b"x" * 20_000 + b'"}'
            await refused(h, encode_frame(MessageType.ISCS_ACK, 1, big))
            assert h.bad_messages == 1
            # a well-framed message the program may not send (a hand-off to the HMI)
            wrong = IscsConnection("x")
            wrong.send(IscsHello(h.secret, "bad-peer"))
            await refused(h, wrong.send(Handoff("h1", HandoffKind.SHOW_STATION, "S1")))
            assert h.bad_messages == 2
            # JSON that is not an acknowledgement
            await refused(h, encode_frame(MessageType.ISCS_ACK, 1, b'{"v":1}'))
            assert h.bad_messages == 3
            # the channel opens again for the real program, which gets everything
            items = [h.hand_off(HandoffKind.SHOW_DEVICE, device=f"W{i}") for i in range(20)]
            await until(lambda: h.delivered == 20)
            assert sorted(handled(journal)) == sorted(i.id for i in items)
        finally:
            await h.aclose()

    with caplog.at_level("WARNING", logger="app.iscs.handoff"):
        run(scenario)
    warnings = [r.getMessage() for r in caplog.records if "ISCS channel" in r.getMessage()]
    assert len(warnings) >= 3, warnings
    assert any("exceeds" in m for m in warnings), warnings
