"""``dispatcher-cli``: the headless client. ``state`` prints the live line state as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from app.comms.link import LinkTimings
from app.config import ConfigError, Workstation, load_line, load_workstation
from app.paths import default_workstation_file
from app.session import DispatcherSession, Endpoint


def endpoints_from(ws: Workstation, overrides: Sequence[str]) -> list[Endpoint]:
    if overrides:
        out = []
        for text in overrides:
            host, _, port = text.rpartition(":")
            out.append(Endpoint("cli", host.strip("[]"), int(port)))
        return out
    return [Endpoint(s.id, a.host, a.port) for s in ws.servers for a in s.addresses]


def session_for(
    ws: Workstation, endpoints: Sequence[Endpoint], *, node_suffix: str = ""
) -> DispatcherSession:
    hb = ws.heartbeat
    timings = LinkTimings(
        heartbeat_s=hb.interval_ms / 1000,
        missed=hb.missed,
        connect_timeout_s=hb.connect_timeout_ms / 1000,
        reconnect_min_s=hb.reconnect_min_ms / 1000,
        reconnect_max_s=hb.reconnect_max_ms / 1000,
    )
    return DispatcherSession(
        load_line(ws.line),
        endpoints,
        node=ws.id + node_suffix,
        dispatcher=ws.dispatcher,
        role=ws.role,
        timings=timings,
        command_timeout_s=ws.commands.timeout_ms / 1000,
    )


async def cmd_state(session: DispatcherSession, wait_s: float) -> int:
    session.start()
    try:
        async with asyncio.timeout(wait_s):
            await session.wait_synchronised()
        # Taken before closing: a closed session no longer vouches for its state.
        state = session.state.to_json()
    except TimeoutError:
        errors = "; ".join(f"{i.name}: {i.state} {i.last_error}" for i in session.link_infos())
        print(f"dispatcher-cli: no line state within {wait_s:g} s ({errors})", file=sys.stderr)
        return 1
    finally:
        await session.close()
    json.dump(state, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dispatcher-cli", description=__doc__)
    p.add_argument(
        "--config", default=str(default_workstation_file()), help="workstation file (YAML)"
    )
    p.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="connect here instead of the configured servers (repeatable)",
    )
    p.add_argument("--log-level", default="WARNING")
    sub = p.add_subparsers(dest="command", required=True)
    st = sub.add_parser("state", help="connect, print the current line state as JSON, exit")
    st.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (default 10)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        ws = load_workstation(args.config)
        session = session_for(ws, endpoints_from(ws, args.server))
    except ConfigError as exc:
        print(f"dispatcher-cli: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(cmd_state(session, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
