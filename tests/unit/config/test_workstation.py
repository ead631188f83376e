"""The workstation file, addresses, and check_files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from app.config import (
    Address,
    ConfigError,
    Workstation,
    check_files,
    load_workstation,
)
from app.config.workstation import HeartbeatSettings, Language
from app.model.roles import Role

ROOT = Path(__file__).resolve().parents[3]
WS_FILE = ROOT / "resources" / "config" / "workstation.yaml"
DEMO = ROOT / "resources" / "lines" / "demo-line.yaml"

MINIMAL = """\
workstation:
  id: WS-09
  line: line.yaml
  servers:
    - id: A
      addresses: ["10.0.0.1:7101"]
"""

LINE = """\
line:
  id: T1
  name_zh: 测试线
  name_en: Test Line
  stations: [{id: S1, name_zh: 甲, name_en: Jia, km: 0, x: 100}]
  platforms: []
  sections: [{id: PD1, kind: main, length_m: 140, x0: 85, x1: 115, y0: 0, y1: 0}]
"""


def at(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of ``needle`` in ``text``, at its ``^`` if it has one."""
    pos = text.index(needle.replace("^", "")) + max(needle.find("^"), 0)
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "line.yaml").write_text(LINE, encoding="utf-8")
    path = tmp_path / "ws.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def fail(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_workstation(write(tmp_path, text))
    return info.value


def test_resource_workstation_loads_with_the_line_resolved() -> None:
    ws = load_workstation(WS_FILE)
    assert ws.id == "WS-01"
    assert ws.dispatcher == "dispatcher-01"
    assert ws.role is Role.DISPATCHER
    assert ws.language is Language.ZH_CN
    assert ws.line.is_absolute()
    assert ws.line == DEMO.resolve()
    assert [s.id for s in ws.servers] == ["A", "B"]
    assert ws.servers[1].addresses == (Address("127.0.0.1", 7102), Address("127.0.0.2", 7102))
    assert ws.heartbeat == HeartbeatSettings(500, 3, 2000, 200, 5000)
    assert ws.commands.timeout_ms == 5000
    assert ws.redis.nodes == (Address("127.0.0.1", 6379),)
    assert (ws.redis.lock_ttl_ms, ws.redis.presence_ttl_ms) == (5000, 3000)
    assert (ws.kafka.bootstrap_servers, ws.kafka.topic_prefix) == ("127.0.0.1:9092", "alarms")
    assert (ws.iscs.program, ws.iscs.args) == ("python3", ("-m", "ui.counterparts.iscs_window"))


def test_minimal_file_uses_defaults_and_a_single_server(tmp_path: Path) -> None:
    ws = load_workstation(write(tmp_path, MINIMAL))
    assert ws == Workstation(
        id="WS-09",
        line=(tmp_path / "line.yaml").resolve(),
        servers=ws.servers,
    )
    assert len(ws.servers) == 1
    assert ws.servers[0].addresses == (Address("10.0.0.1", 7101),)


def test_command_and_redis_defaults(tmp_path: Path) -> None:
    ws = load_workstation(write(tmp_path, MINIMAL))
    assert (ws.commands.timeout_ms, ws.commands.dedupe_window_ms) == (5000, 2000)
    assert ws.commands.audit_log == ""  # the per-user data folder, chosen at start-up
    assert ws.redis.nodes == (Address("127.0.0.1", 6379),)
    assert (ws.redis.lock_ttl_ms, ws.redis.presence_ttl_ms) == (5000, 3000)
    assert ws.redis.prefix == "dhmi"


def test_command_and_redis_settings_are_read(tmp_path: Path) -> None:
    text = MINIMAL + (
        "  commands: {timeout_ms: 3000, dedupe_window_ms: 0, audit_log: /var/log/hmi/a.jsonl}\n"
        "  redis:\n"
        '    nodes: ["10.0.0.5:6379", "10.0.0.6:6379", "[::1]:6380"]\n'
        "    lock_ttl_ms: 100\n"
        "    presence_ttl_ms: 600000\n"
        "    prefix: site-2.test_A\n"
    )
    ws = load_workstation(write(tmp_path, text))
    assert (ws.commands.timeout_ms, ws.commands.dedupe_window_ms) == (3000, 0)
    assert ws.commands.audit_log == str(Path("/var/log/hmi/a.jsonl").resolve())
    assert ws.redis.nodes == (
        Address("10.0.0.5", 6379),
        Address("10.0.0.6", 6379),
        Address("::1", 6380),
    )
    assert (ws.redis.lock_ttl_ms, ws.redis.presence_ttl_ms) == (100, 600000)
    assert ws.redis.prefix == "site-2.test_A"


