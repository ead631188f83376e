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
  ``{"zone", "version", "op", "by", "mode", "holder", "was"}`` (``was``: the holder
  before; :mod:`app.control.zonenews` turns a notice into what a desk is told).

Every operation is ONE Lua script: it reads the zone, checks the preconditions
(the caller's role, the zone's mode, who holds it, whether the holder or the target
is present), writes the hash and PUBLISHes the notice, atomically (the scripts:
``app/control/lua/zone_*.lua``). The role is passed by the caller; the public
methods check it first and the scripts check it again, so a client that skips the
local check is still refused. A refusal comes back as a code and its parameters
(``app.model.refusal``), never prose, and is raised as :class:`AuthorityRefused`.

Crashes: a workstation that stops refreshing its presence loses its exclusive
zones when the key expires (presence, the sweep and the notices:
``app/control/zonelink.py``). Every store runs a sweep script every ttl/2 that
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
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from app.clock import ClockMs, wall_ms
from app.control import lua
from app.control.clients import redis_client, sentinel_for, sentinel_master_client
from app.control.zonelink import ZoneLink, text
from app.control.zonenews import ZoneNotice, parse_notice
from app.control.zonestate import (
    AuthorityRefused,
    AuthorityUnavailable,
    ZoneAuthority,
    ZoneMode,
    parse_state,
)
from app.events import Event
from app.model.refusal import Refusal, RefusalCode
from app.model.roles import Role
from app.model.topology import Line

__all__ = [
    "AuthorityRefused",
    "AuthorityUnavailable",
    "ZoneAuthority",
    "ZoneAuthorityStore",
    "ZoneMode",
    # Re-exported: the zone types' home is app.control.zonestate, the client builders'
    # app.control.clients.
    "redis_client",
    "sentinel_for",
    "sentinel_master_client",
]

log = logging.getLogger(__name__)


def _zone_script(op: str) -> str:
    return lua.source("zone_prelude") + lua.source("zone_head") + lua.source(f"zone_{op}")


#: The operations, each one script (``app/control/lua/zone_<op>.lua``).
OPS = ("take", "release", "request", "grant", "force", "set_mode")


def _script_refusal(op: str, code: str, params: str) -> Refusal:
    """The refusal a script returned: its code and its parameters (a JSON object)."""
    try:
        decoded = json.loads(params)
        if isinstance(decoded, dict):
            return Refusal.of(code, **decoded)
    except (ValueError, TypeError):
        pass
    error = f"unreadable refusal {code!r} {params!r}"
    return Refusal.of(RefusalCode.SCRIPT_ERROR, op=op, error=error)


