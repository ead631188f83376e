"""The reference ISCS program, without a window.

    python -m app.counterparts.iscs_program --port P [--journal FILE]


It stands for the integrated supervisory control program the HMI launches. It
connects to the HMI's loopback channel, says HELLO with the one-time secret
from ``DISPATCHER_ISCS_SECRET``, then for each hand-off: if its id is new, it
*handles* it (here: prints the context, and appends the id to the journal),
then acknowledges the id; an id it has already handled is only acknowledged.
The journal makes "handled once" survive a crash and a relaunch: it is read at
start, and an id is written (and flushed) before its acknowledgement.

The window (``ui/counterparts/iscs_window.py``) speaks ``--lang`` (default: what the HMI
passes in ``DISPATCHER_LANGUAGE``) and names stations and times as ``--line`` does
(default: the HMI's line file, ``DISPATCHER_LINE_FILE``); this one ignores both.

Test switches: ``--stop-reading-after N`` (stops reading after N hand-offs and
hangs), ``--exit-after N`` (dies after handling N new ones), ``--quiet``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.iscs.connection import IscsConnection
from app.iscs.handoff import LANGUAGE_ENV, LINE_ENV, SECRET_ENV
from app.iscs.messages import Handoff, HandoffAck, IscsHello, IscsMessageError


class Journal:
    """The ids handled lately: in memory a bounded window, on disk every one.

    The HMI sends again only what it has not seen acknowledged, at most its
    outbox's capacity (64), so remembering the last ``WINDOW`` ids is enough to
    drop every repeat, and memory stays flat however long the program runs.
    """

    WINDOW = 4096

    def __init__(self, path: str | None) -> None:
        self.recent: collections.deque[str] = collections.deque(maxlen=self.WINDOW)
        self.handled: set[str] = set()
        self.total = 0
        self._file = None
        if path:
            p = Path(path)
            if p.exists():
                with p.open(encoding="utf-8") as f:
                    for line in collections.deque(f, maxlen=self.WINDOW):
                        if line.strip():
                            self._remember(line.strip())
            self._file = p.open("a", encoding="utf-8")

    def __contains__(self, handoff_id: str) -> bool:
        return handoff_id in self.handled

    def _remember(self, handoff_id: str) -> None:
        if len(self.recent) == self.recent.maxlen:
            self.handled.discard(self.recent[0])
        self.recent.append(handoff_id)
        self.handled.add(handoff_id)

    def add(self, handoff_id: str) -> None:
        self._remember(handoff_id)
        self.total += 1
        if self._file is not None:
            self._file.write(handoff_id + "\n")
            self._file.flush()


def print_handoff(msg: Handoff) -> None:
    """The console program's way of handling a hand-off: one line on stdout."""
    print(
        f"iscs-stub: {msg.kind} station={msg.station} device={msg.device} "
        f"alarm={msg.alarm_id} by {msg.dispatcher}"
    )


async def run(
    args: argparse.Namespace, handle: Callable[[Handoff], None] | None = print_handoff
) -> int:
    """Connect, say hello, then handle each new hand-off once and acknowledge every one.

    ``handle`` owns the message it is given (a value decoded from the channel);
    it runs before the id is journalled and acknowledged, so an id is
    acknowledged only once it was handled.
    """
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        print(f"iscs-stub: no {SECRET_ENV} in the environment", file=sys.stderr)
        return 2
    journal = Journal(args.journal)
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    conn = IscsConnection("hmi")
    writer.write(conn.send(IscsHello(secret, "iscs-stub")))
    print(f"iscs-stub: connected to 127.0.0.1:{args.port}; {len(journal.handled)} ids remembered")
    seen = handled_here = 0
    while data := await reader.read(65536):
        conn.receive_data(data)
        try:
            while (msg := conn.next_message()) is not None:
                if not isinstance(msg, Handoff):
                    raise IscsMessageError(f"unexpected {type(msg).__name__}")
                seen += 1
                if msg.id not in journal:
                    if handle is not None:
                        handle(msg)
                    journal.add(msg.id)
                    handled_here += 1
                    if args.exit_after and handled_here >= args.exit_after:
                        os._exit(3)  # a crash: no goodbye, no flush beyond the journal's
                writer.write(conn.send(HandoffAck(msg.id)))
                if args.stop_reading_after and seen >= args.stop_reading_after:
                    print("iscs-stub: not reading any more", flush=True)
                    await asyncio.Event().wait()  # hang, reading nothing
        except IscsMessageError as exc:
            print(f"iscs-stub: {exc}", file=sys.stderr)
            return 1
        await writer.drain()
    return 0


def build_parser(prog: str = "iscs-stub") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--journal", help="file of handled ids (read at start, appended to)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--stop-reading-after", type=int, default=0)
    p.add_argument("--exit-after", type=int, default=0)
    p.add_argument(
        "--lang",
        choices=("zh_CN", "en"),
        default=os.environ.get(LANGUAGE_ENV) or None,
        help=f"the window's language (default: ${LANGUAGE_ENV}, as the HMI passes it, "
        "else the user's choice)",
    )
    p.add_argument(
        "--line",
        default=os.environ.get(LINE_ENV) or None,
        help=f"the line file: station names and time zone (default: ${LINE_ENV}, as the "
        "HMI passes it, else the demo line)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(run(args, None if args.quiet else print_handoff))
    except (ConnectionError, OSError) as exc:
        print(f"iscs-stub: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
