"""One workstation's control services together: Redis clients, device lock, zone authority,
the command pipeline and the audit log, with one status the status bar can show.

Built by :func:`app.wiring.build_control` from the workstation file. Two shapes:

- *shared* (``redis.nodes`` lists one or more servers): the device lock is a
  :class:`~app.control.redlock.Redlock` over every node, zone authority lives in
  the first node. Redis down means commands are refused (fail closed).
- *single workstation* (``redis.nodes: []``, or the demo on a machine with no
  ``redis-server``): a :class:`~app.control.pipeline.LocalDeviceLock` and no zone
  authority. It protects against this workstation's own double sends only, and
  :attr:`ControlService.status` says so plainly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis

from app.control.audit import AuditLog
from app.control.authority import ZoneAuthorityStore
from app.control.clients import close_clients
from app.control.devicelock import LocalDeviceLock
from app.control.pipeline import CommandPipeline
from app.control.redlock import Redlock
from app.events import Event
from app.model.refusal import Refusal, RefusalCode

log = logging.getLogger(__name__)


class ControlMode(StrEnum):
    SHARED = "shared"  # Redis locks and authority, shared with the other workstations
    LOCAL = "local"  # single-workstation lock: no Redis


@dataclass(frozen=True, slots=True)
class ControlStatus:
    """Where control stands, as values (a view words them in its language) and in
    English (``text``, ``detail``: the CLI and the log)."""

    mode: ControlMode
    ok: bool  # commands possible as far as control is concerned
    text: str  # one line for the status bar, in English
    detail: str  # the tooltip: nodes, the last error, in English
    nodes: tuple[str, ...] = ()  # the Redis nodes
    quorum: int = 0  # the lock's quorum (of len(nodes))
    refusal: Refusal | None = None  # why commands are refused (not ok)


class ControlService:
    """Owns what it is given: :meth:`aclose` closes the authority, the lock, the clients and
    the audit log."""

    def __init__(
        self,
        pipeline: CommandPipeline,
        *,
        lock: Redlock | LocalDeviceLock,
        authority: ZoneAuthorityStore | None,
        clients: list[aioredis.Redis],
        audit: AuditLog,
        nodes: tuple[str, ...] = (),
    ) -> None:
        self.pipeline = pipeline
        self.lock = lock
        self.authority = authority
        self.clients = clients
        self.audit = audit
        self.nodes = nodes
        self.mode = ControlMode.LOCAL if isinstance(lock, LocalDeviceLock) else ControlMode.SHARED
        self.status_changed: Event[ControlStatus] = Event("control.status")
        self._closed = False
        if authority is not None:
            authority.availability.connect(self._on_availability)

    def start(self) -> None:
        if self.authority is not None:
            self.authority.start()

    async def aclose(self) -> None:
        """Close everything it owns; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self.authority is not None:
            self.authority.availability.disconnect(self._on_availability)
            await self.authority.aclose()
        await self.lock.aclose()
        await close_clients(self.clients)
        await self.audit.aclose()

    def _on_availability(self, _available: bool) -> None:
        self.status_changed.emit(self.status())

    def status(self) -> ControlStatus:
        if self.mode is ControlMode.LOCAL:
            return ControlStatus(
                self.mode,
                True,
                "single-workstation lock (no Redis)",
                "No Redis is configured: device locks protect this workstation's own "
                "commands only, and zone control is not shared with other workstations.",
            )
        where = ", ".join(self.nodes)
        quorum = self.lock_quorum()
        if self.authority is not None and self.authority.available:
            of = f"; lock quorum {quorum} of {len(self.nodes)}" if len(self.nodes) > 1 else ""
            return ControlStatus(
                self.mode, True, "Redis up", f"Redis {where}{of}", self.nodes, quorum
            )
        refusal = (
            self.authority.unavailable_refusal()
            if self.authority is not None
            else Refusal.of(RefusalCode.AUTHORITY_UNAVAILABLE)
        )
        return ControlStatus(
            self.mode,
            False,
            "REDIS DOWN: commands refused",
            f"Redis {where}: {refusal}",
            self.nodes,
            quorum,
            refusal,
        )

    def lock_quorum(self) -> int:
        return self.lock.quorum if isinstance(self.lock, Redlock) else 1