class ZoneAuthorityStore:
    """This workstation's view of, and actions on, the zone authority in Redis.

    All methods run on one asyncio loop. :meth:`start` begins presence, the sweep
    and the notice listener (:class:`~app.control.zonelink.ZoneLink`); the store is
    usable once :attr:`available` is true. Operations are coroutines that return the
    zone's new state or raise :class:`AuthorityRefused`; :meth:`may_command` and
    :meth:`snapshot` read the local cache and never wait.
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
        clock_ms: ClockMs = wall_ms,
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
        self._epoch_key = f"{prefix}:epoch"
        self._zone_ids = tuple(z.id for z in line.zones)
        self._io_timeout_s = max(1.0, presence_ttl_ms / 1000)

        self.changed: Event[ZoneAuthority] = Event("authority.changed")
        #: every change notice, this desk's own too (app/control/zonenews.py)
        self.notices: Event[ZoneNotice] = Event("authority.notices")
        self._link = ZoneLink(
            redis,
            who=self.who,
            channel=self.channel,
            presence=(f"{prefix}:presence:{workstation}", dispatcher),
            role=(f"{prefix}:role:{workstation}", self.role.value),
            presence_ttl_ms=presence_ttl_ms,
            io_timeout_s=self._io_timeout_s,
            clock_ms=clock_ms,
            sweep=self._sweep,
            on_notice=self._on_notice,
        )
        self.availability: Event[bool] = self._link.availability

        self._zones: dict[str, ZoneAuthority] = {}
        self._epoch = ""
        self._scripts: dict[str, AsyncScript] = {
            op: redis.register_script(_zone_script(op)) for op in OPS
        }
        self._sweep_script = redis.register_script(
            lua.source("zone_prelude") + lua.source("zone_sweep")
        )

    # -- keys ---------------------------------------------------------------

    def zone_key(self, zone: str) -> str:
        return f"{self.prefix}:zone:{zone}"

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start presence (every ttl/3), the sweep (every ttl/2) and the listener."""
        self._link.start()

    async def aclose(self) -> None:
        """Stop the tasks and delete this workstation's presence; closing again does nothing.

        A clean logout does NOT release exclusive zones explicitly. Deleting the
        presence key makes them lapse at the next sweep (within ttl/2), by the
        same path as a crash: one rule for every way a workstation leaves, and
        the crash path is exercised on every logout. Handing a zone to a
        successor is a dispatcher's decision: :meth:`grant` before logging out.
        """
        await self._link.aclose()

    async def wait_available(self, timeout_s: float) -> bool:
        """Wait until the store is connected and synchronised; False on timeout."""
        return await self._link.wait_available(timeout_s)

    # -- reading --------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Connected to Redis, subscribed to notices and synchronised."""
        return self._link.available

    @property
    def down_since_ms(self) -> int | None:
        """Wall clock (ms) of the first failure of the current outage; None while up."""
        return self._link.down_since_ms

    @property
    def last_error(self) -> str:
        return self._link.last_error

    def snapshot(self) -> dict[str, ZoneAuthority]:
        """The cached state of every zone (empty before the first synchronisation)."""
        return dict(self._zones)

    def unavailable_refusal(self) -> Refusal:
        """Why the authority is unavailable (closed, not synchronised yet, Redis down)."""
        return self._link.refusal()

    def unavailable_reason(self) -> str:
        """:meth:`unavailable_refusal` in English."""
        return str(self.unavailable_refusal())

    def may_command(self, zone: str) -> Refusal | None:
        """Why this dispatcher may not command devices of ``zone`` now (None: they may).

        Answers from the cache and fails closed: observers never; no Redis or no
        snapshot, never; SHARED, any dispatcher or supervisor; EXCLUSIVE, the holder.
        """
        if not self.role.may_command:
            return Refusal.of(RefusalCode.OBSERVER_NAMED, who=self.who)
        if zone not in self.line.zone_by_id:
            return Refusal.of(RefusalCode.UNKNOWN_ZONE, zone=zone)
        if not self.available:
            return self.unavailable_refusal()
        state = self._zones.get(zone)
        if state is None:
            return Refusal.of(RefusalCode.AUTHORITY_NO_STATE, zone=zone)
        if state.mode is ZoneMode.SHARED or state.holder == self.who:
            return None
        if not state.holder:
            return Refusal.of(RefusalCode.ZONE_NO_HOLDER, zone=zone)
        return Refusal.of(RefusalCode.ZONE_HELD, zone=zone, holder=state.holder)

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
            raise AuthorityRefused(Refusal.of(RefusalCode.BAD_MODE, mode=mode)) from None
        return await self._invoke("set_mode", zone, wanted.value)

    async def refresh(self) -> dict[str, ZoneAuthority]:
        """Run the sweep now and return the state read from Redis."""
        if not self.available:
            raise AuthorityUnavailable(self.unavailable_refusal())
        try:
            await self._sweep()
        except (RedisError, OSError, TimeoutError) as exc:
            self._link.went_down(exc)
            raise AuthorityUnavailable(self.unavailable_refusal()) from exc
        return self.snapshot()

    def _check(self, zone: str, *, hold: bool = False, supervisor: bool = False) -> None:
        if zone not in self.line.zone_by_id:
            raise AuthorityRefused(Refusal.of(RefusalCode.UNKNOWN_ZONE, zone=zone))
        if supervisor and self.role is not Role.SUPERVISOR:
            raise AuthorityRefused(Refusal.of(RefusalCode.SUPERVISOR_ONLY, role=self.role))
        if hold and not self.role.may_command:
            raise AuthorityRefused(Refusal.of(RefusalCode.ROLE_MAY_NOT_HOLD, role=self.role))

    @staticmethod
    def _check_target(to: str) -> None:
        name, sep, ws = to.rpartition("@")
        if not (sep and name and ws):
            raise AuthorityRefused(Refusal.of(RefusalCode.BAD_TARGET, target=to))

    async def _invoke(self, op: str, zone: str, arg: str = "") -> ZoneAuthority:
        """Run one operation's script; no local checks (the script checks everything)."""
        if not self.available:
            raise AuthorityUnavailable(self.unavailable_refusal())
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
            raise AuthorityRefused(Refusal.of(RefusalCode.SCRIPT_ERROR, op=op, error=exc)) from exc
        except (RedisError, OSError, TimeoutError) as exc:
            self._link.went_down(exc)
            raise AuthorityUnavailable(self.unavailable_refusal()) from exc
        code, params, epoch, *fields = (text(x) for x in raw)
        state = parse_state(zone, *fields)
        self._merge(epoch, state)
        if code != "ok":
            raise AuthorityRefused(_script_refusal(op, code, params))
        return state

    # -- cache ----------------------------------------------------------------

    def _merge(self, epoch: str, state: ZoneAuthority) -> None:
        """Apply one zone's state read from Redis; never go back to an older version."""
        if epoch != self._epoch:
            # Redis lost its data (or nobody re-created it yet): read everything again.
            self._link.resync()
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
        values = [text(x) for x in raw]
        epoch, rest = values[0], values[1:]
        states = [parse_state(*rest[i : i + 6]) for i in range(0, len(rest), 6)]
        self._install(epoch, states)

    async def _refresh_zone(self, zone: str) -> None:
        async with asyncio.timeout(self._io_timeout_s):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(self._epoch_key)
                pipe.hgetall(self.zone_key(zone))
                epoch_raw, fields_raw = await pipe.execute()
        epoch = text(epoch_raw) if epoch_raw is not None else ""
        fields = {text(k): text(v) for k, v in dict(fields_raw).items()}
        if not fields:
            self._link.resync()
            return
        state = parse_state(
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
            notice = parse_notice(text(data))
        except ValueError as exc:
            log.warning("ignored a malformed zone notice: %s: %r", exc, data)
            return
        zone, version = notice.zone, notice.version
        if zone not in self.line.zone_by_id:
            return
        self.notices.emit(notice)
        cached = self._zones.get(zone)
        if cached is not None and version <= cached.version:
            return  # already known (our own operation's reply)
        await self._refresh_zone(zone)
