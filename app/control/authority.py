"""Zone authority: who may command each control zone (岔区), kept in Redis.

Every control zone of the line has a mode:

- ``EXCLUSIVE``: one holder commands the zone. Others *request* it; the holder
  *grants* it to one of them, or a supervisor *forces* a transfer. A free zone
  (no holder, or a holder whose workstation has stopped answering) may be *taken*.
- ``SHARED``: every dispatcher and supervisor may command the zone; nobody holds it.

Roles: a dispatcher holds and commands; a supervisor also switches a zone's mode
and forces transfers; an observer is read-only and may never hold or command.

Redis layout (``prefix`` defaults to ``dhmi``):

- ``prefix:zone:<id>``: a hash with ``mode``, ``holder`` (``"dispatcher@workstation"``
  or ``""``), ``since_ms``, ``requests`` (a JSON list of who asked, in order) and
  ``version`` (bumped by every change).
- ``prefix:presence:<workstation>`` = dispatcher, and ``prefix:role:<workstation>`` =
  role, both with a TTL of ``presence_ttl_ms``, refreshed every ttl/3 while the
  workstation runs. A holder is *present* while its presence key names it.
- ``prefix:epoch``: a random token written when the zone hashes are first created.
  A new token means Redis lost its data (restarted without persistence): every
  store then replaces its whole cache instead of merging by version.
- ``prefix:zones``: the channel of change notices, small JSON objects
  ``{"zone", "version", "op", "by", "mode", "holder"}``.

Every operation is ONE Lua script: it reads the zone, checks the preconditions
(the caller's role, the zone's mode, who holds it, whether the holder or the target
is present), writes the hash and PUBLISHes the notice, atomically. The role is
passed by the caller; the public methods check it first and the scripts check it
again, so a client that skips the local check is still refused. A refusal comes
back as a code and a reason and is raised as :class:`AuthorityRefused`.

Crashes: a workstation that stops refreshing its presence loses its exclusive
zones when the key expires. Every store runs a sweep script every ttl/2 that
clears holders that are no longer present and drops their pending requests, so
every HMI sees the zone free within ttl + ttl/2 (plus the notice's latency).

Reading: each store keeps a cache of every zone, filled by the sweep script (which
also returns the whole state) and refreshed on each notice. :meth:`may_command`
answers from the cache and fails closed: no Redis, or no snapshot yet, no command.

Multi-key scripts reach presence keys they compute, so this layout is for a single
Redis (with replicas / Sentinel), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from app.control.redlock import client_from_url
from app.events import Event
from app.model.roles import Role
from app.model.topology import Line

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 2.0
POLL_S = 0.25  # how often the listener looks at its flags between notices


class ZoneMode(StrEnum):
    EXCLUSIVE = "exclusive"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class ZoneAuthority:
    """One zone's authority as last read from Redis."""

    zone: str
    mode: ZoneMode
    holder: str  # "dispatcher@workstation", or "" when nobody holds the zone
    since_ms: int  # wall clock of the last change of holder or mode
    requests: tuple[str, ...]  # who asked for the zone, oldest first
    version: int  # bumped by every change; 0 for a zone never changed


