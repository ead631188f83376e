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

Algorithm (one asyncio thread; the caller builds the clients, see :func:`clients_for`):

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
import contextlib
import hashlib
import json
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

__all__ = [
    "NODE_FAILURES",
    "LockBusy",
    "LockCounters",
    "LockError",
    "LockGrant",
    "LockLost",
    "LockUnavailable",
    "Redlock",
    "clients_for",
    "close_clients",
    "fence_key",
]

log = logging.getLogger(__name__)

#: What a node may fail with; anything else is a bug and propagates.
NODE_FAILURES = (RedisError, OSError, TimeoutError)

# KEYS[1] lock key, KEYS[2] fence counter; ARGV[1] value, ARGV[2] ttl (ms), ARGV[3] floor.
# {1, fencing token} when taken, {0, current value} when held by someone.
_ACQUIRE = """
local ttl = tonumber(ARGV[2])
if not ttl or ttl <= 0 then
  return redis.error_reply('ERR lock ttl must be a positive number of milliseconds')
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then
  local fence = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[3]) or 0
  if fence <= floor then
    fence = floor + 1
    redis.call('SET', KEYS[2], fence)
  end
  return {1, fence}
end
return {0, redis.call('GET', KEYS[1])}
"""

# KEYS[1] fence counter; ARGV[1] the token of the grant: the counter becomes at least that.
_RAISE_FENCE = """
local want = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if cur < want then
  redis.call('SET', KEYS[1], ARGV[1])
  return want
end
return cur
"""

# KEYS[1] lock key; ARGV[1] our value. 1 when deleted, 0 when it was not ours (or gone).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] lock key; ARGV[1] our value, ARGV[2] new ttl (ms). PEXPIRE with 0 would DELETE
# the key and still report success (redis-py #4279): a non-positive ttl is an error.
_EXTEND = """
local ttl = tonumber(ARGV[2])
if not ttl or ttl <= 0 then
  return redis.error_reply('ERR lock ttl must be a positive number of milliseconds')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ttl)
end
return 0
"""


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


