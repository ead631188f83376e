"""A recorder in a process of its own, for the kill test: records a session against
the servers named on the command line until it is killed.

``python -m tests.integration.recording_child ROOT SERVER@HOST:PORT ...``; prints
``recording`` once the state is synchronised and records flow.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.config.line import load_line
from app.paths import default_line_file
from app.replay.recorder import Recorder, RecorderSettings
from app.session import DispatcherSession, Endpoint


def endpoint(text: str) -> Endpoint:
    server, _, address = text.partition("@")
    host, _, port = address.rpartition(":")
    return Endpoint(server, host, int(port))


async def main(root: Path, endpoints: list[Endpoint]) -> None:
    line = load_line(default_line_file())
    session = DispatcherSession(line, endpoints, node="WS-K", dispatcher="k", role="observer")
    recorder = Recorder(RecorderSettings(root, keyframe_ms=2_000, train_sample_ms=200), session)
    session.start()
    recorder.start()
    while not session.state.synchronised or recorder.records < 20:
        await asyncio.sleep(0.05)
    print("recording", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), [endpoint(a) for a in sys.argv[2:]]))