def test_no_redis_nodes_is_accepted(tmp_path: Path) -> None:
    ws = load_workstation(write(tmp_path, MINIMAL + "  redis: {nodes: []}\n"))
    assert ws.redis.nodes == ()
    assert (ws.redis.lock_ttl_ms, ws.redis.prefix) == (5000, "dhmi")


@pytest.mark.parametrize("count", [1, 3, 5, 7])
def test_an_odd_number_of_redis_nodes_is_accepted(tmp_path: Path, count: int) -> None:
    nodes = ", ".join(f"r{i}:6379" for i in range(count))
    ws = load_workstation(write(tmp_path, MINIMAL + f"  redis: {{nodes: [{nodes}]}}\n"))
    assert ws.redis.nodes == tuple(Address(f"r{i}", 6379) for i in range(count))


@pytest.mark.parametrize("count", [2, 4, 6])
def test_an_even_number_of_redis_nodes_is_refused(tmp_path: Path, count: int) -> None:
    nodes = ", ".join(f"r{i}:6379" for i in range(count))
    text = MINIMAL + f"  redis: {{nodes: [{nodes}]}}\n"
    err = fail(tmp_path, text)
    assert err.path == "workstation.redis.nodes"
    assert err.message.startswith(f"{count} Redis nodes: use 1, 3, 5 or 7 ")
    assert (err.line, err.column) == at(text, "[r0")
    assert str(err).startswith(f"{tmp_path / 'ws.yaml'}:{err.line}:{err.column}: ")


def test_a_relative_audit_log_is_resolved_against_the_workstation_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "line.yaml").write_text(LINE, encoding="utf-8")
    path = config / "ws.yaml"
    path.write_text(MINIMAL + "  commands: {audit_log: ../logs/audit.jsonl}\n", encoding="utf-8")
    ws = load_workstation(path)
    assert ws.commands.audit_log == str((tmp_path / "logs" / "audit.jsonl").resolve())
    assert Path(ws.commands.audit_log).is_absolute()
    # Only the path is resolved: the other command settings are kept.
    assert (ws.commands.timeout_ms, ws.commands.dedupe_window_ms) == (5000, 2000)