class _Script:
    """A Lua script: EVALSHA normally, EVAL (which also loads it) when a node lacks it."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def call(self, keys: Sequence[str], args: Sequence[object]) -> tuple[_Command, _Command]:
        return (
            ("EVALSHA", self.sha, len(keys), *keys, *args),
            ("EVAL", self.source, len(keys), *keys, *args),
        )


_Command = tuple[Any, ...]
_SCRIPT_ACQUIRE = _Script(_ACQUIRE)
_SCRIPT_RAISE_FENCE = _Script(_RAISE_FENCE)
_SCRIPT_RELEASE = _Script(_RELEASE)
_SCRIPT_EXTEND = _Script(_EXTEND)


class _Failed:
    """A node that did not answer (in time); keeps the error for the reason text."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __str__(self) -> str:
        name = type(self.error).__name__
        return f"{name}: {self.error}" if str(self.error) else name


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
        self._pools: list[ConnectionPool] = [c.connection_pool for c in clients]
        self.size = len(self._pools)
        self.quorum = self.size // 2 + 1
        self.ttl_ms = int(ttl_ms)
        self.retry_count = retry_count
        self.retry_delay_ms = (lo, hi)
        self.drift_factor = drift_factor
        self.prefix = prefix
        self.op_timeout_s = op_timeout_s
        self.counters = LockCounters()
        # Grants this object handed out and has not settled a release of (by token).
        self._live: dict[str, LockGrant] = {}
        # The highest fencing token seen per resource: never hand out a lower one.
        self._highest: dict[str, int] = {}
        # Idle lanes: one connection (or None, not taken yet) per node.
        self._lanes: list[list[AbstractConnection | None]] = []
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
        failed: list[_Failed] = []
        for node, reply in enumerate(replies):
            if isinstance(reply, _Failed):
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
        raised = sum(1 for r in replies if not isinstance(r, _Failed) and int(r) >= fencing)
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
        failed = sum(1 for r in replies if isinstance(r, _Failed))
        deleted = sum(1 for r in replies if not isinstance(r, _Failed) and int(r) == 1)
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
        ours = sum(1 for r in replies if not isinstance(r, _Failed) and int(r) == 1)
        failed = [r for r in replies if isinstance(r, _Failed)]
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
        answers = [r for r in replies if not isinstance(r, _Failed)]
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
        """Finish background releases and give the idle lanes' connections back."""
        await self.drain()
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            for node, conn in enumerate(lane):
                if conn is not None:
                    await self._give_back(node, conn)

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

    def _failed(self, exc: BaseException) -> _Failed:
        self.counters.node_errors += 1
        return _Failed(exc)

    async def _round(
        self, command: _Command, fallback: _Command | None = None, only: Sequence[int] = ()
    ) -> list[Any]:
        """``command`` on every node (or the ``only`` ones), in parallel, within one deadline.

        Returns one reply per node, in order; a node that failed or did not answer
        by the deadline gives a :class:`_Failed`. Connected nodes are written to
        first and read after, without a task each; a node that must (re)connect gets
        a task, so a paused one delays nobody past the deadline. A reply is never
        left unread on a connection that stays in the lane: an interrupted read
        disconnects it (redis-py does on any error or cancellation, and so do we
        for the replies not read yet), so a late reply can never be taken for the
        answer to a later command.
        """
        targets = only or range(self.size)
        lane = self._lanes.pop() if self._lanes else self._new_lane()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.op_timeout_s
        replies: list[Any] = [None] * len(targets)
        unread: list[tuple[int, AbstractConnection]] = []  # (position, connection)
        connecting: list[tuple[int, int, asyncio.Task[Any]]] = []  # (position, node, task)
        done = False
        try:
            sending: list[tuple[int, AbstractConnection]] = []
            for pos, node in enumerate(targets):
                conn = lane[node]
                if conn is None:
                    try:
                        conn = lane[node] = self._take_connection(node)
                    except NODE_FAILURES as exc:
                        replies[pos] = self._failed(exc)
                        continue
                if conn.is_connected:
                    sending.append((pos, conn))
                else:
                    task = loop.create_task(
                        self._connect_and_run(node, conn, command, fallback, deadline)
                    )
                    connecting.append((pos, node, task))
            if sending:
                # The same bytes for every node (they share the encoding, nearly always).
                packed = sending[0][1].pack_command(*command)
                form = _form(sending[0][1])
                try:
                    async with asyncio.timeout_at(deadline):
                        while sending:
                            pos, conn = sending[0]
                            same = _form(conn) == form
                            data = packed if same else conn.pack_command(*command)
                            try:
                                await conn.send_packed_command(data, check_health=False)
                            except NODE_FAILURES as exc:
                                replies[pos] = self._failed(exc)
                            else:
                                unread.append((pos, conn))
                            sending.pop(0)
                except TimeoutError as exc:  # a send blocked to the deadline (redis-py closed it)
                    for pos, _ in sending:
                        replies[pos] = self._failed(exc)
            # One timer for all the reads; past the deadline, replies already received
            # are still taken (a read that need not wait completes before a zero timer).
            grace = False
            while unread:
                pos, conn = unread[0]
                try:
                    async with asyncio.timeout_at(loop.time() if grace else deadline):
                        while unread:
                            pos, conn = unread[0]
                            try:
                                replies[pos] = await _read(conn, fallback)
                            except NODE_FAILURES as exc:
                                replies[pos] = self._failed(exc)
                            unread.pop(0)
                except TimeoutError as exc:
                    replies[pos] = self._failed(exc)
                    unread.pop(0)
                    grace = True
            for pos, _, task in connecting:
                replies[pos] = await task  # bounded by the deadline inside
            done = True
        finally:
            if not done:  # cancelled (or a bug): leave no connection with a reply pending
                for _, conn in unread:
                    await conn.disconnect(nowait=True)
                for _, node, task in connecting:
                    if task.cancel():  # still running: it owns (and returns) its connection
                        lane[node] = None
            self._lanes.append(lane)
        return replies

    def _new_lane(self) -> list[AbstractConnection | None]:
        return [None] * self.size

    def _take_connection(self, node: int) -> AbstractConnection:
        """A connection of the node's pool, for this object alone until :meth:`aclose`.

        It runs without a socket timeout here: every round has its own deadline
        (``op_timeout_s``), and redis-py's per-send timeout costs a task per send.
        The pool's setting is put back when the connection is returned.
        """
        conn: AbstractConnection = self._pools[node].get_available_connection()  # type: ignore[no-untyped-call]
        conn.socket_timeout = None
        return conn

    async def _give_back(self, node: int, conn: AbstractConnection) -> None:
        pool = self._pools[node]
        conn.socket_timeout = pool.connection_kwargs.get("socket_timeout")
        with contextlib.suppress(Exception):
            await pool.release(conn)

    async def _connect_and_run(
        self,
        node: int,
        conn: AbstractConnection,
        command: _Command,
        fallback: _Command | None,
        deadline: float,
    ) -> Any:
        try:
            async with asyncio.timeout_at(deadline):
                await conn.connect()  # type: ignore[no-untyped-call]
                await conn.send_packed_command(conn.pack_command(*command), check_health=False)
                return await _read(conn, fallback)
        except NODE_FAILURES as exc:
            await conn.disconnect(nowait=True)
            return self._failed(exc)
        except asyncio.CancelledError:
            # The round was cancelled and left this connection to us.
            await conn.disconnect(nowait=True)
            await self._give_back(node, conn)
            raise


