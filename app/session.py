"""The composition root of the HMI core: links, line state and commands, wired together.

Everything runs on one asyncio loop (qasync puts it on Qt's loop in the GUI):
messages arrive, the line state changes, listeners hear about it, in one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.comms.link import LinkDown, LinkHandler, LinkInfo, LinkState, LinkTimings, ServerLink
from app.events import Event
from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.state import (
    CabRole,
    Changes,
    CouplingState,
    LineState,
    SequenceGap,
    StateDelta,
    StateSnapshot,
    TrainState,
    UnknownDevice,
)
from app.model.topology import Direction, Line
from app.protocol.messages import Hello, Message, SnapshotRequest
from app.protocol.udp import CAB_ROLES, COUPLING_STATES, DIRECTIONS, TrainStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Endpoint:
    server: str
    host: str
    port: int


class DispatcherSession(LinkHandler):
    """The dispatcher's view of the line and the way to command it.

    Line state is taken from one active link at a time (the first one up, in
    configuration order); switching links invalidates the state until the new
    link's snapshot arrives, so nothing stale is ever shown as current.
    """

    def __init__(
        self,
        line: Line,
        endpoints: Sequence[Endpoint],
        *,
        node: str,
        dispatcher: str,
        role: str,
        timings: LinkTimings | None = None,
        command_timeout_s: float = 5.0,
    ) -> None:
        self.line = line
        self.node = node
        self.dispatcher = dispatcher
        self.role = role
        self.command_timeout_s = command_timeout_s
        self.state = LineState(line)
        self.state_changed: Event[Changes] = Event("state_changed")
        self.links_changed: Event[list[LinkInfo]] = Event("links_changed")
        self.command_finished: Event[CommandResult] = Event("command_finished")
        self.links = [
            ServerLink(
                f"{ep.server}@{ep.host}:{ep.port}",
                ep.server,
                ep.host,
                ep.port,
                self._hello,
                self,
                timings or LinkTimings(),
            )
            for ep in endpoints
        ]
        self.active: ServerLink | None = None
        self._pending: dict[str, asyncio.Future[CommandResult]] = {}
        self._train_seq: dict[int, int] = {}
        self._synced = asyncio.Event()
        self.gaps = 0
        self.bad_records = 0

    def _hello(self, udp_port: int) -> Hello:
        return Hello(
            node=self.node,
            role=self.role,
            line_id=self.line.id,
            line_digest=self.line.digest(),
            dispatcher=self.dispatcher,
            udp_port=udp_port,
        )

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        for link in self.links:
            link.start()

    async def close(self) -> None:
        for link in self.links:
            await link.close()
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()

    async def wait_synchronised(self) -> None:
        """Wait until a snapshot from the active link has been applied."""
        await self._synced.wait()

    def link_infos(self) -> list[LinkInfo]:
        return [link.info() for link in self.links]

    # -- link callbacks ---------------------------------------------------------

    def link_state(self, link: ServerLink) -> None:
        active_lost = link is self.active and link.state is not LinkState.UP
        if active_lost or (self.active is None and link.state is LinkState.UP):
            self._switch_active()
        self.links_changed.emit(self.link_infos())

    def _switch_active(self) -> None:
        up = [link for link in self.links if link.state is LinkState.UP]
        new = up[0] if up else None
        if new is self.active:
            return
        log.info("active link: %s", new.name if new else "none")
        self.active = new
        self._invalidate()
        self._train_seq.clear()
        if new is not None:
            self._request_snapshot(new, "active link changed")
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(LinkDown("the link that carried the command went down"))

    def link_message(self, link: ServerLink, msg: Message) -> None:
        if isinstance(msg, CommandResult):
            fut = self._pending.get(msg.command_id)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if link is not self.active:
            return
        try:
            if isinstance(msg, StateSnapshot):
                changes = self.state.apply_snapshot(msg)
                self._synced.set()
            elif isinstance(msg, StateDelta):
                changes = self.state.apply_delta(msg)
            else:
                return
        except SequenceGap as gap:
            self.gaps += 1
            log.warning("link %s: %s; asking for a snapshot", link.name, gap)
            self._invalidate()
            self._request_snapshot(link, str(gap))
            return
        except UnknownDevice as exc:
            self.bad_records += 1
            log.error("link %s: %s; asking for a snapshot", link.name, exc)
            self._invalidate()
            self._request_snapshot(link, str(exc))
            return
        if changes:
            self.state_changed.emit(changes)

    def _invalidate(self) -> None:
        """The state is no longer current: say so at once, everywhere it is shown."""
        self.state.invalidate()
        self._synced.clear()
        self.state_changed.emit(Changes(full=True))

    def _request_snapshot(self, link: ServerLink, reason: str) -> None:
        with contextlib.suppress(LinkDown):
            link.send(SnapshotRequest(reason))

    def link_status(self, link: ServerLink, rec: TrainStatus) -> None:
        if link is not self.active or not self.state.synchronised:
            return
        last = self._train_seq.get(rec.train_id)
        # Datagrams may be duplicated or reordered: keep only newer ones (mod 2**32).
        if last is not None and not 0 < ((rec.seq - last) & 0xFFFFFFFF) < 0x80000000:
            return
        self._train_seq[rec.train_id] = rec.seq
        sections = self.line.sections
        if rec.section_index >= len(sections):
            self.bad_records += 1
            return
        section = sections[rec.section_index].id
        direction = Direction(DIRECTIONS[rec.direction])
        old = self.state.trains.get(rec.train_id)
        # "since" is when the train entered its section, not when it last reported.
        same_place = old is not None and (old.section, old.direction) == (section, direction)
        since = old.since_ms if old is not None and same_place else rec.timestamp_ms
        train = TrainState(
            rec.train_id,
            rec.number,
            section,
            rec.offset_cm / 100,
            rec.speed_dkmh / 10,
            direction,
            CouplingState(COUPLING_STATES[rec.coupling]),
            CabRole(CAB_ROLES[rec.cab]),
            since,
        )
        changes = self.state.apply_train(train)
        if changes:
            self.state_changed.emit(changes)

    # -- commands ---------------------------------------------------------------

    async def command(self, device: str, op: CommandOp) -> CommandResult:
        """Send one command and wait for its result. Never raises: failures are outcomes."""
        cmd = Command(
            command_id=uuid.uuid4().hex,
            device=device,
            op=op,
            dispatcher=self.dispatcher,
            role=self.role,
            zone=self.line.zone_of_device(device) or "",
            idempotency_key=uuid.uuid4().hex,
        )
        result = await self._send_and_wait(cmd)
        self.command_finished.emit(result)
        return result

    async def _send_and_wait(self, cmd: Command) -> CommandResult:
        def failed(code: str, reason: str) -> CommandResult:
            return CommandResult(cmd.command_id, cmd.device, cmd.op, Outcome.FAILED, code, reason)

        if self.role == "observer":
            return CommandResult(
                cmd.command_id,
                cmd.device,
                cmd.op,
                Outcome.REFUSED,
                "not_authorised",
                "observers may not command",
            )
        link = self.active
        if link is None:
            return failed("no_link", "no server link is up; the command was not sent")
        fut: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[cmd.command_id] = fut
        try:
            link.send(cmd)
            return await asyncio.wait_for(fut, self.command_timeout_s)
        except LinkDown as exc:
            return failed("link_down", f"link lost before the result: {exc}")
        except TimeoutError:
            return failed("timeout", f"no result within {self.command_timeout_s:g} s")
        finally:
            del self._pending[cmd.command_id]
