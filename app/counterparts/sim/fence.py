"""The lock service's fence counters, as the server reads them to tell a real token.

A fencing token is handed out only once a quorum of the lock nodes hold a fence
counter at least that high for the device (``app/control/redlock.py``: the
granting nodes INCR, the lagging ones of the quorum are raised before the grant
returns), and the counters never go down. So a token is one the lock service
issued only if a quorum of nodes show a counter at least that high now; a token
above that was made up by its sender (``docs/control.md``, "Tokens the lock
service never issued").

The server reads the counters itself (GET on every node, in parallel, within
one deadline). It reads only: it never writes the lock service's keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis

from app.control.redlock import NODE_FAILURES, fence_key
from app.model.commands import lock_resource

log = logging.getLogger(__name__)


class FenceCounters:
    """:class:`app.counterparts.sim.guard.FenceCheck` over the lock nodes' Redis servers.

    ``clients``: one per lock node, the same nodes (and ``prefix``) the workstations'
    ``redis.nodes`` and ``redis.prefix`` name. They stay the caller's to close.
    """

    def __init__(
        self, clients: Sequence[aioredis.Redis], *, prefix: str, timeout_s: float = 0.2
    ) -> None:
        if not clients:
            raise ValueError("FenceCounters needs the lock nodes")
        self.clients = list(clients)
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.quorum = len(self.clients) // 2 + 1
        self.reads = 0
        self.node_errors = 0

    async def counters(self, device: str) -> list[int | None]:
        """Each node's fence counter for ``device`` (None: the node did not answer)."""
        key = fence_key(self.prefix, lock_resource(device))
        self.reads += 1

        async def read(client: aioredis.Redis) -> int | None:
            try:
                async with asyncio.timeout(self.timeout_s):
                    value = await client.get(key)
            except NODE_FAILURES as exc:
                self.node_errors += 1
                log.warning("fence counter %s: %s", key, exc)
                return None
            try:
                return int(value) if value is not None else 0
            except ValueError:
                self.node_errors += 1
                log.warning("fence counter %s holds %r, not a number", key, value)
                return None

        return list(await asyncio.gather(*(read(c) for c in self.clients)))

    async def issued(self, device: str, token: int) -> bool | None:
        """True when a quorum of nodes show a counter ≥ ``token``; False when the nodes
        that answered prove no quorum can; None when too few answered to tell."""
        values = await self.counters(device)
        reached = sum(1 for v in values if v is not None and v >= token)
        if reached >= self.quorum:
            return True
        silent = sum(1 for v in values if v is None)
        if reached + silent >= self.quorum:
            return None  # the nodes that did not answer might make the quorum
        return False