def test_an_empty_audit_log_stays_empty(tmp_path: Path) -> None:
    ws = load_workstation(write(tmp_path, MINIMAL + '  commands: {audit_log: ""}\n'))
    assert ws.commands.audit_log == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:7101", Address("127.0.0.1", 7101)),
        ("ats-a.example.net:1", Address("ats-a.example.net", 1)),
        ("localhost:65535", Address("localhost", 65535)),
        ("[::1]:7101", Address("::1", 7101)),
        ("[fe80::1%eth0]:80", Address("fe80::1%eth0", 80)),
    ],
)
def test_address_parse(text: str, expected: Address) -> None:
    assert Address.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1", "invalid address '127.0.0.1': expected host:port (IPv6 as [::1]:7101)"),
        (":7101", "invalid address ':7101': expected host:port (IPv6 as [::1]:7101)"),
        ("host:0", "invalid address 'host:0': port must be 1..65535, got 0"),
        ("host:65536", "invalid address 'host:65536': port must be 1..65535, got 65536"),
        ("host:http", "invalid address 'host:http': bad port 'http'"),
        ("host:", "invalid address 'host:': bad port ''"),
        ("::1:7101", "invalid address '::1:7101': write an IPv6 host in brackets, e.g. [::1]:7101"),
        ("[::1]7101", "invalid address '[::1]7101': expected host:port (IPv6 as [::1]:7101)"),
        ("[::g]:7101", "invalid address '[::g]:7101': bad IPv6 address '::g'"),
        ("300.1.1.1:7101", "invalid address '300.1.1.1:7101': bad IPv4 address '300.1.1.1'"),
        ("bad_host:7101", "invalid address 'bad_host:7101': bad host name 'bad_host'"),
    ],
)
def test_address_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Address.parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            '["10.0.0.1:7101"]',
            '["10.0.0.1:7101", "10.0.0.2:99999"]',
            '"10.0.0.2',
            "workstation.servers[0].addresses[1]",
            "invalid address '10.0.0.2:99999': port must be 1..65535, got 99999",
        ),
        (
            "  line: line.yaml\n",
            "  line: nowhere.yaml\n",
            "nowhere",
            "workstation.line",
            "line file not found: {tmp}/nowhere.yaml",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  password: hunter2\n",
            "password",
            "workstation.password",
            "unknown key 'password'; allowed keys: id, dispatcher, role, language, line, "
            "servers, heartbeat, commands, redis, kafka, iscs, coupling, security, login, "
            "timetable, blackbox",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  role: boss\n",
            "boss",
            "workstation.role",
            "invalid value 'boss'; allowed values: dispatcher, supervisor, observer",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  language: fr\n",
            "fr",
            "workstation.language",
            "invalid value 'fr'; allowed values: zh_CN, en",
        ),
        (
            '      addresses: ["10.0.0.1:7101"]\n',
            '      addresses: ["10.0.0.1:7101"]\n    - {id: B, addresses: ["10.0.0.1:7101"]}\n',
            'B, addresses: [^"10',
            "workstation.servers[1].addresses[0]",
            "address 10.0.0.1:7101 is already used by server 'A'",
        ),
        (
            '      addresses: ["10.0.0.1:7101"]\n',
            '      addresses: ["10.0.0.1:7101"]\n    - {id: A, addresses: ["10.0.0.2:7101"]}\n',
            "{id: ^A",
            "workstation.servers[1].id",
            "duplicate id 'A' (first at line 5, workstation.servers[0])",
        ),
        (
            '      addresses: ["10.0.0.1:7101"]\n',
            '      addresses: ["10.0.0.1:7101"]\n    - {id: B, addresses: ["10.0.0.2:1"]}\n'
            '    - {id: C, addresses: ["10.0.0.3:1"]}\n',
            "- id: A",
            "workstation.servers",
            "must have at most 2 item(s), got 3",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  heartbeat: {reconnect_min_ms: 900, reconnect_max_ms: 800}\n",
            "800",
            "workstation.heartbeat.reconnect_max_ms",
            "reconnect_max_ms (800) must not be below reconnect_min_ms (900)",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  heartbeat: {interval_ms: 0}\n",
            "0}",
            "workstation.heartbeat.interval_ms",
            "must be >= 1, got 0",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  kafka: {bootstrap_servers: 'k1:9092,k2'}\n",
            "'k1",
            "workstation.kafka.bootstrap_servers",
            "invalid address 'k2': expected host:port (IPv6 as [::1]:7101)",
        ),
        (
            "  id: WS-09\n",
            '  id: WS-09\n  redis: {nodes: ["10.0.0.5:6379", "10.0.0.6:6379"]}\n',
            '["10.0.0.5',
            "workstation.redis.nodes",
            "2 Redis nodes: use 1, 3, 5 or 7 (a lock needs a majority; an even number "
            "tolerates no more failures than one node fewer)",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  redis:\n    nodes: [r1:1, r2:1, r3:1, r4:1, r5:1, r6:1, r7:1, r8:1]\n",
            "[r1",
            "workstation.redis.nodes",
            "must have at most 7 item(s), got 8",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  redis: {lock_ttl_ms: 99}\n",
            "99",
            "workstation.redis.lock_ttl_ms",
            "must be >= 100, got 99",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  redis: {presence_ttl_ms: 600001}\n",
            "600001",
            "workstation.redis.presence_ttl_ms",
            "must be <= 600000, got 600001",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  redis: {prefix: 'dhmi:prod'}\n",
            "'dhmi",
            "workstation.redis.prefix",
            "invalid key prefix 'dhmi:prod'",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  commands: {dedupe_window_ms: 60001}\n",
            "60001",
            "workstation.commands.dedupe_window_ms",
            "must be <= 60000, got 60001",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  commands: {dedupe_window_ms: -1}\n",
            "-1",
            "workstation.commands.dedupe_window_ms",
            "must be >= 0, got -1",
        ),
        (
            "  id: WS-09\n",
            "  id: WS-09\n  iscs: {args: -m}\n",
            "-m",
            "workstation.iscs.args",
            "expected a list, got string '-m'",
        ),
        (
            "  line: line.yaml\n",
            "",
            "id: WS",
            "workstation",
            "missing required key 'line'",
        ),
    ],
)
def test_workstation_errors(
    tmp_path: Path, old: str, new: str, needle: str, path: str, message: str
) -> None:
    assert old in MINIMAL
    text = MINIMAL.replace(old, new, 1)
    err = fail(tmp_path, text)
    assert err.message == message.format(tmp=tmp_path.resolve())
    assert err.path == path
    assert (err.line, err.column) == at(text, needle)
    assert err.file == str(tmp_path / "ws.yaml")