class AuthorityRefused(Exception):
    """An operation was refused; ``code`` is stable, ``reason`` is for the dispatcher.

    Codes: ``role`` (the caller's or the target's role forbids it), ``shared`` (the
    zone has no holder in shared mode), ``held`` (someone present holds the zone),
    ``not_holder``, ``free`` (request on a free zone: take it), ``absent`` (the
    target is not logged in), ``bad_mode``, ``bad_target``, ``unknown_zone``,
    ``unavailable`` (see :class:`AuthorityUnavailable`), ``error`` (a script error).
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class AuthorityUnavailable(AuthorityRefused):
    """Redis is unreachable or the store is not synchronised: nothing was changed."""

    def __init__(self, reason: str) -> None:
        super().__init__("unavailable", reason)


class _Broken(Exception):
    """The listener stops because another task already saw the connection fail."""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def redis_client(
    url: str, *, timeout_s: float = 1.0, options: Mapping[str, Any] | None = None
) -> aioredis.Redis:
    """A client suited to the store: short timeouts and no silent retries.

    The store does its own reconnecting (with backoff) and must *see* an outage
    to fail closed and re-read the state, so the client should not hide one.
    ``options``: more redis-py settings (user, password, TLS: ``app.wiring``).
    """
    return client_from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        **dict(options or {}),
    )


def sentinel_for(
    sentinels: Sequence[tuple[str, int]],
    *,
    timeout_s: float = 1.0,
    options: Mapping[str, Any] | None = None,
) -> Sentinel:
    """Redis Sentinel over ``sentinels``: ``master_for(name, ...)`` gives a client that
    always talks to the server the Sentinels name master now (after a failover, the
    next connection goes to the new one). TLS options apply to the Sentinels too;
    the user and password only to the data servers.
    """
    tls = {k: v for k, v in (options or {}).items() if k.startswith("ssl")}
    return Sentinel(
        list(sentinels),
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        sentinel_kwargs={"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s, **tls},
    )


def sentinel_master_client(
    sentinel: Sentinel,
    master: str,
    *,
    timeout_s: float = 1.0,
    options: Mapping[str, Any] | None = None,
    decode_responses: bool = False,
) -> aioredis.Redis:
    """Like :func:`redis_client`, for the master the Sentinels name."""
    client: aioredis.Redis = sentinel.master_for(
        master,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=decode_responses,
        **dict(options or {}),
    )
    return client


# ---------------------------------------------------------------------------
# Lua. Every script starts with the same prelude; ARGV[1..5] are always
# prefix, caller ("dispatcher@workstation"), caller's role, now (ms), default mode.

_PRELUDE = r"""
local prefix = ARGV[1]
local me = ARGV[2]
local role = ARGV[3]
local now = ARGV[4]
local default_mode = ARGV[5]

local function parts(who)
  return string.match(who, '^(.+)@([^@]+)$')
end

local function present(who)
  local d, ws = parts(who)
  if not d then return false end
  return redis.call('GET', prefix .. ':presence:' .. ws) == d
end

local function may_hold(who)
  local d, ws = parts(who)
  if not d or redis.call('GET', prefix .. ':presence:' .. ws) ~= d then
    return 'absent', who .. ' is not logged in'
  end
  local r = redis.call('GET', prefix .. ':role:' .. ws)
  if r ~= 'dispatcher' and r ~= 'supervisor' then
    return 'role', who .. ' may not hold a zone (role ' .. tostring(r) .. ')'
  end
  return nil, nil
end

local function load(key)
  local s = {mode = default_mode, holder = '', since_ms = '0', requests = '[]',
             version = '0'}
  local h = redis.call('HGETALL', key)
  for i = 1, #h, 2 do s[h[i]] = h[i + 1] end
  s.list = cjson.decode(s.requests)
  return s
end