def _form(conn: AbstractConnection) -> tuple[str, str]:
    return conn.encoder.encoding, conn.encoder.encoding_errors


async def _read(conn: AbstractConnection, fallback: _Command | None) -> Any:
    try:
        return await conn.read_response()
    except NoScriptError:
        if fallback is None:
            raise
        # The node does not have the script (restarted, or first use): EVAL loads it.
        await conn.send_packed_command(conn.pack_command(*fallback), check_health=False)
        return await conn.read_response()


def fence_key(prefix: str, resource: str) -> str:
    """The key of ``resource``'s fence counter on every lock node (a server reads it to
    tell a token the lock service issued: ``app/counterparts/sim/fence.py``, docs/control.md)."""
    return f"{prefix}:fence:{resource}"


def _check_ttl(ttl_ms: int) -> None:
    if int(ttl_ms) <= 0:
        raise ValueError("a lock must have a positive TTL (PEXPIRE 0 would delete it)")


def client_from_url(url: str, **kwargs: Any) -> aioredis.Redis:
    """``Redis.from_url`` that also takes ``ssl=True`` (the form ``app.wiring`` gives).

    redis-py picks the TLS connection from the URL's scheme and would pass an
    ``ssl`` keyword on to a plain connection, which refuses it: TLS turns
    ``redis://`` into ``rediss://`` here instead.
    """
    if kwargs.pop("ssl", False) and url.startswith("redis://"):
        url = "rediss://" + url[len("redis://") :]
    return aioredis.Redis.from_url(url, **kwargs)


def clients_for(
    addresses: Sequence[str],
    *,
    socket_timeout: float = 0.5,
    password: str | None = None,
    username: str | None = None,
    db: int = 0,
    decode_responses: bool = True,
    options: Mapping[str, Any] | None = None,
) -> list[aioredis.Redis]:
    """One client per lock node, from ``host:port`` or ``redis://…`` addresses.

    ``options``: more redis-py connection settings, the same for every node
    (``username``, ``password``, ``ssl`` and its ``ssl_*`` options: ``app.wiring``).

    No silent retries inside the client (the lock retries as a whole, with jitter,
    and must see a node fail fast) and short socket timeouts.
    """
    clients: list[aioredis.Redis] = []
    for address in addresses:
        common: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "retry": Retry(NoBackoff(), 0),
            "decode_responses": decode_responses,
        }
        if password is not None:
            common["password"] = password
        if username is not None:
            common["username"] = username
        common.update(options or {})
        if "://" in address:
            clients.append(client_from_url(address, **common))
            continue
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"expected host:port or a redis:// URL, got {address!r}")
        clients.append(aioredis.Redis(host=host.strip("[]"), port=int(port), db=db, **common))
    return clients


async def close_clients(clients: Sequence[aioredis.Redis]) -> None:
    """Close every client (errors are logged, not raised)."""
    results = await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
    for client, result in zip(clients, results, strict=True):
        if isinstance(result, Exception):
            log.warning("closing %r failed: %s", client, result)
