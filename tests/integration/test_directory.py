"""The directory of dispatchers against a real redis-server: one ACL user each, the role
readable by that user only, written by an administrator (docs/security.md)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import redis as syncredis

from app.cli import main as cli_main
from app.control.clients import redis_client
from app.counterparts.services import RedisProcess
from app.identity.admin import DirectoryAdmin, password_problem
from app.identity.directory import Identity, LoginRefusal, LoginRefused, RedisDirectory
from app.model.roles import Role
from tests.integration.test_sentinel import MASTER, sentinel_group  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration

ADMIN_PW = "admin-secret-1"


@pytest.fixture
def server(redis_factory: Callable[..., RedisProcess]) -> RedisProcess:
    # the default user needs a password, as on a real line: the directory's users
    # are the only way in for a dispatcher
    return redis_factory("--requirepass", ADMIN_PW)


def admin_for(server: RedisProcess) -> DirectoryAdmin:
    return DirectoryAdmin(redis_client(server.address, options={"password": ADMIN_PW}), "dhmi")


def provision(server: RedisProcess, *users: tuple[str, Role, str]) -> None:
    async def run() -> None:
        admin = admin_for(server)
        for name, role, password in users:
            await admin.add(name, role, password)
        await admin.aclose()

    asyncio.run(run())


def refusal(coro: object) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        asyncio.run(coro)  # type: ignore[arg-type]
    return caught.value


def test_a_provisioned_dispatcher_logs_in_with_the_role_of_the_directory(
    server: RedisProcess,
) -> None:
    async def provision() -> None:
        admin = admin_for(server)
        await admin.add("li.wei", Role.SUPERVISOR, "correct horse")
        await admin.add("wang-2", Role.DISPATCHER, "battery staple")
        await admin.aclose()

    asyncio.run(provision())
    directory = RedisDirectory(server.address, prefix="dhmi")
    assert asyncio.run(directory.verify("li.wei", "correct horse")) == Identity(
        "li.wei", Role.SUPERVISOR
    )
    assert asyncio.run(directory.verify("wang-2", "battery staple")).role is Role.DISPATCHER
    # a wrong password and an unknown name are the same refusal: nothing to probe
    assert refusal(directory.verify("li.wei", "wrong password")).code is LoginRefusal.WRONG_PASSWORD
    assert refusal(directory.verify("nobody", "correct horse")).code is LoginRefusal.WRONG_PASSWORD
    assert refusal(directory.verify("li.wei", "")).code is LoginRefusal.NO_PASSWORD
    assert refusal(directory.verify("a@b", "x")).code is LoginRefusal.BAD_NAME


def test_a_dispatcher_reads_its_own_entry_only_and_writes_none(server: RedisProcess) -> None:
    provision(
        server,
        ("li.wei", Role.DISPATCHER, "correct horse"),
        ("boss", Role.SUPERVISOR, "boss pw 12"),
    )
    me = syncredis.Redis(
        host=server.host, port=server.port, username="dhmi:li.wei", password="correct horse"
    )
    assert me.get("dhmi:directory:roles:li.wei") == b"dispatcher"
    for forbidden in (
        lambda: me.set("dhmi:directory:roles:li.wei", "supervisor"),
        lambda: me.get("dhmi:directory:roles:boss"),
        lambda: me.get("dhmi:zone:Z1"),
        lambda: me.execute_command("ACL", "SETUSER", "dhmi:li.wei", "+@all"),  # type: ignore[no-untyped-call]
    ):
        with pytest.raises(syncredis.exceptions.NoPermissionError):
            forbidden()
    me.close()


def test_bad_answers_from_the_directory_are_refused_not_guessed(server: RedisProcess) -> None:
    provision(server, ("li.wei", Role.DISPATCHER, "correct horse"))
    root = syncredis.Redis(host=server.host, port=server.port, password=ADMIN_PW)
    directory = RedisDirectory(server.address, prefix="dhmi")
    root.set("dhmi:directory:roles:li.wei", "emperor")
    got = refusal(directory.verify("li.wei", "correct horse"))
    assert (got.code, got.params["value"]) == (LoginRefusal.BAD_ROLE, "emperor")
    root.delete("dhmi:directory:roles:li.wei")
    assert refusal(directory.verify("li.wei", "correct horse")).code is LoginRefusal.NO_ROLE
    root.close()


def test_the_directory_down_is_said(server: RedisProcess) -> None:
    directory = RedisDirectory(server.address, prefix="dhmi", timeout_s=0.5)
    server.stop()
    assert refusal(directory.verify("li.wei", "whatever1")).code is LoginRefusal.UNAVAILABLE


def test_admin_changes_password_role_and_removes(server: RedisProcess) -> None:
    directory = RedisDirectory(server.address, prefix="dhmi")

    async def run() -> None:
        admin = admin_for(server)
        await admin.add("li.wei", Role.DISPATCHER, "first password")
        await admin.set_password("li.wei", "second password")
        await admin.set_role("li.wei", Role.OBSERVER)
        entries = await admin.entries()
        assert [(e.dispatcher, e.role, e.enabled) for e in entries] == [
            ("li.wei", "observer", True)
        ]
        with pytest.raises(ValueError, match="at least 8"):
            await admin.add("x", Role.DISPATCHER, "short")
        with pytest.raises(LookupError):
            await admin.set_role("ghost", Role.DISPATCHER)
        await admin.aclose()

    asyncio.run(run())
    assert refusal(directory.verify("li.wei", "first password")).code is LoginRefusal.WRONG_PASSWORD
    assert asyncio.run(directory.verify("li.wei", "second password")).role is Role.OBSERVER

    async def remove() -> bool:
        admin = admin_for(server)
        try:
            return await admin.remove("li.wei")
        finally:
            await admin.aclose()

    assert asyncio.run(remove())
    assert (
        refusal(directory.verify("li.wei", "second password")).code is LoginRefusal.WRONG_PASSWORD
    )
    assert password_problem("ok-password") is None


def test_dispatcher_cli_directory_provisions_users(
    server: RedisProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    workstation_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text("night shift 7\n")
    os.chmod(pw_file, stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setenv("ADMIN_PW", ADMIN_PW)
    common = ["--config", str(workstation_path), "--redis", server.address]
    admin = ["--admin-user", "default", "--admin-password-env", "ADMIN_PW"]
    argv = ["directory", *common, *admin, "add", "zhao", "--role", "supervisor"]
    assert cli_main([*argv, "--password-file", str(pw_file)]) == 0
    assert json.loads(capsys.readouterr().out) == {"dispatcher": "zhao", "done": "add"}
    got = asyncio.run(RedisDirectory(server.address).verify("zhao", "night shift 7"))
    assert got.role is Role.SUPERVISOR
    assert cli_main(["directory", *common, *admin, "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x) for x in lines] == [
        {"dispatcher": "zhao", "role": "supervisor", "enabled": True}
    ]
    # the password never on the command line; a readable file is refused
    os.chmod(pw_file, 0o644)
    assert cli_main([*argv, "--password-file", str(pw_file)]) == 2
    assert "chmod 600" in capsys.readouterr().err
    # no admin password: Redis refuses
    assert cli_main(["directory", *common, "list"]) == 1


def test_with_sentinels_the_directory_is_the_master_they_name(
    sentinel_group: tuple[RedisProcess, RedisProcess, list[int]],  # noqa: F811 (the fixture)
    workstation_path: Path,
) -> None:
    """redis.sentinels: the zone authority lives in the Sentinels' master, and so does
    the directory (found again at each check)."""
    import dataclasses

    from app.config import load_workstation
    from app.config.workstation import Address
    from app.identity.directory import SentinelDirectory, directory_for

    master, _replica, ports = sentinel_group
    admin = DirectoryAdmin(redis_client(master.address), "dhmi")

    async def provision() -> None:
        await admin.add("li.wei", Role.SUPERVISOR, "correct horse")
        await admin.aclose()

    asyncio.run(provision())
    ws = load_workstation(workstation_path)
    redis = dataclasses.replace(
        ws.redis,
        nodes=(),
        sentinels=tuple(Address("127.0.0.1", p) for p in ports),
        sentinel_master=MASTER,
    )
    directory = directory_for(dataclasses.replace(ws, redis=redis), None)
    assert isinstance(directory, SentinelDirectory)
    got = asyncio.run(directory.verify("li.wei", "correct horse"))
    assert got == Identity("li.wei", Role.SUPERVISOR)
    wrong = refusal(directory.verify("li.wei", "nope nope"))
    assert wrong.code is LoginRefusal.WRONG_PASSWORD
    # an override (the demo, tests) names the servers: no Sentinels then
    plain = directory_for(dataclasses.replace(ws, redis=redis), [master.address])
    assert plain is not None and plain.address == master.address
    assert directory_for(dataclasses.replace(ws, redis=redis), []) is None
    gone = SentinelDirectory([("127.0.0.1", 1)], MASTER, timeout_s=0.3)
    assert refusal(gone.verify("li.wei", "correct horse")).code is LoginRefusal.UNAVAILABLE