# -- check_files -------------------------------------------------------------------


def test_check_files_accepts_the_resource_files() -> None:
    out = io.StringIO()
    assert check_files([str(WS_FILE), str(DEMO)], out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"OK {WS_FILE}: workstation WS-01 ")
    assert "line L2 (Demo Line 2): 23 stations" in lines[0]
    assert lines[1].startswith(f"OK {DEMO}: line L2 (Demo Line 2): 23 stations, ")
    assert " 12 switches, " in lines[1]


def test_check_files_stops_at_the_first_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad-line.yaml"
    bad.write_text(
        DEMO.read_text(encoding="utf-8").replace("position: reverse", "position: sideways", 1),
        encoding="utf-8",
    )
    out = io.StringIO()
    assert check_files([str(DEMO), str(bad), str(WS_FILE)], out) == 1
    first, second = out.getvalue().splitlines()
    assert first.startswith(f"OK {DEMO}: ")
    assert second.startswith(f"{bad}:")
    assert second.endswith(": invalid value 'sideways'; allowed values: normal, reverse")
    assert ": line.routes[0].switches[0].position: " in second


def test_check_files_loads_the_line_of_a_workstation(tmp_path: Path) -> None:
    lines_dir = tmp_path / "lines"
    config_dir = tmp_path / "config"
    lines_dir.mkdir()
    config_dir.mkdir()
    shutil.copy(WS_FILE, config_dir / "workstation.yaml")
    (lines_dir / "demo-line.yaml").write_text(LINE + "  colour: red\n", encoding="utf-8")
    out = io.StringIO()
    assert check_files([str(config_dir / "workstation.yaml")], out) == 1
    line_file = (lines_dir / "demo-line.yaml").resolve()
    assert out.getvalue() == (
        f"{line_file}:8:3: line.colour: unknown key 'colour'; allowed keys: id, name_zh, "
        "name_en, timezone, train, stations, platforms, sections, links, switches, signals, "
        "routes, zones\n"
    )


def test_check_files_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("trains: []\n", encoding="utf-8")
    out = io.StringIO()
    assert check_files([str(other)], out) == 1
    assert out.getvalue() == (
        f"{other}:1:1: <root>: unknown kind of file: the top level must be a mapping with "
        "the key 'line' (a line file), 'workstation' (a workstation file) or 'timetable' "
        "(a timetable file)\n"
    )
    out = io.StringIO()
    assert check_files([str(tmp_path / "missing.yaml")], out) == 1
    assert out.getvalue().startswith(f"{tmp_path / 'missing.yaml'}:1:1: <root>: cannot read file")


def test_coupling_confirmation_is_configurable(tmp_path: Path) -> None:
    from app.config.workstation import CouplingSettings

    path = write(tmp_path, MINIMAL + "  coupling: {confirm_reports: 5, lost_after_ms: 2500}\n")
    assert load_workstation(path).coupling == CouplingSettings(5, 2500)
    assert load_workstation(write(tmp_path, MINIMAL)).coupling == CouplingSettings(3, 1000)
    err = fail(tmp_path, MINIMAL + "  coupling: {confirm_reports: 0}\n")
    assert "coupling.confirm_reports" in str(err)


def test_redis_sentinels_are_read(tmp_path: Path) -> None:
    text = MINIMAL + (
        "  redis:\n"
        '    sentinels: ["10.0.0.7:26379", "10.0.0.8:26379", "10.0.0.9:26379"]\n'
        "    sentinel_master: line2-authority\n"
    )
    ws = load_workstation(write(tmp_path, text))
    assert ws.redis.sentinels == (
        Address("10.0.0.7", 26379),
        Address("10.0.0.8", 26379),
        Address("10.0.0.9", 26379),
    )
    assert ws.redis.sentinel_master == "line2-authority"
    assert load_workstation(write(tmp_path, MINIMAL)).redis.sentinels == ()
    err = fail(tmp_path, MINIMAL + "  redis: {sentinel_master: 'a b'}\n")
    assert "redis.sentinel_master" in str(err)
