"""The server's last line against duplicate and stale commands.

A Redis lock on the workstations' side is for efficiency; this is for
correctness. A lock can expire under a client that was paused; when it
resumes it may still send. So the server itself:

- answers a repeated idempotency key with the first result, without executing
  the command again (a retry after a lost answer, or a second dispatcher's
  copy of the same intent);
- refuses a fencing token lower than the highest it has seen for that device
  (``stale_token``): a newer lock holder has been here since.

Both survive a failover: the master sends what changed to the standby with
every replica, and the whole table when a partner (re)connects.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict
from typing import Any

from app.model.commands import Command, CommandOp, CommandResult, Outcome

#: How many results are remembered for repeated keys (oldest forgotten first).
REMEMBER = 10_000


class CommandGuard:
    def __init__(self, require_fencing: bool = False, remember: int = REMEMBER) -> None:
        self.require_fencing = require_fencing
        self.remember = remember
        self.highest: dict[str, int] = {}
        self.results: OrderedDict[str, CommandResult] = OrderedDict()
        self._new: list[str] = []
        self.duplicates = 0
        self.stale = 0

    def check(self, cmd: Command) -> tuple[CommandResult | None, bool]:
        """Before executing: (a result to send instead, whether it is a repeat)."""
        key = cmd.idempotency_key
        if key and key in self.results:
            self.duplicates += 1
            first = self.results[key]
            # The same outcome, addressed to this send of the intent.
            return CommandResult(
                cmd.command_id,
                first.device,
                first.op,
                first.outcome,
                first.reason_code,
                first.reason,
            ), True
        token = cmd.fencing_token
        if token == 0 and self.require_fencing:
            return self._refuse(cmd, "no_token", "this server requires a fencing token"), False
        highest = self.highest.get(cmd.device, 0)
        if token and token < highest:
            self.stale += 1
            return self._refuse(
                cmd,
                "stale_token",
                f"fencing token {token} is older than {highest} already seen for {cmd.device}",
            ), False
        if token:
            self.highest[cmd.device] = token
        return None, False

    def _refuse(self, cmd: Command, code: str, reason: str) -> CommandResult:
        result = CommandResult(cmd.command_id, cmd.device, cmd.op, Outcome.REFUSED, code, reason)
        self.remember_result(cmd, result)
        return result

    def remember_result(self, cmd: Command, result: CommandResult) -> None:
        key = cmd.idempotency_key
        if not key:
            return
        self.results[key] = result
        self._new.append(key)
        while len(self.results) > self.remember:
            self.results.popitem(last=False)

    # -- replication -------------------------------------------------------------

    def export(self, full: bool) -> dict[str, Any]:
        """Tokens, and the results added since the last export (all of them if ``full``)."""
        keys = list(self.results) if full else [k for k in self._new if k in self.results]
        self._new.clear()
        return {
            "highest": dict(self.highest),
            "results": [[k, asdict(self.results[k])] for k in keys],
        }

    def merge(self, doc: dict[str, Any]) -> None:
        for device, token in doc["highest"].items():
            self.highest[device] = max(self.highest.get(device, 0), int(token))
        for key, r in doc["results"]:
            self.results[key] = CommandResult(
                r["command_id"],
                r["device"],
                CommandOp(r["op"]),
                Outcome(r["outcome"]),
                r["reason_code"],
                r["reason"],
            )
        while len(self.results) > self.remember:
            self.results.popitem(last=False)
