"""Device locks as the pipeline sees them: a grant, the ways a lock refuses, and the
lock of a workstation without Redis.

:class:`DeviceLock` is what the command pipeline needs of a lock. Two kinds
provide it: :class:`~app.control.redlock.Redlock` (Redis, shared by every
workstation, with fencing tokens) and :class:`LocalDeviceLock` (one process, no
Redis). Both hand out immutable :class:`LockGrant` objects and refuse with
:class:`LockBusy` (naming the holder) or :class:`LockUnavailable`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from typing import Protocol

__all__ = [
    "DeviceLock",
    "LocalDeviceLock",
    "LockBusy",
    "LockError",
    "LockGrant",
    "LockLost",
    "LockUnavailable",
]


class LockError(Exception):
    """Base of the lock errors; ``resource`` names the lock."""

    def __init__(self, resource: str, message: str) -> None:
        super().__init__(message)
        self.resource = resource


class LockBusy(LockError):
    """Someone else holds the lock; ``holder`` says who (as they named themselves)."""

    def __init__(self, resource: str, holder: str) -> None:
        super().__init__(resource, f"{resource} is held by {holder}")
        self.holder = holder


class LockUnavailable(LockError):
    """Fewer than a quorum of lock nodes answered (or answered in time): fail closed."""

    def __init__(self, resource: str, reason: str) -> None:
        super().__init__(resource, f"lock service unavailable for {resource}: {reason}")
        self.reason = reason


class LockLost(LockError):
    """``extend`` could not confirm our token on a quorum: the lock is no longer ours."""

    def __init__(self, resource: str, reason: str) -> None:
        super().__init__(resource, f"lock on {resource} lost: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LockGrant:
    """One acquisition. Immutable: releasing or losing it never changes this object.

    ``validity_s`` counts from ``acquired_at`` (``time.monotonic()``); past
    ``expires_at`` the lock may belong to someone else, and only the fencing
    token keeps a late command from being executed.
    """

    resource: str
    holder: str
    token: str
    fencing_token: int
    validity_s: float
    acquired_at: float

    @property
    def expires_at(self) -> float:
        return self.acquired_at + self.validity_s

    def remaining_s(self, now: float | None = None) -> float:
        """Seconds of validity left (negative once past)."""
        return self.expires_at - (time.monotonic() if now is None else now)


class DeviceLock(Protocol):
    async def acquire(self, resource: str, holder: str) -> LockGrant: ...
    async def extend(self, grant: LockGrant) -> LockGrant: ...
    async def release(self, grant: LockGrant) -> bool: ...


class LocalDeviceLock:
    """The fallback when no Redis is configured: one workstation, in-process locks.

    It protects against this workstation's own double sends only; the status
    bar says so (``shared = False``), and the server's idempotency check is
    still there. Its grants carry fencing token 0 ("none"): a counter private to
    one process would be compared at the server with another workstation's and
    refuse good commands as stale.
    """

    shared = False

    def __init__(self, holder_ttl_s: float = 30.0) -> None:
        self._held: dict[str, LockGrant] = {}
        self._ttl = holder_ttl_s

    async def acquire(self, resource: str, holder: str) -> LockGrant:
        now = time.monotonic()
        held = self._held.get(resource)
        if held is not None and now - held.acquired_at < self._ttl:
            raise LockBusy(resource, held.holder)
        grant = LockGrant(resource, holder, uuid.uuid4().hex, 0, self._ttl, now)
        self._held[resource] = grant
        return grant

    async def extend(self, grant: LockGrant) -> LockGrant:
        held = self._held.get(grant.resource)
        if held is None or held.token != grant.token:
            raise LockLost(grant.resource, "not held")
        renewed = replace(grant, acquired_at=time.monotonic())
        self._held[grant.resource] = renewed
        return renewed

    async def release(self, grant: LockGrant) -> bool:
        held = self._held.get(grant.resource)
        if held is not None and held.token == grant.token:
            del self._held[grant.resource]
            return True
        return False

    async def aclose(self) -> None:
        """Nothing to close (for symmetry with :class:`~app.control.redlock.Redlock`)."""
