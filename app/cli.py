"""``dispatcher-cli``: the headless client. ``state`` prints the live line state as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from app.config import ConfigError, load_line, load_workstation
from app.paths import default_workstation_file
from app.session import DispatcherSession
from app.wiring import build_session, configure_logging, configured_endpoints, override_endpoints


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
    configure_logging(args.log_level)
    try:
        ws = load_workstation(args.config)
        endpoints = override_endpoints(args.server) or configured_endpoints(ws)
        session = build_session(ws, load_line(ws.line), endpoints)
    except ConfigError as exc:
        print(f"dispatcher-cli: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"dispatcher-cli: --server: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(cmd_state(session, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
