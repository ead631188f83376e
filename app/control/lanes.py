"""The lock's fan-out: one command to every lock node at once, within one deadline.

A *lane* is one connection per node, taken from the nodes' clients' pools and
kept by this object between operations. A round writes the command to every
node of a lane first and reads the replies after, under one deadline, without a
task per node; a node that must (re)connect gets a task of its own, so a paused
one delays nobody past the deadline. Each operation in flight uses its own lane.

This uses redis-py's connection-level calls, which it documents but does not
promise across majors (docs/control.md, "What the fan-out needs from redis-py"):
``ConnectionPool.get_available_connection`` and ``release``, and on
``AbstractConnection``: ``connect``, ``pack_command``,
``send_packed_command(..., check_health=False)``, ``read_response``,
``disconnect(nowait=True)``, ``is_connected``, ``encoder`` and ``socket_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import NoScriptError, RedisError

__all__ = ["NODE_FAILURES", "Command", "Failed", "Lanes", "Script"]

#: What a node may fail with; anything else is a bug and propagates.
NODE_FAILURES = (RedisError, OSError, TimeoutError)

Command = tuple[Any, ...]


class Script:
    """A Lua script: EVALSHA normally, EVAL (which also loads it) when a node lacks it."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def call(self, keys: Sequence[str], args: Sequence[object]) -> tuple[Command, Command]:
        return (
            ("EVALSHA", self.sha, len(keys), *keys, *args),
            ("EVAL", self.source, len(keys), *keys, *args),
        )


class Failed:
    """A node that did not answer (in time); keeps the error for the reason text."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __str__(self) -> str:
        name = type(self.error).__name__
        return f"{name}: {self.error}" if str(self.error) else name


class Lanes:
    """Rounds of one command over the nodes of ``clients``, each bounded by ``op_timeout_s``.

    The clients stay the caller's; :meth:`aclose` gives the idle lanes' connections
    back to their pools (closing the clients closes them too). ``on_failure`` is
    called once per node that failed or did not answer in time.
    """

    def __init__(
        self,
        clients: Sequence[aioredis.Redis],
        *,
        op_timeout_s: float,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self._pools: list[ConnectionPool] = [c.connection_pool for c in clients]
        self.size = len(self._pools)
        self.op_timeout_s = op_timeout_s
        self._on_failure = on_failure
        # Idle lanes: one connection (or None, not taken yet) per node.
        self._idle: list[list[AbstractConnection | None]] = []

    async def aclose(self) -> None:
        """Give the idle lanes' connections back to their pools (again: nothing to do)."""
        lanes, self._idle = self._idle, []
        for lane in lanes:
            for node, conn in enumerate(lane):
                if conn is not None:
                    await self._give_back(node, conn)

    def _failed(self, exc: BaseException) -> Failed:
        self._on_failure()
        return Failed(exc)

    async def round(
        self, command: Command, fallback: Command | None = None, only: Sequence[int] = ()
    ) -> list[Any]:
        """``command`` on every node (or the ``only`` ones), in parallel, within one deadline.

        Returns one reply per node, in order; a node that failed or did not answer
        by the deadline gives a :class:`Failed`. Connected nodes are written to
        first and read after, without a task each; a node that must (re)connect gets
        a task, so a paused one delays nobody past the deadline. A reply is never
        left unread on a connection that stays in the lane: an interrupted read
        disconnects it (redis-py does on any error or cancellation, and so do we
        for the replies not read yet), so a late reply can never be taken for the
        answer to a later command.
        """
        targets = only or range(self.size)
        lane = self._idle.pop() if self._idle else self._new_lane()
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
            self._idle.append(lane)
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
        command: Command,
        fallback: Command | None,
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


async def _read(conn: AbstractConnection, fallback: Command | None) -> Any:
    try:
        return await conn.read_response()
    except NoScriptError:
        if fallback is None:
            raise
        # The node does not have the script (restarted, or first use): EVAL loads it.
        await conn.send_packed_command(conn.pack_command(*fallback), check_health=False)
        return await conn.read_response()
