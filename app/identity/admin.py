"""Provisioning the directory: ``dispatcher-cli directory`` (an administrator's tool).

Each operation is plain Redis ACL and one key (:mod:`app.identity.directory`):

- ``add USER --role ROLE``: ``ACL SETUSER <prefix>:USER reset on >PASSWORD
  resetkeys %R~<prefix>:directory:roles:USER resetchannels -@all +get`` and
  ``SET <prefix>:directory:roles:USER ROLE``; adding a user that exists replaces
  its password and role;
- ``passwd USER``, ``role USER --role ROLE``, ``remove USER``, ``list``.

The password comes from a file (``--password-file``, mode 600 like every
secret), an environment variable (``--password-env``) or a prompt; never from
the command line. The administrator connects with the workstation file's Redis
settings, or as ``--admin-user`` with ``--admin-password-env``; that user needs
``ACL`` and write access to ``<prefix>:directory:*``. When the server has an ACL
file, ``ACL SAVE`` keeps the change across restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from app.config import ConfigError, Workstation, load_workstation
from app.config.secrets import SecretError, read_secret
from app.config.workstation import dispatcher_id_problem
from app.control.clients import redis_client
from app.identity.directory import MAX_PASSWORD, acl_user, role_key
from app.model.roles import Role
from app.paths import default_workstation_file

__all__ = [
    "MIN_PASSWORD",
    "DirectoryAdmin",
    "Entry",
    "add_directory_arguments",
    "password_problem",
    "run_directory",
]

#: the shortest password ``add`` and ``passwd`` accept
MIN_PASSWORD = 8


def password_problem(password: str) -> str | None:
    """None when ``password`` may be set, else what is wrong with it."""
    if len(password) < MIN_PASSWORD:
        return f"a password has at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password has at most {MAX_PASSWORD} characters"
    if not password.isprintable():
        return "a password is printable characters only"
    return None


@dataclass(frozen=True, slots=True)
class Entry:
    """One dispatcher of the directory, as ``list`` prints it."""

    dispatcher: str
    role: str  # as stored: may be bad ("" when missing), which list shows
    enabled: bool


class DirectoryAdmin:
    """The administrator's operations on the directory, over one client."""

    def __init__(self, client: aioredis.Redis, prefix: str = "dhmi") -> None:
        self._redis = self.client = client
        self.prefix = prefix

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _acl(self, *args: str) -> Any:
        """``ACL *args`` (redis-py's generic call, untyped)."""
        return await self._redis.execute_command("ACL", *args)  # type: ignore[no-untyped-call]

    @staticmethod
    def _check(dispatcher: str) -> None:
        problem = dispatcher_id_problem(dispatcher)
        if problem is not None:
            raise ValueError(problem)

    async def add(self, dispatcher: str, role: Role, password: str) -> None:
        """Create (or replace) ``dispatcher`` with ``password`` and ``role``."""
        self._check(dispatcher)
        problem = password_problem(password)
        if problem is not None:
            raise ValueError(problem)
        await self._acl(
            "SETUSER", acl_user(self.prefix, dispatcher), "reset", "on", f">{password}",
            "resetkeys", f"%R~{role_key(self.prefix, dispatcher)}",
            "resetchannels", "-@all", "+get",
        )  # fmt: skip
        await self._redis.set(role_key(self.prefix, dispatcher), Role(role).value)
        await self._save()

    async def set_password(self, dispatcher: str, password: str) -> None:
        self._check(dispatcher)
        problem = password_problem(password)
        if problem is not None:
            raise ValueError(problem)
        await self._require(dispatcher)
        user = acl_user(self.prefix, dispatcher)
        await self._acl("SETUSER", user, "resetpass", f">{password}")
        await self._save()

    async def set_role(self, dispatcher: str, role: Role) -> None:
        self._check(dispatcher)
        await self._require(dispatcher)
        await self._redis.set(role_key(self.prefix, dispatcher), Role(role).value)

    async def remove(self, dispatcher: str) -> bool:
        """Delete the user and its role; False when there was none."""
        self._check(dispatcher)
        gone = int(await self._acl("DELUSER", acl_user(self.prefix, dispatcher)))
        await self._redis.delete(role_key(self.prefix, dispatcher))
        await self._save()
        return gone > 0

    async def entries(self) -> list[Entry]:
        head = f"{self.prefix}:"
        users = sorted(_text(u) for u in await self._acl("USERS"))
        names = [u[len(head) :] for u in users if u.startswith(head)]
        names = [n for n in names if dispatcher_id_problem(n) is None]
        if not names:
            return []
        roles = await self._redis.mget([role_key(self.prefix, n) for n in names])
        out = []
        for name, role in zip(names, roles, strict=True):
            info = await self._acl("GETUSER", acl_user(self.prefix, name))
            flags = _flags(info)
            out.append(Entry(name, _text(role) if role is not None else "", "on" in flags))
        return out

    async def _require(self, dispatcher: str) -> None:
        info = await self._acl("GETUSER", acl_user(self.prefix, dispatcher))
        if info is None:
            raise LookupError(f"no dispatcher {dispatcher!r} in the directory")

    async def _save(self) -> None:
        """``ACL SAVE`` when the server has an ACL file (else there is nothing to save)."""
        try:
            await self._acl("SAVE")
        except ResponseError as exc:
            if "ACL file" not in str(exc) and "aclfile" not in str(exc).lower():
                raise


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _flags(info: Any) -> list[str]:
    """The ``flags`` of an ``ACL GETUSER`` reply (a flat list or a map, by protocol)."""
    if isinstance(info, Mapping):
        raw = info.get("flags") or info.get(b"flags") or []
    elif isinstance(info, list):
        items = dict(zip(info[::2], info[1::2], strict=False))
        raw = items.get("flags") or items.get(b"flags") or []
    else:
        raw = []
    return [_text(f) for f in raw]


