"""The directory of dispatchers: one Redis ACL user per dispatcher.

Where it lives: the Redis the workstation already uses for zone authority (the
first of ``redis.nodes``). For dispatcher ``li.wei`` under the prefix ``dhmi``:

- the ACL user ``dhmi:li.wei``, whose password is the dispatcher's (Redis keeps
  only its SHA-256). Its rules: ``resetkeys %R~dhmi:directory:roles:li.wei
  resetchannels -@all +get``: it may read one key and do nothing else;
- the key ``dhmi:directory:roles:li.wei``: the dispatcher's role
  (``dispatcher``, ``supervisor`` or ``observer``), written by an administrator
  (``dispatcher-cli directory``, :mod:`app.identity.admin`). Nobody but an
  administrator may write it: the workstation's own ACL user should not have
  ``~dhmi:directory:*`` write access in production (docs/security.md).

A password is checked by connecting *as that user*: Redis says whether the pair
is right (``WRONGPASS`` for a wrong password and for an unknown user alike, so a
name cannot be probed), and the role comes from what that user may read. The
answer is checked like any input from outside: a role that is not one of the
three is refused, never guessed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoPermissionError, RedisError, ResponseError

from app.config.workstation import Workstation, dispatcher_id_problem
from app.control.clients import close_clients, redis_client, sentinel_for
from app.model.roles import Role

__all__ = [
    "MAX_PASSWORD",
    "Identity",
    "LoginRefusal",
    "LoginRefused",
    "RedisDirectory",
    "SentinelDirectory",
    "acl_user",
    "directory_for",
    "role_key",
]

log = logging.getLogger(__name__)

#: the longest password the login accepts (a bound on what is sent, not a policy)
MAX_PASSWORD = 256


class LoginRefusal(StrEnum):
    """Why a login was refused: a code, worded by the view (``ui/login.py``)."""

    BAD_NAME = "bad_name"  # not a dispatcher id
    NO_PASSWORD = "no_password"
    WRONG_PASSWORD = "wrong_password"  # or an unknown dispatcher: Redis does not say
    NO_ROLE = "no_role"  # the password is right, the directory gives no role
    BAD_ROLE = "bad_role"  # the directory's role is not one of the three
    UNAVAILABLE = "unavailable"  # the directory did not answer
    THROTTLED = "throttled"  # too many wrong passwords: wait
    ROLE_CHANGED = "role_changed"  # unlocking: the directory now gives another role


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the directory says is at the desk."""

    dispatcher: str
    role: Role


class LoginRefused(Exception):
    """A login was refused: :attr:`code`, and its parameters (``wait_s``, ``value``...)."""

    def __init__(self, code: LoginRefusal, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(code.value)
        self.code = code
        self.params: Mapping[str, Any] = dict(params or {})

    def __str__(self) -> str:  # for logs: codes and parameters, never a password
        extra = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.code.value}" + (f" ({extra})" if extra else "")


def acl_user(prefix: str, dispatcher: str) -> str:
    """The Redis ACL user of ``dispatcher``."""
    return f"{prefix}:{dispatcher}"


def role_key(prefix: str, dispatcher: str) -> str:
    """The key holding ``dispatcher``'s role."""
    return f"{prefix}:directory:roles:{dispatcher}"


def parse_role(raw: object) -> Role:
    """A role read from the directory, or :class:`LoginRefused` (``no_role``, ``bad_role``)."""
    if raw is None:
        raise LoginRefused(LoginRefusal.NO_ROLE)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        return Role(text.strip())
    except ValueError:
        raise LoginRefused(LoginRefusal.BAD_ROLE, {"value": text[:40]}) from None


ClientFactory = Callable[..., aioredis.Redis]


