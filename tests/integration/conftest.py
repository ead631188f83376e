"""Fixtures for fault tests: simulator pairs, and relays that stand for networks."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from app.session import Endpoint


class NetworkRelay:
    """A loopback TCP relay standing for one network between the HMI and one server.

    ``cut()`` drops every connection through it and refuses new ones, as a failed
    switch or a pulled cable would; ``restore()`` lets traffic through again.
    """

    def __init__(self, target: Endpoint, listen_host: str) -> None:
        self.target = target
        self.listen_host = listen_host
        self.is_cut = False
        self._server: asyncio.Server | None = None
        self._pairs: set[asyncio.Task[None]] = set()
        self.endpoint: Endpoint | None = None

    async def start(self) -> Endpoint:
        self._server = await asyncio.start_server(self._accept, self.listen_host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.endpoint = Endpoint(self.target.server, self.listen_host, port)
        return self.endpoint

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection(self.target.host, self.target.port)
        except OSError:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._pairs.add(task)
        try:
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._pairs.discard(task)
            writer.transport.abort()
            up_w.transport.abort()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        dst.transport.abort()

    def cut(self) -> None:
        self.is_cut = True
        for task in list(self._pairs):
            task.cancel()

    def restore(self) -> None:
        self.is_cut = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


@pytest.fixture
def relay_class() -> type[NetworkRelay]:
    """The relay class, for tests (test modules cannot import conftest directly)."""
    return NetworkRelay
