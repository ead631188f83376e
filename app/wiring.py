"""Builds a dispatcher session from the workstation configuration (the composition root).

The GUI and the headless CLI both start here, so they connect, time out and
log the same way.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from app.comms.link import LinkTimings
from app.config import Address, Workstation
from app.model.topology import Line
from app.session import DispatcherSession, Endpoint

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Timestamped log lines on stderr, the same in every program of the project."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        stream=sys.stderr,
        format=LOG_FORMAT,
        datefmt="%Y-%m-%d %H:%M:%S",
    )


def configured_endpoints(ws: Workstation) -> list[Endpoint]:
    """Every address of every server, in configuration order."""
    return [Endpoint(s.id, a.host, a.port) for s in ws.servers for a in s.addresses]


def override_endpoints(texts: Sequence[str]) -> list[Endpoint]:
    """``--server HOST:PORT`` options; raises ValueError naming the bad one."""
    out = []
    for i, text in enumerate(texts, 1):
        addr = Address.parse(text)
        out.append(Endpoint(f"cli{i}", addr.host, addr.port))
    return out


def link_timings(ws: Workstation) -> LinkTimings:
    hb = ws.heartbeat
    return LinkTimings(
        heartbeat_s=hb.interval_ms / 1000,
        missed=hb.missed,
        connect_timeout_s=hb.connect_timeout_ms / 1000,
        reconnect_min_s=hb.reconnect_min_ms / 1000,
        reconnect_max_s=hb.reconnect_max_ms / 1000,
    )


def build_session(ws: Workstation, line: Line, endpoints: Sequence[Endpoint]) -> DispatcherSession:
    return DispatcherSession(
        line,
        endpoints,
        node=ws.id,
        dispatcher=ws.dispatcher,
        role=str(ws.role),
        timings=link_timings(ws),
        command_timeout_s=ws.commands.timeout_ms / 1000,
    )