class RedisDirectory:
    """Checks a dispatcher's password and reads the role, against one Redis.

    ``options``: the connection settings other than the user (TLS: ``ssl`` and its
    ``ssl_*``); the workstation's own ``username``/``password`` are never used here.
    """

    def __init__(
        self,
        address: str,
        *,
        prefix: str = "dhmi",
        options: Mapping[str, Any] | None = None,
        timeout_s: float = 2.0,
        client_factory: ClientFactory = redis_client,
    ) -> None:
        self.address = address
        self.prefix = prefix
        self._options = {
            k: v for k, v in (options or {}).items() if k not in ("username", "password")
        }
        self._timeout_s = timeout_s
        self._client_factory = client_factory

    def __repr__(self) -> str:
        return f"RedisDirectory({self.address!r}, prefix={self.prefix!r})"

    async def _address(self) -> str:
        """The server to ask (a subclass finds it)."""
        return self.address

    async def verify(self, dispatcher: str, password: str) -> Identity:
        """The dispatcher's identity when ``password`` is right; else :class:`LoginRefused`."""
        if dispatcher_id_problem(dispatcher) is not None:
            raise LoginRefused(LoginRefusal.BAD_NAME)
        if not password:
            raise LoginRefused(LoginRefusal.NO_PASSWORD)
        if len(password) > MAX_PASSWORD or "\x00" in password:
            raise LoginRefused(LoginRefusal.WRONG_PASSWORD)
        address = await self._address()
        client = self._client_factory(
            address,
            timeout_s=self._timeout_s,
            options={
                **self._options,
                "username": acl_user(self.prefix, dispatcher),
                "password": password,
            },
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                raw = await client.get(role_key(self.prefix, dispatcher))
        except AuthenticationError:
            raise LoginRefused(LoginRefusal.WRONG_PASSWORD) from None
        except NoPermissionError:
            # the pair is right but the user may not read its entry: the ACL is wrong
            raise LoginRefused(LoginRefusal.NO_ROLE) from None
        except ResponseError as exc:
            if "WRONGPASS" in str(exc) or "NOAUTH" in str(exc):
                raise LoginRefused(LoginRefusal.WRONG_PASSWORD) from None
            log.warning("directory %s answered an error: %s", self.address, type(exc).__name__)
            raise LoginRefused(LoginRefusal.UNAVAILABLE, {"error": type(exc).__name__}) from None
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("directory %s unavailable: %s", self.address, type(exc).__name__)
            raise LoginRefused(LoginRefusal.UNAVAILABLE, {"error": type(exc).__name__}) from None
        finally:
            try:
                await client.aclose()
            except (RedisError, OSError) as exc:  # closing is best effort
                log.debug("closing the directory client: %s", exc)
        return Identity(dispatcher, parse_role(raw))


class SentinelDirectory(RedisDirectory):
    """The directory in whichever server the Sentinels name master now (where the zone
    authority lives with ``redis.sentinels``), found again at each check."""

    def __init__(
        self,
        sentinels: Sequence[tuple[str, int]],
        master: str,
        *,
        prefix: str = "dhmi",
        options: Mapping[str, Any] | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(f"sentinel {master}", prefix=prefix, options=options, timeout_s=timeout_s)
        self._sentinels = list(sentinels)
        self._master = master

    async def _address(self) -> str:
        tls = {k: v for k, v in self._options.items() if k.startswith("ssl")}
        sentinel = sentinel_for(self._sentinels, timeout_s=self._timeout_s, options=tls)
        try:
            async with asyncio.timeout(self._timeout_s * 2):
                host, port = await sentinel.discover_master(self._master)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("directory: no master %r from the Sentinels: %s", self._master, exc)
            raise LoginRefused(LoginRefusal.UNAVAILABLE, {"error": type(exc).__name__}) from None
        finally:
            await close_clients(sentinel.sentinels)
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def directory_for(
    ws: Workstation, lock_nodes: Sequence[str] | None, options: Mapping[str, Any] | None = None
) -> RedisDirectory | None:
    """The directory of ``ws``: where its zone authority lives (the Sentinels' master when
    configured, else the first node); ``lock_nodes`` overrides the nodes (the demo, tests:
    no Sentinels then). None without Redis."""
    r = ws.redis
    if lock_nodes is None and r.sentinels:
        return SentinelDirectory(
            [(a.host, a.port) for a in r.sentinels],
            r.sentinel_master,
            prefix=r.prefix,
            options=options,
        )
    nodes = [str(a) for a in r.nodes] if lock_nodes is None else list(lock_nodes)
    if not nodes:
        return None
    return RedisDirectory(nodes[0], prefix=r.prefix, options=options)