local function encode_list(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end

local function contains(list, who)
  for _, x in ipairs(list) do if x == who then return true end end
  return false
end

local function without(list, who)
  local out = {}
  for _, x in ipairs(list) do if x ~= who then out[#out + 1] = x end end
  return out
end

local function save(key, zone, s, op)
  s.version = tostring(tonumber(s.version) + 1)
  s.requests = encode_list(s.list)
  redis.call('HSET', key, 'mode', s.mode, 'holder', s.holder, 'since_ms', s.since_ms,
             'requests', s.requests, 'version', s.version)
  redis.call('PUBLISH', prefix .. ':zones', cjson.encode({
    zone = zone, version = tonumber(s.version), op = op, by = me,
    mode = s.mode, holder = s.holder}))
end

local function reply(code, reason, s)
  local epoch = redis.call('GET', prefix .. ':epoch') or ''
  return {code, reason, epoch, s.mode, s.holder, s.since_ms, encode_list(s.list),
          s.version}
end

local function can_hold_role()
  return role == 'dispatcher' or role == 'supervisor'
end
"""

# KEYS[1] = the zone's hash; ARGV[6] = zone id; ARGV[7] = the operation's argument.
_ZONE_HEAD = r"""
local key, zone = KEYS[1], ARGV[6]
local s = load(key)
"""

_TAKE = r"""
if not can_hold_role() then
  return reply('role', 'role ' .. role .. ' may not hold a zone', s)
end
if s.mode ~= 'exclusive' then
  return reply('shared', 'zone ' .. zone .. ' is shared: nobody holds it', s)
end
if s.holder == me then return reply('ok', '', s) end
if s.holder ~= '' and present(s.holder) then
  return reply('held', 'zone ' .. zone .. ' is held by ' .. s.holder, s)
end
local op = 'take'
if s.holder ~= '' then op = 'take_lapsed' end
s.holder = me
s.since_ms = now
s.list = without(s.list, me)
save(key, zone, s, op)
return reply('ok', '', s)
"""

_RELEASE = r"""
if s.mode == 'exclusive' and s.holder == me then
  s.holder = ''
  s.since_ms = now
  save(key, zone, s, 'release')
  return reply('ok', '', s)
end
if contains(s.list, me) then
  s.list = without(s.list, me)
  save(key, zone, s, 'withdraw')
  return reply('ok', '', s)
end
return reply('not_holder', 'zone ' .. zone .. ' is not held by ' .. me, s)
"""

_REQUEST = r"""
if not can_hold_role() then
  return reply('role', 'role ' .. role .. ' may not hold a zone', s)
end
if s.mode ~= 'exclusive' then
  return reply('shared', 'zone ' .. zone .. ' is shared: nobody holds it', s)
end
if s.holder == me or contains(s.list, me) then return reply('ok', '', s) end
if s.holder == '' then
  return reply('free', 'zone ' .. zone .. ' is free: take it', s)
end
s.list[#s.list + 1] = me
save(key, zone, s, 'request')
return reply('ok', '', s)
"""

_GRANT = r"""
local to = ARGV[7]
if s.mode ~= 'exclusive' then
  return reply('shared', 'zone ' .. zone .. ' is shared: nobody holds it', s)
end
if s.holder ~= me then
  local who = s.holder
  if who == '' then who = 'nobody' end
  return reply('not_holder', 'only the holder may grant zone ' .. zone ..
               ' (held by ' .. who .. ')', s)
end
if to == me then return reply('ok', '', s) end
local code, why = may_hold(to)
if code then return reply(code, why, s) end
s.holder = to
s.since_ms = now
s.list = without(s.list, to)
save(key, zone, s, 'grant')
return reply('ok', '', s)
"""

_FORCE = r"""
local to = ARGV[7]
if role ~= 'supervisor' then
  return reply('role', 'only a supervisor may force a transfer (role ' .. role .. ')', s)
end
if s.mode ~= 'exclusive' then
  return reply('shared', 'zone ' .. zone .. ' is shared: nobody holds it', s)
end
if to == s.holder then return reply('ok', '', s) end
if to ~= '' then
  local code, why = may_hold(to)
  if code then return reply(code, why, s) end
end
s.holder = to
s.since_ms = now
s.list = without(s.list, to)
save(key, zone, s, 'force')
return reply('ok', '', s)
"""

_SET_MODE = r"""
local mode = ARGV[7]
if role ~= 'supervisor' then
  return reply('role', 'only a supervisor may change a zone mode (role ' .. role .. ')', s)
end
if mode ~= 'exclusive' and mode ~= 'shared' then
  return reply('bad_mode', 'unknown zone mode ' .. mode, s)
end
if s.mode == mode then return reply('ok', '', s) end
s.mode = mode
s.holder = ''
s.list = {}
s.since_ms = now
save(key, zone, s, 'set_mode')
return reply('ok', '', s)
"""

# KEYS = every zone's hash; ARGV[6] = an epoch token to use if none exists;
# ARGV[7..] = the zone ids, in KEYS order. Creates missing hashes, clears holders
# (and drops requests) that are no longer present, returns the epoch then
# (zone, mode, holder, since_ms, requests, version) per zone.
_SWEEP = r"""
local epoch = redis.call('GET', prefix .. ':epoch')
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', prefix .. ':epoch', epoch)
end
local out = {epoch}
for i, key in ipairs(KEYS) do
  local zone = ARGV[6 + i]
  local fresh = redis.call('EXISTS', key) == 0
  local s = load(key)
  if fresh then
    s.since_ms = now
    redis.call('HSET', key, 'mode', s.mode, 'holder', '', 'since_ms', now,
               'requests', '[]', 'version', '0')
  end
  local changed = false
  if s.holder ~= '' and (s.mode ~= 'exclusive' or not present(s.holder)) then
    s.holder = ''
    s.since_ms = now
    changed = true
  end
  local kept = {}
  for _, who in ipairs(s.list) do
    if who ~= s.holder and present(who) then kept[#kept + 1] = who end
  end
  if #kept ~= #s.list then changed = true end
  s.list = kept
  if changed then save(key, zone, s, 'lapse') end
  for _, v in ipairs({zone, s.mode, s.holder, s.since_ms, encode_list(s.list),
                      s.version}) do
    out[#out + 1] = v
  end
end
return out
"""

_OPS = {
    "take": _TAKE,
    "release": _RELEASE,
    "request": _REQUEST,
    "grant": _GRANT,
    "force": _FORCE,
    "set_mode": _SET_MODE,
}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _state(
    zone: str, mode: str, holder: str, since: str, requests: str, version: str
) -> ZoneAuthority:
    """A zone's state from its hash fields; an unreadable mode fails closed."""
    try:
        parsed_mode = ZoneMode(mode)
    except ValueError:
        log.error("zone %s has an unknown mode %r: treated as exclusive, no holder", zone, mode)
        parsed_mode, holder = ZoneMode.EXCLUSIVE, ""
    try:
        asked = json.loads(requests)
        queue = tuple(str(x) for x in asked) if isinstance(asked, list) else ()
    except ValueError:
        queue = ()
    return ZoneAuthority(zone, parsed_mode, holder, int(since or 0), queue, int(version or 0))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ZoneAuthorityStore:
    """This workstation's view of, and actions on, the zone authority in Redis.

    All methods run on one asyncio loop. :meth:`start` begins presence, the sweep
    and the notice listener; the store is usable once :attr:`available` is true.
    Operations are coroutines that return the zone's new state or raise
    :class:`AuthorityRefused`; :meth:`may_command` and :meth:`snapshot` read the
    local cache and never wait.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        line: Line,
        *,
        workstation: str,
        dispatcher: str,
        role: str,
        presence_ttl_ms: int = 3000,
        prefix: str = "dhmi",
        default_mode: ZoneMode = ZoneMode.EXCLUSIVE,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        if "@" in workstation or not workstation:
            raise ValueError(f"invalid workstation id {workstation!r}")
        if not dispatcher:
            raise ValueError("dispatcher login name is empty")
        if presence_ttl_ms < 30:
            raise ValueError(f"presence_ttl_ms too small: {presence_ttl_ms}")
        self._redis = redis
        self.line = line
        self.workstation = workstation
        self.dispatcher = dispatcher
        self.role = Role(role)  # an unknown role is refused here
        self.presence_ttl_ms = presence_ttl_ms
        self.prefix = prefix
        self.default_mode = ZoneMode(default_mode)
        self._clock_ms = clock_ms
        self.who = f"{dispatcher}@{workstation}"
        self.channel = f"{prefix}:zones"
        self._presence_key = f"{prefix}:presence:{workstation}"
        self._role_key = f"{prefix}:role:{workstation}"
        self._epoch_key = f"{prefix}:epoch"
        self._zone_ids = tuple(z.id for z in line.zones)
        self._io_timeout_s = max(1.0, presence_ttl_ms / 1000)

        self.changed: Event[ZoneAuthority] = Event("authority.changed")
        self.availability: Event[bool] = Event("authority.availability")

        self._zones: dict[str, ZoneAuthority] = {}
        self._epoch = ""
        self._available = False
        self._ready = asyncio.Event()
        self.down_since_ms: int | None = None
        self.last_error = ""
        self._broken = asyncio.Event()
        self._need_snapshot = False
        self._closed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._backoff_s = BACKOFF_MIN_S
        self._scripts: dict[str, AsyncScript] = {
            op: redis.register_script(_PRELUDE + _ZONE_HEAD + body) for op, body in _OPS.items()
        }
        self._sweep_script = redis.register_script(_PRELUDE + _SWEEP)

    # -- keys ---------------------------------------------------------------

    def zone_key(self, zone: str) -> str:
        return f"{self.prefix}:zone:{zone}"

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start presence (every ttl/3), the sweep (every ttl/2) and the listener."""
        if self._tasks:
            return
        self._closed = False
        self._tasks = [
            asyncio.create_task(self._link_loop(), name=f"authority-link-{self.who}"),
            asyncio.create_task(self._presence_loop(), name=f"authority-presence-{self.who}"),
            asyncio.create_task(self._sweep_loop(), name=f"authority-sweep-{self.who}"),
        ]

    async def close(self) -> None:
        """Stop the tasks and delete this workstation's presence.

        A clean logout does NOT release exclusive zones explicitly. Deleting the
        presence key makes them lapse at the next sweep (within ttl/2), by the
        same path as a crash: one rule for every way a workstation leaves, and
        the crash path is exercised on every logout. Handing a zone to a
        successor is a dispatcher's decision: :meth:`grant` before logging out.
        """
        self._closed = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: every loop also stops on ``_closed`` within one poll period.
            _, pending = await asyncio.wait(tasks, timeout=self._io_timeout_s + 2 * POLL_S)
            for task in pending:
                log.error("authority task %s did not stop", task.get_name())
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.error("authority task %s failed: %r", task.get_name(), task.exception())
        try:
            async with asyncio.timeout(self._io_timeout_s):
                await self._redis.delete(self._presence_key, self._role_key)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not delete presence of %s: %s", self.who, _describe(exc))
        was = self._available
        self._available = False
        self._ready.clear()
        if was:
            self.availability.emit(False)

    async def wait_available(self, timeout_s: float) -> bool:
        """Wait until the store is connected and synchronised; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    # -- reading --------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Connected to Redis, subscribed to notices and synchronised."""
        return self._available

    def snapshot(self) -> dict[str, ZoneAuthority]:
        """The cached state of every zone (empty before the first synchronisation)."""
        return dict(self._zones)

    def unavailable_reason(self) -> str:
        if self._closed:
            return "zone authority unavailable: store closed"
        if self.down_since_ms is None:
            return "zone authority unavailable: not synchronised with Redis yet"
        clock = time.strftime("%H:%M:%S", time.localtime(self.down_since_ms / 1000))
        detail = f" ({self.last_error})" if self.last_error else ""
        return f"zone authority unavailable: Redis down since {clock}{detail}"

    def may_command(self, zone: str) -> tuple[bool, str]:
        """Whether this dispatcher may command devices of ``zone`` now, and why (not).

        Answers from the cache and fails closed: observers never; no Redis or no
        snapshot, never; SHARED, any dispatcher or supervisor; EXCLUSIVE, the holder.
        """
        if self.role is Role.OBSERVER:
            return False, f"{self.who} is an observer: observers may not command"
        if zone not in self.line.zone_by_id:
            return False, f"unknown zone {zone}"
        if not self._available:
            return False, self.unavailable_reason()
        state = self._zones.get(zone)
        if state is None:
            return False, f"zone authority unavailable: no state for zone {zone}"
        if state.mode is ZoneMode.SHARED:
            return True, f"zone {zone} is shared"
        if state.holder == self.who:
            return True, f"zone {zone} is held by {self.who}"
        if not state.holder:
            return False, f"zone {zone} has no holder: take control first"
        return False, f"zone {zone} is held by {state.holder}"

    # -- operations -----------------------------------------------------------

    async def take(self, zone: str) -> ZoneAuthority:
        """Take a free zone, or one whose holder is no longer present."""
        self._check(zone, hold=True)
        return await self._invoke("take", zone)

    async def release(self, zone: str) -> ZoneAuthority:
        """Give up a zone this dispatcher holds (or withdraw a pending request)."""
        self._check(zone)
        return await self._invoke("release", zone)

    async def request(self, zone: str) -> ZoneAuthority:
        """Ask the holder for the zone; the request is queued in the zone's state."""
        self._check(zone, hold=True)
        return await self._invoke("request", zone)

    async def grant(self, zone: str, to: str) -> ZoneAuthority:
        """Hand a zone this dispatcher holds to ``to`` ("dispatcher@workstation")."""
        self._check(zone)
        self._check_target(to)
        return await self._invoke("grant", zone, to)

    async def force(self, zone: str, to: str) -> ZoneAuthority:
        """Supervisor: give the zone to ``to`` (or to nobody, with ``""``)."""
        self._check(zone, supervisor=True)
        if to:
            self._check_target(to)
        return await self._invoke("force", zone, to)

    async def set_mode(self, zone: str, mode: ZoneMode | str) -> ZoneAuthority:
        """Supervisor: switch a zone between EXCLUSIVE and SHARED; the holder is cleared."""
        self._check(zone, supervisor=True)
        try:
            wanted = ZoneMode(mode)
        except ValueError:
            raise AuthorityRefused("bad_mode", f"unknown zone mode {mode!r}") from None
        return await self._invoke("set_mode", zone, wanted.value)

    async def refresh(self) -> dict[str, ZoneAuthority]:
        """Run the sweep now and return the state read from Redis."""
        if not self._available:
            raise AuthorityUnavailable(self.unavailable_reason())
        try:
            await self._sweep()
        except (RedisError, OSError, TimeoutError) as exc:
            self._went_down(exc)
            raise AuthorityUnavailable(self.unavailable_reason()) from exc
        return self.snapshot()

    def _check(self, zone: str, *, hold: bool = False, supervisor: bool = False) -> None:
        if zone not in self.line.zone_by_id:
            raise AuthorityRefused("unknown_zone", f"unknown zone {zone}")
        if supervisor and self.role is not Role.SUPERVISOR:
            raise AuthorityRefused("role", f"only a supervisor may do this (role {self.role})")
        if hold and self.role is Role.OBSERVER:
            raise AuthorityRefused("role", "role observer may not hold a zone")

    @staticmethod
    def _check_target(to: str) -> None:
        name, sep, ws = to.rpartition("@")
        if not (sep and name and ws):
            raise AuthorityRefused("bad_target", f"expected dispatcher@workstation, got {to!r}")

    async def _invoke(self, op: str, zone: str, arg: str = "") -> ZoneAuthority:
        """Run one operation's script; no local checks (the script checks everything)."""
        if not self._available:
            raise AuthorityUnavailable(self.unavailable_reason())
        args = [
            self.prefix,
            self.who,
            self.role.value,
            str(self._clock_ms()),
            self.default_mode.value,
            zone,
            arg,
        ]
        try:
            async with asyncio.timeout(self._io_timeout_s):
                raw = await self._scripts[op](keys=[self.zone_key(zone)], args=args)
        except ResponseError as exc:
            raise AuthorityRefused("error", f"{op} failed in Redis: {exc}") from exc
        except (RedisError, OSError, TimeoutError) as exc:
            self._went_down(exc)
            raise AuthorityUnavailable(self.unavailable_reason()) from exc
        code, reason, epoch, *fields = (_text(x) for x in raw)
        state = _state(zone, *fields)
        self._merge(epoch, state)
        if code != "ok":
            raise AuthorityRefused(code, reason)
        return state

    # -- cache ----------------------------------------------------------------

    def _merge(self, epoch: str, state: ZoneAuthority) -> None:
        """Apply one zone's state read from Redis; never go back to an older version."""
        if epoch != self._epoch:
            # Redis lost its data (or nobody re-created it yet): read everything again.
            self._need_snapshot = True
            return
        cached = self._zones.get(state.zone)
        if cached is not None and state.version < cached.version:
            return
        if state != cached:
            self._zones[state.zone] = state
            self.changed.emit(state)

    def _install(self, epoch: str, states: Sequence[ZoneAuthority]) -> None:
        """Apply a whole consistent snapshot; a new epoch replaces the cache."""
        if epoch != self._epoch:
            if self._epoch:
                log.warning("Redis zone state was lost (new epoch): re-reading all zones")
            self._epoch = epoch
            self._zones = {z: s for z, s in self._zones.items() if z in self._zone_ids}
            for state in states:
                if self._zones.get(state.zone) != state:
                    self._zones[state.zone] = state
                    self.changed.emit(state)
            return
        for state in states:
            self._merge(epoch, state)

    async def _sweep(self) -> None:
        keys = [self.zone_key(z) for z in self._zone_ids]
        args = [
            self.prefix,
            self.who,
            self.role.value,
            str(self._clock_ms()),
            self.default_mode.value,
            uuid.uuid4().hex,
            *self._zone_ids,
        ]
        async with asyncio.timeout(self._io_timeout_s):
            raw = await self._sweep_script(keys=keys, args=args)
        values = [_text(x) for x in raw]
        epoch, rest = values[0], values[1:]
        states = [_state(*rest[i : i + 6]) for i in range(0, len(rest), 6)]
        self._install(epoch, states)

    async def _refresh_zone(self, zone: str) -> None:
        async with asyncio.timeout(self._io_timeout_s):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(self._epoch_key)
                pipe.hgetall(self.zone_key(zone))
                epoch_raw, fields_raw = await pipe.execute()
        epoch = _text(epoch_raw) if epoch_raw is not None else ""
        fields = {_text(k): _text(v) for k, v in dict(fields_raw).items()}
        if not fields:
            self._need_snapshot = True
            return
        state = _state(
            zone,
            fields.get("mode", self.default_mode.value),
            fields.get("holder", ""),
            fields.get("since_ms", "0"),
            fields.get("requests", "[]"),
            fields.get("version", "0"),
        )
        self._merge(epoch, state)

    async def _on_notice(self, data: Any) -> None:
        try:
            notice = json.loads(_text(data))
            zone = str(notice["zone"])
            version = int(notice["version"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed zone notice: %r", data)
            return
        if zone not in self.line.zone_by_id:
            return
        cached = self._zones.get(zone)
        if cached is not None and version <= cached.version:
            return  # already known (our own operation's reply)
        await self._refresh_zone(zone)

    # -- connection -----------------------------------------------------------

    def _went_down(self, exc: BaseException) -> None:
        if self._closed:
            return
        self._broken.set()
        self.last_error = _describe(exc)
        if self.down_since_ms is None:
            self.down_since_ms = self._clock_ms()
        if self._available:
            log.warning("zone authority unavailable: %s", self.last_error)
            self._available = False
            self._ready.clear()
            self.availability.emit(False)

    def _became_available(self) -> None:
        if self._closed:
            return
        self.down_since_ms = None
        self.last_error = ""
        self._backoff_s = BACKOFF_MIN_S
        if not self._available:
            self._available = True
            self._ready.set()
            self.availability.emit(True)

    async def _heartbeat(self) -> None:
        async with asyncio.timeout(self._io_timeout_s):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._presence_key, self.dispatcher, px=self.presence_ttl_ms)
                pipe.set(self._role_key, self.role.value, px=self.presence_ttl_ms)
                await pipe.execute()

    def _stopping(self) -> bool:
        return self._closed

    async def _link_loop(self) -> None:
        # Every loop also checks ``_closed``: the Redis client may swallow a
        # cancellation that lands while one of its read timeouts expires.
        while not self._closed:
            try:
                await self._session()
            except _Broken:
                pass  # already recorded by whoever saw the failure
            except Exception as exc:
                self._went_down(exc)
            if self._stopping():
                return
            await asyncio.sleep(self._backoff_s)
            self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)

    async def _session(self) -> None:
        """Connect, subscribe, snapshot, then follow notices until something breaks."""
        self._broken.clear()
        await self._heartbeat()
        pubsub = self._redis.pubsub()
        try:
            async with asyncio.timeout(self._io_timeout_s):
                await pubsub.subscribe(self.channel)
                # Wait for the confirmation: only then are no notices missed
                # between the snapshot below and the first message.
                while True:
                    msg = await pubsub.get_message(timeout=self._io_timeout_s)
                    if msg is not None and _text(msg["type"]) == "subscribe":
                        break
            self._need_snapshot = False
            await self._sweep()
            self._became_available()
            while not self._closed:
                if self._broken.is_set():
                    raise _Broken
                if self._need_snapshot:
                    self._need_snapshot = False
                    await self._sweep()
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
                if msg is not None and _text(msg["type"]) == "message":
                    await self._on_notice(msg["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _presence_loop(self) -> None:
        period = self.presence_ttl_ms / 3000
        while not self._closed:
            await asyncio.sleep(period)
            try:
                await self._heartbeat()
            except Exception as exc:
                self._went_down(exc)

    async def _sweep_loop(self) -> None:
        period = self.presence_ttl_ms / 2000
        while not self._closed:
            await asyncio.sleep(period)
            if not self._available:
                continue
            try:
                await self._sweep()
            except Exception as exc:
                self._went_down(exc)
