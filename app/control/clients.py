"""The Redis clients of app/control, built in one place: the zone authority's, the lock's,
and the ones the Sentinels name.

Every data client is built alike (:func:`redis_client`): short socket timeouts and
no silent retry inside redis-py (``Retry(NoBackoff(), 0)``). The zone authority
reconnects by itself, with backoff, and must *see* an outage to fail closed and
re-read the state; the device lock retries as a whole, with jitter, and must see
a node fail fast. ``options`` are more redis-py connection settings, the same for
every client (the ACL user, the password, ``ssl`` and its ``ssl_*`` options:
``app.wiring.redis_options``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

__all__ = [
    "client_from_url",
    "clients_for",
    "close_clients",
    "redis_client",
    "sentinel_for",
    "sentinel_master_client",
]

log = logging.getLogger(__name__)


def _settings(
    timeout_s: float, decode_responses: bool, options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What every data client gets: timeouts, no silent retry, then ``options``."""
    return {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": decode_responses,
        **dict(options or {}),
    }


def client_from_url(url: str, **kwargs: Any) -> aioredis.Redis:
    """``Redis.from_url`` that also takes ``ssl=True`` (the form ``app.wiring`` gives).

    redis-py picks the TLS connection from the URL's scheme and would pass an
    ``ssl`` keyword on to a plain connection, which refuses it: TLS turns
    ``redis://`` into ``rediss://`` here instead.
    """
    if kwargs.pop("ssl", False) and url.startswith("redis://"):
        url = "rediss://" + url[len("redis://") :]
    return aioredis.Redis.from_url(url, **kwargs)


def redis_client(
    address: str,
    *,
    timeout_s: float = 1.0,
    decode_responses: bool = False,
    options: Mapping[str, Any] | None = None,
    db: int = 0,
) -> aioredis.Redis:
    """One client, from ``host:port`` (``[v6]:port`` too) or a ``redis://``/``rediss://`` URL.

    ``db`` applies to ``host:port`` only (a URL names its own).
    """
    settings = _settings(timeout_s, decode_responses, options)
    if "://" in address:
        return client_from_url(address, **settings)
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected host:port or a redis:// URL, got {address!r}")
    return aioredis.Redis(host=host.strip("[]"), port=int(port), db=db, **settings)


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
    """One client per lock node (:func:`redis_client` each), decoding replies by default.

    ``password`` and ``username`` are shorthands for those ``options``; ``options``
    wins when it names them too.
    """
    common: dict[str, Any] = {}
    if password is not None:
        common["password"] = password
    if username is not None:
        common["username"] = username
    common.update(options or {})
    return [
        redis_client(
            address,
            timeout_s=socket_timeout,
            decode_responses=decode_responses,
            options=common,
            db=db,
        )
        for address in addresses
    ]


def sentinel_for(
    sentinels: Sequence[tuple[str, int]],
    *,
    timeout_s: float = 1.0,
    options: Mapping[str, Any] | None = None,
) -> Sentinel:
    """Redis Sentinel over ``sentinels``: :func:`sentinel_master_client` gives a client that
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
        master, **_settings(timeout_s, decode_responses, options)
    )
    return client


async def close_clients(clients: Sequence[aioredis.Redis]) -> None:
    """Close every client (errors are logged, not raised); closing twice is harmless."""
    results = await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
    for client, result in zip(clients, results, strict=True):
        if isinstance(result, Exception):
            log.warning("closing %r failed: %s", client, result)
