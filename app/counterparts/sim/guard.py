"""The server's last line against duplicate, stale and forged commands.

A Redis lock on the workstations' side is for efficiency; this is for
correctness. A lock can expire under a client that was paused; when it
resumes it may still send. So the server itself, before executing anything:

- requires an idempotency key on every COMMAND, and a fencing token on every
  COMMAND to a line device (``no_key``, ``no_token``), unless
  :class:`CommandRules` relaxes it for a legacy client (``dispatcher-sim
  --legacy-commands``). Alarm operations carry no token: an alarm is not a
  device under a lock, and acknowledging or shelving it twice is harmless;
- answers a repeated idempotency key with the first result, without executing
  the command again (a retry after a lost answer, or a second dispatcher's
  copy of the same intent); a key seen with another device, operation or
  argument is refused (``key_reused``) and nothing is executed;
- refuses a fencing token lower than the highest it has seen for that device
  (``stale_token``): a newer lock holder has been here since;
- refuses a token no lock service could have issued: above :data:`MAX_TOKEN`
  always (``bad_token``), and, when it can read the lock service's fence
  counters (:class:`FenceCheck`), any token above the device's floor that a
  quorum of the lock nodes has not reached (``token_not_issued``; nodes that
  cannot say: ``token_unverified``, fail closed). Such a token never raises the
  device's floor, so a forged one cannot lock out the real holders.

Both tables survive a failover: the master sends what changed to the standby
with every replica, and the whole table when a partner (re)connects.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from app.counterparts.sim.interlocking import Refused
from app.model.commands import OP_DEVICE_KIND, Command, CommandOp, CommandResult, Outcome

#: How many results are remembered for repeated keys (oldest forgotten first).
REMEMBER = 10_000
#: The largest fencing token the protocol carries: the largest integer every JSON
#: reader holds exactly (2**53 - 1). A lock service counting one per grant never
#: gets there; anything above is not a token.
MAX_TOKEN = 2**53 - 1


@dataclass(frozen=True, slots=True)
class CommandRules:
    """What every COMMAND must carry. Both default to required; a server that serves a
    legacy client (or workstations without a lock service) relaxes them, knowingly:
    such commands are then neither deduplicated (no key) nor fenced (no token)."""

    require_key: bool = True
    require_token: bool = True


STRICT = CommandRules()
LEGACY = CommandRules(require_key=False, require_token=False)


class FenceCheck(Protocol):
    """The lock service's fence counters, read by the server (``app/counterparts/sim/fence.py``)."""

    async def issued(self, device: str, token: int) -> bool | None:
        """Whether a quorum of lock nodes has counted up to ``token`` for ``device``;
        None when too few nodes answered to tell."""
        ...


@dataclass(frozen=True, slots=True)
class _Remembered:
    """The first result of a key, and what it was for (a key is one intent)."""

    result: CommandResult
    arg: str

    def same_intent(self, cmd: Command) -> bool:
        return (self.result.device, self.result.op, self.arg) == (cmd.device, cmd.op, cmd.arg)


class CommandGuard:
    def __init__(
        self,
        rules: CommandRules | None = None,
        remember: int = REMEMBER,
        fence: FenceCheck | None = None,
    ) -> None:
        self.rules = rules or STRICT
        self.remember = remember
        self.fence = fence
        self.highest: dict[str, int] = {}
        self.results: OrderedDict[str, _Remembered] = OrderedDict()
        self._new: list[str] = []
        self.duplicates = 0
        self.stale = 0
        self.reused = 0
        self.forged = 0  # tokens above what the lock service issued

    async def admit(self, cmd: Command) -> tuple[CommandResult | None, bool]:
        """Before executing: (a result to send instead, whether it is a repeat).

        (None, False): execute it, then :meth:`remember_result`. Commands must be
        admitted one at a time (the server does): the floor read here is the one
        raised here.
        """
        key = cmd.idempotency_key
        if key:
            first = self.results.get(key)
            if first is not None:
                if not first.same_intent(cmd):
                    self.reused += 1
                    return self._refuse(
                        cmd,
                        Refused.of(
                            "key_reused",
                            key=key,
                            op=first.result.op,
                            device=first.result.device,
                            arg=_arg(first.arg),
                        ),
                        remember=False,
                    ), False
                self.duplicates += 1
                # The same outcome, addressed to this send of the intent.
                r = first.result
                return replace(r, command_id=cmd.command_id), True
        elif self.rules.require_key:
            return self._refuse(cmd, Refused.of("no_key"), remember=False), False
        token = cmd.fencing_token
        if token == 0 and self.rules.require_token and OP_DEVICE_KIND[cmd.op] != "alarm":
            return self._refuse(cmd, Refused.of("no_token")), False
        if not 0 <= token <= MAX_TOKEN:
            self.forged += 1
            return self._refuse(cmd, Refused.of("bad_token", token=token, max=MAX_TOKEN)), False
        highest = self.highest.get(cmd.device, 0)
        if token and token < highest:
            self.stale += 1
            return self._refuse(
                cmd, Refused.of("stale_token", token=token, highest=highest, device=cmd.device)
            ), False
        if token > highest and self.fence is not None:
            issued = await self.fence.issued(cmd.device, token)
            if issued is None:
                # Not remembered: the same intent may be admitted once the nodes answer.
                return self._refuse(
                    cmd,
                    Refused.of("token_unverified", token=token, device=cmd.device),
                    remember=False,
                ), False
            if not issued:
                self.forged += 1
                return self._refuse(
                    cmd, Refused.of("token_not_issued", token=token, device=cmd.device)
                ), False
        if token > highest:
            self.highest[cmd.device] = token
        return None, False

    def _refuse(self, cmd: Command, why: Refused, *, remember: bool = True) -> CommandResult:
        result = CommandResult(
            cmd.command_id,
            cmd.device,
            cmd.op,
            Outcome.REFUSED,
            why.code,
            why.reason,
            why.form,
            why.params,
        )
        if remember:
            self.remember_result(cmd, result)
        return result

    def remember_result(self, cmd: Command, result: CommandResult) -> None:
        key = cmd.idempotency_key
        if not key:
            return
        self._store(key, _Remembered(result, cmd.arg))
        self._new.append(key)

    def _store(self, key: str, entry: _Remembered) -> None:
        self.results[key] = entry
        self.results.move_to_end(key)
        while len(self.results) > self.remember:
            self.results.popitem(last=False)

    # -- replication -------------------------------------------------------------

    def export(self, full: bool) -> dict[str, Any]:
        """Tokens, and the results added since the last export (all of them if ``full``).

        Each result is ``[key, result fields, arg]`` (a partner that predates the
        argument sends two elements: the argument is then "")."""
        keys = list(self.results) if full else [k for k in self._new if k in self.results]
        self._new.clear()
        return {
            "highest": dict(self.highest),
            "results": [[k, asdict(self.results[k].result), self.results[k].arg] for k in keys],
        }

    def merge(self, doc: dict[str, Any]) -> None:
        for device, token in doc["highest"].items():
            self.highest[device] = max(self.highest.get(device, 0), int(token))
        for key, r, *rest in doc["results"]:
            result = CommandResult(
                r["command_id"],
                r["device"],
                CommandOp(r["op"]),
                Outcome(r["outcome"]),
                r["reason_code"],
                r["reason"],
                str(r.get("reason_form", "")),  # a partner of an older release: none
                {str(k): str(v) for k, v in r.get("reason_params", {}).items()},
            )
            self._store(key, _Remembered(result, str(rest[0]) if rest else ""))


def _arg(arg: str) -> str:
    return f" {arg}" if arg else ""
