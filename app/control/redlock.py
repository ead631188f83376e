"""Device locks over one or several independent Redis servers (Redlock), with fencing tokens.

Why: several dispatchers share a switch zone, and two clients sending the same
command to the same device sent it twice. Before a command goes out, the
workstation takes the device's lock; a second dispatcher is told who holds it
(:class:`LockBusy`) and sends nothing.

**A lock is for efficiency, the fencing token is for correctness.** Every lock
has a TTL (a crashed client must not lock a device forever), so a client paused
past its TTL (SIGSTOP, a long GC, a VM migration) can wake up still believing it
holds the lock. Each grant therefore carries a fencing token, from a per-device
counter that only grows, and the server refuses a token lower than the highest
it has seen for that device (``app/counterparts/sim/guard.py``).

Algorithm (one asyncio thread; the caller builds the clients, see
:func:`app.control.clients.clients_for`; the fan-out to the nodes is
``app/control/lanes.py``, the scripts ``app/control/lua/lock_*.lua``):

- ``acquire``: a fresh random token per acquisition (``secrets.token_hex``; never
  stored on the ``Redlock``, never thread- or task-local, so no task can ever
  release with another task's token). One Lua script per node, on every node in
  parallel within one deadline (``op_timeout_s``): ``SET key value NX PX ttl``
  and, only if that succeeded, ``INCR`` of the device's fence counter; otherwise
  it returns the current value, so a refusal names the holder without another
  round trip. A quorum (N//2+1) of grants and a positive validity
  (``ttl − elapsed − (ttl·drift_factor + 2 ms)``) make a grant. Otherwise whatever
  was taken is released on every node (in parallel) and, after a random delay,
  tried again up to ``retry_count`` times. A lock that a quorum shows held by one
  other holder is refused at once (:class:`LockBusy`): waiting would only send
  the same command after that holder's, which is the double send this prevents.
  Fewer than a quorum of nodes answering is :class:`LockUnavailable`: fail closed.
- ``release``: compare-token-then-delete (Lua) on every node in parallel; a node
  that is down just lets its key expire.
- ``extend``: compare-token-then-PEXPIRE (Lua) on every node; a quorum or
  :class:`LockLost`.

Fencing, and why the max over the quorum stays monotonic: the token of a grant
is the max of the counters the granting nodes returned; when those differ (a
node missed earlier grants while it was down), the lagging nodes of the quorum
are raised to that max before the grant is returned (one more round trip, only
then). So when a grant is handed out, at least a quorum of nodes hold a counter
≥ its token. Any later grant needs a quorum too, and two quorums of N nodes
share at least one node, whose INCR then returns more than the earlier token:
the max the later grant takes is strictly greater, even when a node of the
first quorum died and another node is in the next quorum. Counters are not
consecutive (failed attempts increment the nodes they reached); the server only
needs them to grow. The counter keys have no TTL, on purpose: one small integer
per device.

Known limit: this assumes nodes keep their data. A node restarted without
persistence (or a failover to a replica that missed the INCR) comes back with a
lower counter; if it is the only node two successive quorums share, the later
token can be lower. Run the lock nodes with ``appendonly yes`` (``appendfsync
always`` for a strict guarantee) or N ≥ 5 so that quorums share several nodes.
As a partial guard, each ``Redlock`` remembers the highest token it has seen per
resource and never hands out a lower one: its next grant writes that floor into
the nodes' counters, so every workstation continues above it from then on. Until
then (N = 1 restarted empty, and a workstation without that memory locks first),
a new token is lower than the server's highest and its command is refused as
stale: safe, not available. Validity also rests on bounded clock drift between
the client and the nodes (the Redlock assumption); correctness does not, because
the server checks the fencing token.

Traps guarded against (redis-py's lock and its issues):

- The token is cleared before the release completes, so a cancelled or failed
  release leaves a lock nobody can release (redis-py #3847, #4258): grants are
  immutable, and this object forgets a grant only once a quorum answered.
- A token kept per thread is shared by the asyncio tasks of that thread, so one
  task releases another's lock: a token per acquisition, carried by the grant.
- ``PEXPIRE key 0`` deletes the key and the renewal reports success (redis-py
  #4279): a TTL must be positive, checked here and in the scripts; no lock is
  ever taken without one.
- A command abandoned at its timeout leaves its reply on the connection, to be
  read as the answer to the next command: every interrupted read disconnects.
- A cancelled acquire leaves keys on the nodes that had granted: they are
  released in the background (:meth:`Redlock.drain` waits), and expire anyway.

Multi-key scripts (lock and fence key together) make this layout for
independent single Redis servers, not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import redis.asyncio as aioredis

from app.control import lua
from app.control.clients import client_from_url, clients_for, close_clients
from app.control.devicelock import LockBusy, LockError, LockGrant, LockLost, LockUnavailable
from app.control.lanes import NODE_FAILURES, Command, Failed, Lanes, Script

__all__ = [
    "NODE_FAILURES",
    "LockBusy",
    "LockCounters",
    "LockError",
    "LockGrant",
    "LockLost",
    "LockUnavailable",
    "Redlock",
    "client_from_url",
    "clients_for",
    "close_clients",
    "fence_key",
]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LockCounters:
    """Diagnostics; they only grow.

    ``released``: releases that deleted our lock; ``release_errors``: nodes that did
    not answer a :meth:`Redlock.release` (their keys expire by the TTL);
    ``node_errors``: every node failure or timeout, whatever the operation.
    """

    acquired: int = 0
    busy: int = 0
    unavailable: int = 0
    released: int = 0
    release_errors: int = 0
    extended: int = 0
    lost: int = 0
    retries: int = 0
    node_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_SCRIPT_ACQUIRE = Script(lua.source("lock_acquire"))
_SCRIPT_RAISE_FENCE = Script(lua.source("lock_raise_fence"))
_SCRIPT_RELEASE = Script(lua.source("lock_release"))
_SCRIPT_EXTEND = Script(lua.source("lock_extend"))


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _encode(token: str, holder: str) -> str:
    # Deterministic (release and extend compare the exact bytes) and ASCII whatever
    # the holder's name, so every client encoding stores the same bytes.
    return json.dumps({"t": token, "h": holder}, separators=(",", ":"))


def _holder_of(value: str) -> str:
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    holder = decoded.get("h") if isinstance(decoded, dict) else None
    return holder if isinstance(holder, str) else value


class Redlock:
    """Locks with fencing tokens over ``clients`` (1, 3 or 5 independent Redis servers).

    ``ttl_ms`` is every lock's time to live (always > 0: no lock without a TTL).
    ``retry_count`` is how many times an acquisition is tried again after the first
    attempt, each after a random delay within ``retry_delay_ms``. Each round of
    node commands is bounded by ``op_timeout_s``, so a dead or paused node costs at
    most that per attempt.

    The clients stay the caller's. Each operation in flight uses one connection per
    node taken from the clients' pools (a *lane*: the nodes are written to first and
    read after, so they answer in parallel without a task per node); lanes are kept
    for the next operation. :meth:`aclose` returns them to the pools; closing the
    clients closes them too.
    """

    def __init__(
        self,
        clients: Sequence[aioredis.Redis],
        *,
        ttl_ms: int = 5000,
        retry_count: int = 3,
        retry_delay_ms: tuple[int, int] = (50, 200),
        drift_factor: float = 0.01,
        prefix: str = "dhmi",
        op_timeout_s: float = 0.2,
    ) -> None:
        if not clients:
            raise ValueError("Redlock needs at least one Redis client")
        _check_ttl(ttl_ms)
        if retry_count < 0:
            raise ValueError("retry_count must be >= 0")
        lo, hi = retry_delay_ms
        if not 0 <= lo <= hi:
            raise ValueError("retry_delay_ms must be (low, high) with 0 <= low <= high")
        if drift_factor < 0:
            raise ValueError("drift_factor must be >= 0")
        if op_timeout_s <= 0:
            raise ValueError("op_timeout_s must be > 0")
        self.counters = LockCounters()
        self._lanes = Lanes(clients, op_timeout_s=op_timeout_s, on_failure=self._node_failed)
        self.size = self._lanes.size
        self.quorum = self.size // 2 + 1
        self.ttl_ms = int(ttl_ms)
        self.retry_count = retry_count
        self.retry_delay_ms = (lo, hi)
        self.drift_factor = drift_factor
        self.prefix = prefix
        self.op_timeout_s = op_timeout_s
        # Grants this object handed out and has not settled a release of (by token).
        self._live: dict[str, LockGrant] = {}
        # The highest fencing token seen per resource: never hand out a lower one.
        self._highest: dict[str, int] = {}
        # Releases started when an acquire was cancelled (kept referenced until done).
        self._cleanups: set[asyncio.Task[tuple[int, int]]] = set()

    def lock_key(self, resource: str) -> str:
        return f"{self.prefix}:lock:{resource}"

    def fence_key(self, resource: str) -> str:
        return fence_key(self.prefix, resource)

    # -- acquire -------------------------------------------------------------

    async def acquire(self, resource: str, holder: str) -> LockGrant:
        """Take ``resource`` for ``holder`` (e.g. ``"dispatcher@workstation"``).

        Raises :class:`LockBusy` (naming the holder) or :class:`LockUnavailable`.
        A cancelled acquire releases whatever it had taken, in the background; at
        worst its keys expire after the TTL.
        """
        key, fence = self.lock_key(resource), self.fence_key(resource)
        busy_value: str | None = None
        reason = ""
        for attempt in range(self.retry_count + 1):
            if attempt:
                self.counters.retries += 1
                lo, hi = self.retry_delay_ms
                await asyncio.sleep(random.uniform(lo, hi) / 1000.0)
            token = secrets.token_hex(16)
            value = _encode(token, holder)
            try:
                outcome = await self._attempt(resource, key, fence, holder, token, value)
            except asyncio.CancelledError:
                # Some nodes may have granted already: free them now rather than at the TTL.
                self._cleanup(key, value)
                raise
            if isinstance(outcome, LockGrant):
                self.counters.acquired += 1
                return outcome
            kind, detail = outcome
            if kind == "busy":
                self.counters.busy += 1
                raise LockBusy(resource, _holder_of(detail))
            if kind == "contended":
                busy_value, reason = detail, ""
            else:
                busy_value, reason = None, detail
        if busy_value is not None:
            self.counters.busy += 1
            raise LockBusy(resource, _holder_of(busy_value))
        self.counters.unavailable += 1
        raise LockUnavailable(resource, reason)

    async def _attempt(
        self, resource: str, key: str, fence: str, holder: str, token: str, value: str
    ) -> LockGrant | tuple[str, str]:
        """One round: a grant, or (``busy`` | ``contended`` | ``unavailable``, detail)."""
        floor = self._highest.get(resource, 0)
        start = time.monotonic()
        replies = await self._round(
            *_SCRIPT_ACQUIRE.call((key, fence), (value, self.ttl_ms, floor))
        )
        granted: list[tuple[int, int]] = []  # (node, its counter)
        others: list[str] = []
        failed: list[Failed] = []
        for node, reply in enumerate(replies):
            if isinstance(reply, Failed):
                failed.append(reply)
            elif int(reply[0]) == 1:
                granted.append((node, int(reply[1])))
            else:
                others.append(_text(reply[1]))
        if len(granted) >= self.quorum:
            fencing, confirmed = await self._settle_fence(fence, granted)
            elapsed = time.monotonic() - start
            validity = self.ttl_ms / 1000.0 - elapsed - self._drift_s(self.ttl_ms)
            if confirmed >= self.quorum and validity > 0:
                if fencing > floor:
                    self._highest[resource] = fencing
                grant = LockGrant(resource, holder, token, fencing, validity, time.monotonic())
                self._remember(grant)
                return grant
            await self._release_value(key, value)
            if confirmed < self.quorum:
                return "unavailable", f"fence counter confirmed on {confirmed} of {self.size} nodes"
            return "unavailable", f"acquiring took {elapsed * 1000:.0f} ms, no validity left"
        if granted or failed:
            # A node that timed out may still have executed the SET: release everywhere.
            await self._release_value(key, value)
        answered = self.size - len(failed)
        if answered < self.quorum:
            return "unavailable", (
                f"{answered} of {self.size} nodes answered, {self.quorum} needed"
                f" (first error: {failed[0]})"
            )
        if not others:
            return "unavailable", f"no quorum of {self.quorum} of {self.size} nodes"
        top, count = Counter(others).most_common(1)[0]
        return ("busy" if count >= self.quorum else "contended"), top

    async def _settle_fence(self, fence: str, granted: list[tuple[int, int]]) -> tuple[int, int]:
        """The grant's fencing token and on how many nodes the counter is now >= it."""
        fencing = max(c for _, c in granted)
        lagging = [node for node, c in granted if c < fencing]
        if not lagging:
            return fencing, len(granted)
        replies = await self._round(*_SCRIPT_RAISE_FENCE.call((fence,), (fencing,)), lagging)
        raised = sum(1 for r in replies if not isinstance(r, Failed) and int(r) >= fencing)
        return fencing, len(granted) - len(lagging) + raised

    def _cleanup(self, key: str, value: str) -> None:
        task = asyncio.get_running_loop().create_task(self._release_value(key, value))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    # -- release, extend, holder ---------------------------------------------

    async def release(self, grant: LockGrant) -> bool:
        """Delete the lock on every node where it still carries our token.

        True when a quorum of nodes answered and the lock was still ours (on at
        least one of them); False when it had expired everywhere that answered, or
        when too few nodes answered (their keys expire by the TTL). Node errors are
        counted in ``counters.release_errors``, never raised.

        Cancel-safe: the grant is immutable and this object forgets it only after a
        quorum has answered, so a cancelled (or failed) release leaves
        :meth:`owns` true and the same grant can be released again (deleting is
        compare-and-delete, so repeating it is harmless).
        """
        deleted, answered = await self._release_value(
            self.lock_key(grant.resource), _encode(grant.token, grant.holder)
        )
        self.counters.release_errors += self.size - answered
        if answered < self.quorum:
            return False
        self._live.pop(grant.token, None)
        if deleted:
            self.counters.released += 1
            return True
        return False

    async def _release_value(self, key: str, value: str) -> tuple[int, int]:
        """(nodes where our value was deleted, nodes that answered)."""
        replies = await self._round(*_SCRIPT_RELEASE.call((key,), (value,)))
        failed = sum(1 for r in replies if isinstance(r, Failed))
        deleted = sum(1 for r in replies if not isinstance(r, Failed) and int(r) == 1)
        return deleted, len(replies) - failed

    async def extend(self, grant: LockGrant, ttl_ms: int | None = None) -> LockGrant:
        """Reset the TTL to ``ttl_ms`` (default: the lock's) where the lock is still ours.

        Returns the grant with its new validity (same token and fencing token).
        Raises :class:`LockLost` when fewer than a quorum confirm our token: it
        expired and maybe someone else took it, or too few nodes answered to know.
        Never revives an expired lock (it only touches keys that carry our token).
        """
        ttl = self.ttl_ms if ttl_ms is None else int(ttl_ms)
        _check_ttl(ttl)
        key, value = self.lock_key(grant.resource), _encode(grant.token, grant.holder)
        start = time.monotonic()
        replies = await self._round(*_SCRIPT_EXTEND.call((key,), (value, ttl)))
        ours = sum(1 for r in replies if not isinstance(r, Failed) and int(r) == 1)
        failed = [r for r in replies if isinstance(r, Failed)]
        elapsed = time.monotonic() - start
        validity = ttl / 1000.0 - elapsed - self._drift_s(ttl)
        if ours >= self.quorum and validity > 0:
            self.counters.extended += 1
            extended = replace(grant, validity_s=validity, acquired_at=time.monotonic())
            self._remember(extended)
            return extended
        self.counters.lost += 1
        self._live.pop(grant.token, None)
        if ours >= self.quorum:
            raise LockLost(grant.resource, f"extending took {elapsed * 1000:.0f} ms")
        detail = f"our token confirmed on {ours} of {self.size} nodes"
        if failed:
            detail += f", {len(failed)} did not answer (first error: {failed[0]})"
        raise LockLost(grant.resource, detail)

    async def holder(self, resource: str) -> str | None:
        """Who holds ``resource`` now, as read from the nodes that answer (None: free).

        Raises :class:`LockUnavailable` when no node answers: "free" is never guessed.
        """
        replies = await self._round(("GET", self.lock_key(resource)))
        answers = [r for r in replies if not isinstance(r, Failed)]
        if not answers:
            raise LockUnavailable(resource, f"no node answered (first error: {replies[0]})")
        values = Counter(_text(v) for v in answers if v is not None)
        if not values:
            return None
        return _holder_of(values.most_common(1)[0][0])

    def owns(self, grant: LockGrant) -> bool:
        """This object's belief, without I/O: not released (settled) and still valid."""
        live = self._live.get(grant.token)
        return live is not None and live.remaining_s() > 0

    async def drain(self) -> None:
        """Wait for the releases started by cancelled acquisitions."""
        while self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)

    async def aclose(self) -> None:
        """Finish background releases and give the idle lanes' connections back.

        Closing again is harmless; the lock stays usable (it takes connections again).
        """
        await self.drain()
        await self._lanes.aclose()

    async def __aenter__(self) -> Redlock:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- plumbing --------------------------------------------------------------

    def _remember(self, grant: LockGrant) -> None:
        if len(self._live) >= 1024:  # forgotten grants: drop the expired ones
            now = time.monotonic()
            for token in [t for t, g in self._live.items() if g.expires_at < now]:
                del self._live[token]
        self._live[grant.token] = grant

    def _drift_s(self, ttl_ms: int) -> float:
        return (ttl_ms * self.drift_factor + 2) / 1000.0

    def _node_failed(self) -> None:
        self.counters.node_errors += 1

    async def _round(
        self, command: Command, fallback: Command | None = None, only: Sequence[int] = ()
    ) -> list[Any]:
        """``command`` on every node (or the ``only`` ones) within ``op_timeout_s``: one
        reply per node, a :class:`~app.control.lanes.Failed` for a node that failed."""
        return await self._lanes.round(command, fallback, only)


def fence_key(prefix: str, resource: str) -> str:
    """The key of ``resource``'s fence counter on every lock node (a server reads it to
    tell a token the lock service issued: ``app/counterparts/sim/fence.py``, docs/control.md)."""
    return f"{prefix}:fence:{resource}"


def _check_ttl(ttl_ms: int) -> None:
    if int(ttl_ms) <= 0:
        raise ValueError("a lock must have a positive TTL (PEXPIRE 0 would delete it)")
