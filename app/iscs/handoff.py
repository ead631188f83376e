"""The HMI's side of the ISCS hand-off: launch the program, keep the channel, deliver.

- **Launch** on demand (one instance; reused while it runs; relaunched on the
  next hand-off if it died), its stdout and stderr copied to the log line by
  line. It gets the channel's port on its command line and a one-time secret
  in its environment (``DISPATCHER_ISCS_SECRET``; not on the command line,
  where other users could read it).
- **Channel**: a loopback TCP listener; the first frame must be ISCS_HELLO with
  that secret (compared in constant time) within a few seconds, else the
  connection is closed and logged. One program at a time.
- **Delivery**: the :class:`~app.iscs.outbox.Outbox` keeps every hand-off until
  the program acknowledges its id; on every new connection everything
  unacknowledged is sent again. Writing stops while the program is not reading
  (the transport's buffer is over ``high_water``); the outbox then fills, and
  a full outbox replaces the oldest hand-off of the same kind, which is
  announced (``superseded``) so the dispatcher is told.
- **Bad input** from the program (a bad frame, an unknown message, oversize):
  logged, counted, the connection closed; the program may connect again.
- **State** for the status bar: not running, starting, ready, not answering
  (a hand-off unacknowledged for ``answer_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hmac
import logging
import os
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.clock import wall_ms
from app.events import Event
from app.iscs.connection import IscsConnection
from app.iscs.messages import Handoff, HandoffAck, HandoffKind, IscsHello, IscsMessageError
from app.iscs.outbox import CAPACITY, Outbox

log = logging.getLogger(__name__)

SECRET_ENV = "DISPATCHER_ISCS_SECRET"
#: The language the workstation shows (``zh_CN``, ``en``) and its line file: the ISCS
#: program may follow them (the reference one does); a program that does not know
#: them ignores its environment, so they are never on its command line.
LANGUAGE_ENV = "DISPATCHER_LANGUAGE"
LINE_ENV = "DISPATCHER_LINE_FILE"
HELLO_TIMEOUT_S = 5.0


class IscsState(enum.StrEnum):
    NOT_RUNNING = "not_running"
    STARTING = "starting"
    READY = "ready"
    NOT_ANSWERING = "not_answering"


@dataclass(frozen=True, slots=True)
class IscsStatus:
    state: IscsState
    pending: int
    delivered: int
    superseded: int
    refused_connections: int
    bad_messages: int
    launches: int


class IscsHandoff:
    def __init__(
        self,
        program: str,
        args: Sequence[str] = (),
        *,
        capacity: int = CAPACITY,
        answer_s: float = 5.0,
        high_water: int = 256 * 1024,
        dispatcher: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.program = program
        self.args = list(args)
        #: more of the program's environment (:data:`LANGUAGE_ENV`, :data:`LINE_ENV`)
        self.env: dict[str, str] = dict(env or {})
        self.outbox = Outbox(capacity)
        self.answer_s = answer_s
        self.high_water = high_water
        self.dispatcher = dispatcher
        self.secret = secrets.token_hex(16)
        self.port = 0
        self.state_changed: Event[IscsStatus] = Event("iscs.state")
        self.superseded: Event[Handoff] = Event("iscs.superseded")
        self.delivered = 0
        self.superseded_count = 0
        self.refused = 0
        self.bad_messages = 0
        self.launches = 0
        self._server: asyncio.Server | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._proc_tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.StreamWriter | None = None
        self._conn: IscsConnection | None = None
        self._oldest_unacked_at: float | None = None
        self._state = IscsState.NOT_RUNNING
        self._watch: asyncio.Task[None] | None = None
        self._launching: asyncio.Task[None] | None = None
        self._closing = False

    # -- life -------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._watch = asyncio.get_running_loop().create_task(self._watchdog())

    async def aclose(self) -> None:
        """Idempotent: stop listening, close the channel, stop the program."""
        if self._closing:
            return
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        await self.stop_program()

    async def stop_program(self) -> None:
        if self._launching is not None:
            with contextlib.suppress(Exception):
                await self._launching
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in list(self._proc_tasks):
            with contextlib.suppress(Exception):
                await task

    @property
    def state(self) -> IscsState:
        return self._state

    def status(self) -> IscsStatus:
        return IscsStatus(
            self._state,
            len(self.outbox),
            self.delivered,
            self.superseded_count,
            self.refused,
            self.bad_messages,
            self.launches,
        )

    def _set(self, state: IscsState) -> None:
        if state is not self._state:
            log.info("ISCS program: %s -> %s", self._state, state)
            self._state = state
        self.state_changed.emit(self.status())

    # -- the program ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def _launch(self) -> None:
        if self.running or self._closing:
            return
        env = dict(os.environ, **self.env, **{SECRET_ENV: self.secret})
        self._proc = await asyncio.create_subprocess_exec(
            self.program,
            *self.args,
            "--port",
            str(self.port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        self.launches += 1
        log.info("ISCS program started (pid %d): %s", self._proc.pid, self.program)
        self._set(IscsState.STARTING)
        loop = asyncio.get_running_loop()
        for stream, name in ((self._proc.stdout, "out"), (self._proc.stderr, "err")):
            if stream is not None:
                task = loop.create_task(self._copy_output(stream, name))
                self._proc_tasks.add(task)
                task.add_done_callback(self._proc_tasks.discard)

    async def _copy_output(self, stream: asyncio.StreamReader, name: str) -> None:
        pid = self._proc.pid if self._proc is not None else 0
        while line := await stream.readline():
            log.info("iscs[%d] %s: %s", pid, name, line.decode(errors="replace").rstrip())

    # -- hand-offs --------------------------------------------------------------------

    def hand_off(
        self,
        kind: HandoffKind,
        *,
        station: str = "",
        device: str = "",
        alarm_id: str = "",
    ) -> Handoff:
        """Queue one hand-off; launches the program if it is not running."""
        item = Handoff(
            uuid.uuid4().hex,
            kind,
            station=station,
            device=device,
            alarm_id=alarm_id,
            dispatcher=self.dispatcher,
            created_ms=wall_ms(),
        )
        result = self.outbox.put(item)
        if result.superseded is not None:
            self.superseded_count += 1
            log.warning(
                "ISCS outbox full (%d): %s %s replaced by a newer one",
                self.outbox.capacity,
                result.superseded.kind,
                result.superseded.id[:8],
            )
            self.superseded.emit(result.superseded)
        if self._oldest_unacked_at is None:
            self._oldest_unacked_at = time.monotonic()
        self._ensure_running()
        self._flush()
        return item

    def _ensure_running(self) -> None:
        """One launch at a time: hand-offs while it starts wait in the outbox."""
        if self.running or self._closing:
            return
        if self._launching is None or self._launching.done():
            self._launching = asyncio.get_running_loop().create_task(self._launch())

    def _flush(self) -> None:
        writer, conn = self._writer, self._conn
        if writer is None or conn is None or writer.is_closing():
            return
        transport = writer.transport
        for item in self.outbox.unsent():
            if transport.get_write_buffer_size() > self.high_water:
                break  # the program is not reading: the rest waits in the outbox
            writer.write(conn.send(item))
            self.outbox.mark_sent(item.id)

    # -- the channel ------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = IscsConnection("iscs")
        peer = writer.get_extra_info("peername")
        try:
            hello = await self._hello(reader, conn)
        except (IscsMessageError, TimeoutError, OSError) as exc:
            self.refused += 1
            log.warning("ISCS channel: connection from %s refused: %s", peer, exc)
            writer.close()
            return
        if self._writer is not None:
            self._writer.close()  # one program at a time: the newest wins
        self._writer, self._conn = writer, conn
        log.info("ISCS channel: %s connected (%s)", hello.program or "program", peer)
        self.outbox.rewind()
        self._set(IscsState.READY)
        self._flush()
        try:
            await self._read(reader, conn)
        finally:
            if self._writer is writer:
                self._writer, self._conn = None, None
                if not self._closing:
                    self._set(IscsState.STARTING if self.running else IscsState.NOT_RUNNING)
            writer.close()

    async def _hello(self, reader: asyncio.StreamReader, conn: IscsConnection) -> IscsHello:
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            while True:
                data = await reader.read(4096)
                if not data:
                    raise IscsMessageError("closed before HELLO")
                conn.receive_data(data)
                msg = conn.next_message()
                if msg is None:
                    continue
                if not isinstance(msg, IscsHello):
                    raise IscsMessageError(f"expected HELLO first, got {type(msg).__name__}")
                if not hmac.compare_digest(msg.secret.encode(), self.secret.encode()):
                    raise IscsMessageError("wrong secret")
                return msg

    async def _read(self, reader: asyncio.StreamReader, conn: IscsConnection) -> None:
        while data := await reader.read(65536):
            conn.receive_data(data)
            try:
                while (msg := conn.next_message()) is not None:
                    if not isinstance(msg, HandoffAck):
                        raise IscsMessageError(f"unexpected {type(msg).__name__} from the program")
                    if self.outbox.acked(msg.id) is not None:
                        self.delivered += 1
            except IscsMessageError as exc:
                self.bad_messages += 1
                log.warning("ISCS channel: %s; closing it", exc)
                return
            self._oldest_unacked_at = time.monotonic() if len(self.outbox) else None
            if self._state is IscsState.NOT_ANSWERING:
                self._set(IscsState.READY)
            self._flush()

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self._proc is not None and self._proc.returncode is not None:
                log.warning("ISCS program exited with status %s", self._proc.returncode)
                self._proc = None
                self._set(IscsState.NOT_RUNNING)
                if len(self.outbox):
                    self._ensure_running()  # what it owed goes to the next instance
            since = self._oldest_unacked_at
            late = since is not None and time.monotonic() - since > self.answer_s
            if late and self._state is IscsState.READY:
                self._set(IscsState.NOT_ANSWERING)
