"""A real black-box recording for the replay window's tests: a simulator pair running
the demo weekday at 60×, a dispatcher's session recorded for some seconds, master A
killed (SIGKILL) half-way, B taking over; one command refused by the server on the
way, so that the recording holds a command. Run as a script it writes one to a folder
(``python -m tests.ui.replay_recording FOLDER``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from app.config import load_line
from app.config.timetable import load_timetable
from app.counterparts.sim.launcher import SimulatorPair
from app.model.commands import CommandOp
from app.model.topology import Line
from app.paths import default_line_file
from app.replay.recorder import Recorder, RecorderSettings
from app.session import DispatcherSession
from app.wiring import offline_control
from tests.integration.test_blackbox import DEMO_WEEKDAY, RECORDED_MORNING


async def _until(predicate: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def make_recording(root: Path, line: Line, journal_dir: Path, seconds: float = 8.0) -> None:
    """Record ``seconds`` of a pair at 60× under ``root`` (a failover half-way)."""
    plan = load_timetable(DEMO_WEEKDAY, line)
    pair = SimulatorPair(
        default_line_file(),
        RECORDED_MORNING,
        journal_dir=journal_dir,
    )
    pair.start()
    try:
        session = DispatcherSession(
            line,
            pair.endpoints,
            node="WS-RP",
            dispatcher="tester",
            role="dispatcher",
            timetable=plan,
            late_alarm_s=120,
        )
        control = offline_control(session, line, session.state, dispatcher="tester", node="WS-RP")
        pipeline = control.pipeline
        recorder = Recorder(
            RecorderSettings(root, keyframe_ms=2_000, train_sample_ms=500),
            session,
            commands=pipeline.finished,
        )

        async def scenario() -> None:
            session.start()
            recorder.start()
            try:
                await _until(lambda: session.state.synchronised, 15)
                await asyncio.sleep(seconds / 2)
                switch = sorted(line.switch_by_id)[0]
                await pipeline.execute(pipeline.intent(switch, CommandOp.LOCK_SWITCH))
                await asyncio.sleep(0.5)
                os.kill(pair.procs["A"].pid, signal.SIGKILL)
                await _until(
                    lambda: session.master.server == "B" and session.state.synchronised, 20
                )
                await asyncio.sleep(seconds / 2)
            finally:
                await recorder.aclose()
                await session.aclose()

        asyncio.run(scenario())
    finally:
        pair.stop()


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    make_recording(out / "blackbox", load_line(default_line_file()), out)
