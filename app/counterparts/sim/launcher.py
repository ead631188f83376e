"""Start the simulator as a child process and learn where it listens.

Synchronous on purpose: it works the same under asyncio, qasync (whose
Windows loop has no subprocess support) and plain pytest. The child's output
is drained by a thread into this process's log so its pipes never fill.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from app.config import Workstation
from app.counterparts.services import die_with_parent
from app.protocol.security import LinkKeys
from app.session import Endpoint

#: the variable a simulator child reads its link key from (never its command line,
#: which every local user can see)
LINK_KEY_ENV = "DHMI_SIM_LINK_KEY"


def key_text(keys: LinkKeys) -> str:
    """``keys`` as a key file or variable holds them: ``ID:HEX[:ROLE]`` comma-separated."""
    return ",".join(
        f"{kid}:{key.hex()}" + (f":{role}" if (role := keys.ceiling(kid)) else "")
        for kid, key in keys.keys
    )


#: the variable the demo HMI reads the key it made for its simulator pair from
DEMO_LINK_KEY_ENV = "DHMI_DEMO_LINK_KEY"


def demo_link_keys() -> LinkKeys:
    """A fresh random key for one demo run (the demo's pair and its one HMI)."""
    return LinkKeys((("demo", secrets.token_bytes(32)),))


def with_link_key_env(ws: Workstation, keys: LinkKeys) -> Workstation:
    """``ws`` reading its link key from this process's environment, where ``keys`` are put."""
    os.environ[DEMO_LINK_KEY_ENV] = key_text(keys)
    security = dataclasses.replace(ws.security, link_key_file="", link_key_env=DEMO_LINK_KEY_ENV)
    return dataclasses.replace(ws, security=security)


def command_safety_args(ws: Workstation, lock_nodes: Sequence[str] | None) -> list[str]:
    """The simulator options that make it check commands the way ``ws`` sends them.

    ``lock_nodes``: the Redis servers of the workstations' device locks (None: as
    ``ws.redis.nodes`` says). With them, the server reads their fence counters to
    refuse a token they never issued; with none, the workstations have no lock
    service and send no fencing token, so the server must accept commands
    without one (``--legacy-commands``; docs/control.md).
    """
    nodes = [str(a) for a in ws.redis.nodes] if lock_nodes is None else list(lock_nodes)
    if not nodes:
        return ["--legacy-commands"]
    args = [arg for node in nodes for arg in ("--fence-node", node)]
    args += ["--fence-prefix", ws.redis.prefix]
    r = ws.redis
    if r.username:
        args += ["--fence-user", r.username]
    if r.password_file:
        args += ["--fence-password-file", r.password_file]
    elif r.password_env:
        args += ["--fence-password-env", r.password_env]
    return args


log = logging.getLogger(__name__)


class SimulatorError(RuntimeError):
    pass


class SimulatorProcess:
    """``with SimulatorProcess(line) as sim: sim.endpoints`` — one simulator child."""

    def __init__(
        self,
        line_path: str | os.PathLike[str],
        args: Sequence[str] = (),
        listen: Sequence[str] = ("127.0.0.1:0",),
        link_keys: LinkKeys | None = None,
    ) -> None:
        self.line_path = Path(line_path)
        self.link_keys = link_keys
        self.args = list(args)
        self.listen = list(listen)
        self.proc: subprocess.Popen[str] | None = None
        self.endpoints: list[Endpoint] = []
        self.node = ""
        self._drains: list[threading.Thread] = []

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "app.counterparts.sim", "--line", str(self.line_path)]
        for addr in self.listen:
            cmd += ["--listen", addr]
        if self.link_keys is not None:
            cmd += ["--link-key-env", LINK_KEY_ENV]
        return cmd + self.args

    def start(self, timeout: float = 30.0) -> list[Endpoint]:
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        env.pop(LINK_KEY_ENV, None)
        if self.link_keys is not None:
            env[LINK_KEY_ENV] = key_text(self.link_keys)
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 (no locks taken: one system call)
        )
        lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._drains = [
            threading.Thread(target=_drain, args=(self.proc.stdout, lines), daemon=True),
            threading.Thread(target=_drain, args=(self.proc.stderr, None), daemon=True),
        ]
        for thread in self._drains:
            thread.start()
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                self.stop()
                raise SimulatorError(f"simulator not ready within {timeout:g} s") from None
            if line is None:
                code = self.proc.wait()
                raise SimulatorError(f"simulator exited with status {code} before READY")
            if line.startswith("READY "):
                info = json.loads(line[6:])
                self.node = info["node"]
                self.endpoints = [Endpoint(self.node, h, p) for h, p in info["tcp"]]
                return self.endpoints

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 10.0) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        code = proc.wait()
        for thread in self._drains:
            thread.join(timeout)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        return code

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _drain(stream: IO[str], lines: queue.Queue[str | None] | None) -> None:
    for raw in stream:
        text = raw.rstrip("\n")
        if lines is not None:
            lines.put(text)
        else:
            log.debug("sim: %s", text)
    if lines is not None:
        lines.put(None)