# -- dispatcher-cli directory -------------------------------------------------------


def add_directory_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=str(default_workstation_file()), help="workstation file")
    p.add_argument("--redis", metavar="HOST:PORT", help="the directory's Redis (default: the "
                   "first of the workstation file's redis.nodes)")  # fmt: skip
    p.add_argument("--admin-user", default=None, help="connect as this Redis ACL user")
    p.add_argument("--admin-password-env", default=None, metavar="NAME",
                   help="the variable holding that user's password")  # fmt: skip
    p.add_argument("--password-file", default=None, metavar="FILE",
                   help="add/passwd: the new password, from this file (mode 600)")  # fmt: skip
    p.add_argument("--password-env", default=None, metavar="NAME",
                   help="add/passwd: the new password, from this variable")  # fmt: skip
    p.add_argument("action", choices=["add", "passwd", "role", "remove", "list"])
    p.add_argument("user", nargs="?", help="the dispatcher id")
    p.add_argument("--role", choices=[r.value for r in Role], default=None)


def _new_password(args: argparse.Namespace) -> str:
    if args.password_file or args.password_env:
        if args.password_file and args.password_env:
            raise ValueError("give --password-file or --password-env, not both")
        secret = read_secret("new password", file=args.password_file or "",
                             env=args.password_env or "", environ=os.environ)  # fmt: skip
        if secret is None:
            raise ValueError("no password given")
        return secret
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask the password: use --password-file or --password-env")
    first = getpass.getpass(f"new password for {args.user}: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def _run(args: argparse.Namespace, client: aioredis.Redis, prefix: str) -> int:
    admin = DirectoryAdmin(client, prefix)
    try:
        if args.action == "list":
            for e in await admin.entries():
                print(
                    json.dumps({"dispatcher": e.dispatcher, "role": e.role, "enabled": e.enabled})
                )
            return 0
        if not args.user:
            raise ValueError(f"directory {args.action} needs USER")
        if args.action == "add":
            if args.role is None:
                raise ValueError("directory add needs --role")
            await admin.add(args.user, Role(args.role), _new_password(args))
        elif args.action == "passwd":
            await admin.set_password(args.user, _new_password(args))
        elif args.action == "role":
            if args.role is None:
                raise ValueError("directory role needs --role")
            await admin.set_role(args.user, Role(args.role))
        elif not await admin.remove(args.user):
            print(f"dispatcher-cli: no dispatcher {args.user!r} in the directory", file=sys.stderr)
            return 1
        print(json.dumps({"dispatcher": args.user, "done": args.action}))
        return 0
    finally:
        await admin.aclose()


def run_directory(
    args: argparse.Namespace, redis_options: Callable[[Workstation], dict[str, Any]]
) -> int:
    """``dispatcher-cli directory ...``; the exit status (2: usage, 1: refused).

    ``redis_options``: the workstation file's connection settings (``app.wiring``),
    used unless ``--admin-user`` is given.
    """
    try:
        ws = load_workstation(Path(args.config))
        address = args.redis or (str(ws.redis.nodes[0]) if ws.redis.nodes else "")
        if not address:
            raise ValueError("no Redis: give --redis HOST:PORT (redis.nodes is empty)")
        options: dict[str, Any] = {}
        if args.admin_user:
            options["username"] = args.admin_user
        if args.admin_password_env:
            options["password"] = read_secret("admin password", env=args.admin_password_env,
                                              environ=os.environ)  # fmt: skip
        elif not args.admin_user:
            options = redis_options(ws)
        client = redis_client(address, options=options, timeout_s=3.0)
        return asyncio.run(_run(args, client, ws.redis.prefix))
    except (ConfigError, SecretError, ValueError, LookupError, OSError) as exc:
        print(f"dispatcher-cli: directory: {exc}", file=sys.stderr)
        return 2
    except RedisError as exc:
        print(f"dispatcher-cli: directory: Redis refused: {exc}", file=sys.stderr)
        return 1
