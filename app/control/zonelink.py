"""The zone authority's link to Redis: presence, the sweep, the notice listener, availability.

While a :class:`ZoneLink` runs, three tasks keep one workstation's store in step
with Redis (``app/control/authority.py`` owns the state and the operations):

- *presence*: every ttl/3, ``prefix:presence:<workstation>`` = dispatcher and
  ``prefix:role:<workstation>`` = role, both with a TTL of ``presence_ttl_ms``.
  A workstation that stops refreshing loses its exclusive zones when the key
  expires (the sweep clears them);
- *the sweep*: every ttl/2 the store's sweep script (which also reads every zone);
- *the listener*: subscribe to the notices, read the whole state (the sweep),
  then follow the notices until something breaks; reconnect with backoff
  (0.1 s doubling to 2 s).

Availability fails closed: the link is *available* only once it is subscribed and
has read the whole state, and stops being so at the first error anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from redis.exceptions import RedisError

from app.events import Event
from app.model.refusal import Refusal, RefusalCode

__all__ = ["BACKOFF_MAX_S", "BACKOFF_MIN_S", "POLL_S", "ZoneLink", "describe", "text"]

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 2.0
POLL_S = 0.25  # how often the listener looks at its flags between notices


class _Broken(Exception):
    """The listener stops because another task already saw the connection fail."""


def text(value: Any) -> str:
    """A Redis reply as text (bytes are UTF-8; anything undecodable is replaced)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def describe(exc: BaseException) -> str:
    """An error in one line: its type, and its text when it has one."""
    words = str(exc).strip()
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def cause_of(exc: BaseException) -> str:
    """Why Redis is out of reach, as a code of :data:`app.model.refusal.CAUSES`, from the
    exception and what caused it (redis-py wraps the socket's error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, redis.exceptions.AuthenticationError):
            return "auth"
        if isinstance(seen, ConnectionRefusedError):
            return "connection_refused"
        if isinstance(seen, (TimeoutError, redis.exceptions.TimeoutError)):
            return "timeout"
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, (ConnectionError, redis.exceptions.ConnectionError)):
        return "connection_lost"
    return "error"


class ZoneLink:
    """Keeps a store connected (see the module's docstring); all on one asyncio loop.

    ``sweep`` runs the sweep script and installs what it read; ``on_notice`` takes
    the data of one notice. ``who`` names the tasks and the log lines.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        who: str,
        channel: str,
        presence: tuple[str, str],
        role: tuple[str, str],
        presence_ttl_ms: int,
        io_timeout_s: float,
        clock_ms: Callable[[], int],
        sweep: Callable[[], Awaitable[None]],
        on_notice: Callable[[Any], Awaitable[None]],
    ) -> None:
        self._redis = redis
        self.who = who
        self.channel = channel
        self._presence_key, self._presence_value = presence
        self._role_key, self._role_value = role
        self.presence_ttl_ms = presence_ttl_ms
        self._io_timeout_s = io_timeout_s
        self._clock_ms = clock_ms
        self._sweep = sweep
        self._on_notice = on_notice

        self.availability: Event[bool] = Event("authority.availability")
        self.down_since_ms: int | None = None
        self.last_error = ""
        self.last_cause = ""  # why, as a code of app.model.refusal.CAUSES
        self._available = False
        self._ready = asyncio.Event()
        self._broken = asyncio.Event()
        self._need_snapshot = False
        self._closed = False
        self._stopped = False  # aclose has run to its end (and start has not run since)
        self._tasks: list[asyncio.Task[None]] = []
        self._backoff_s = BACKOFF_MIN_S

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start presence (every ttl/3), the sweep (every ttl/2) and the listener."""
        if self._tasks:
            return
        self._closed = False
        self._stopped = False
        self._tasks = [
            asyncio.create_task(self._link_loop(), name=f"authority-link-{self.who}"),
            asyncio.create_task(self._presence_loop(), name=f"authority-presence-{self.who}"),
            asyncio.create_task(self._sweep_loop(), name=f"authority-sweep-{self.who}"),
        ]

    async def aclose(self) -> None:
        """Stop the tasks and delete this workstation's presence; again, nothing."""
        if self._stopped:
            return
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
            log.warning("could not delete presence of %s: %s", self.who, describe(exc))
        was = self._available
        self._available = False
        self._ready.clear()
        self._stopped = True
        if was:
            self.availability.emit(False)

    async def wait_available(self, timeout_s: float) -> bool:
        """Wait until connected and synchronised; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    # -- state ----------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Connected to Redis, subscribed to notices and synchronised."""
        return self._available

    @property
    def closed(self) -> bool:
        return self._closed

    def refusal(self) -> Refusal:
        """Why the authority is unavailable now (closed, not yet synchronised, or down)."""
        if self._closed:
            return Refusal.of(RefusalCode.AUTHORITY_CLOSED)
        if self.down_since_ms is None:
            return Refusal.of(RefusalCode.AUTHORITY_NOT_SYNCHRONISED)
        return Refusal.of(
            RefusalCode.AUTHORITY_DOWN, since_ms=self.down_since_ms, cause=self.last_cause
        )

    def resync(self) -> None:
        """Read the whole state again at the listener's next turn (a new epoch, a zone gone)."""
        self._need_snapshot = True

    def went_down(self, exc: BaseException) -> None:
        """Redis failed (``exc``), here or in an operation: unavailable until reconnected."""
        if self._closed:
            return
        self._broken.set()
        self.last_error = describe(exc)
        self.last_cause = cause_of(exc)
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
        self.last_cause = ""
        self._backoff_s = BACKOFF_MIN_S
        if not self._available:
            self._available = True
            self._ready.set()
            self.availability.emit(True)

    # -- the tasks ------------------------------------------------------------

    async def _heartbeat(self) -> None:
        async with asyncio.timeout(self._io_timeout_s):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._presence_key, self._presence_value, px=self.presence_ttl_ms)
                pipe.set(self._role_key, self._role_value, px=self.presence_ttl_ms)
                await pipe.execute()

    def _stopping(self) -> bool:
        return self._closed  # a call, not the attribute: the loop's await may have set it

    async def _link_loop(self) -> None:
        # Every loop also checks ``_closed``: the Redis client may swallow a
        # cancellation that lands while one of its read timeouts expires.
        while not self._closed:
            try:
                await self._session()
            except _Broken:
                pass  # already recorded by whoever saw the failure
            except Exception as exc:
                self.went_down(exc)
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
                    if msg is not None and text(msg["type"]) == "subscribe":
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
                if msg is not None and text(msg["type"]) == "message":
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
                self.went_down(exc)

    async def _sweep_loop(self) -> None:
        period = self.presence_ttl_ms / 2000
        while not self._closed:
            await asyncio.sleep(period)
            if not self._available:
                continue
            try:
                await self._sweep()
            except Exception as exc:
                self.went_down(exc)