def free_port(hosts: Sequence[str]) -> int:
    """A TCP port free on every one of ``hosts`` (loopback addresses) right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
            others = [socket.socket() for _ in hosts[1:]]
            try:
                for sock, host in zip(others, hosts[1:], strict=True):
                    sock.bind((host, port))
            except OSError:
                continue
            finally:
                for sock in others:
                    sock.close()
            return port
    raise SimulatorError(f"no port free on all of {hosts}")


class SimulatorPair:
    """Servers A (master) and B (standby), each listening on two loopback "networks".

    Each knows the other as its peer on both networks. ``endpoints`` lists the
    four addresses in the order a workstation file would: A net 1, A net 2,
    B net 1, B net 2. Ports stay fixed across :meth:`restart`.
    """

    def __init__(
        self,
        line_path: str | os.PathLike[str],
        args: Sequence[str] = (),
        networks: Sequence[str] = ("127.0.0.1", "127.0.0.2"),
        journal_dir: str | os.PathLike[str] | None = None,
        link_keys: LinkKeys | None = None,
    ) -> None:
        self.line_path = line_path
        self.link_keys = link_keys
        self.args = list(args)
        self.networks = list(networks)
        self.journal_dir = Path(journal_dir) if journal_dir else None
        self.ports = {"A": free_port(self.networks), "B": free_port(self.networks)}
        self.procs: dict[str, SimulatorProcess] = {}

    def addresses(self, node: str) -> list[str]:
        return [f"{host}:{self.ports[node]}" for host in self.networks]

    @property
    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(node, host, self.ports[node]) for node in ("A", "B") for host in self.networks
        ]

    def _process(self, node: str, role: str, epoch: int) -> SimulatorProcess:
        other = "B" if node == "A" else "A"
        args = ["--node", node, "--role", role, "--epoch", str(epoch), *self.args]
        for addr in self.addresses(other):
            args += ["--peer", addr]
        if self.journal_dir is not None:
            args += ["--journal", str(self.journal_dir / f"journal-{node}.jsonl")]
        return SimulatorProcess(
            self.line_path, args, listen=self.addresses(node), link_keys=self.link_keys
        )

    def start(self, timeout: float = 30.0) -> list[Endpoint]:
        self.procs["A"] = self._process("A", "master", 1)
        self.procs["A"].start(timeout)
        self.procs["B"] = self._process("B", "standby", 1)
        self.procs["B"].start(timeout)
        return self.endpoints

    def restart(self, node: str, role: str = "standby", timeout: float = 30.0) -> None:
        """Start ``node`` again after it died (as standby by default: the other took over)."""
        old = self.procs.pop(node, None)
        if old is not None:
            old.stop()
        self.procs[node] = self._process(node, role, 1)
        self.procs[node].start(timeout)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        self.procs.clear()

    def __enter__(self) -> SimulatorPair:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
