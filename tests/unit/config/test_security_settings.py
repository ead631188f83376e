"""The workstation's `security` section, key loading, and the production-mode refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import ConfigError, parse_workstation
from app.wiring import link_policy, security_problems

LINE = """\
line:
  id: T1
  name_zh: 测试线
  name_en: Test Line
  stations: [{id: S1, name_zh: 甲, name_en: Jia, km: 0, x: 100}]
  platforms: []
  sections: [{id: PD1, kind: main, length_m: 140, x0: 85, x1: 115, y0: 0, y1: 0}]
"""


def workstation(tmp_path: Path, security: str = "") -> str:
    (tmp_path / "line.yaml").write_text(LINE, encoding="utf-8")
    text = """\
workstation:
  id: WS-09
  line: line.yaml
  servers:
    - id: A
      addresses: ["10.0.0.1:7101"]
"""
    return text + security


def test_defaults_are_unprotected_and_not_production(tmp_path: Path) -> None:
    ws = parse_workstation(workstation(tmp_path), "ws.yaml", tmp_path)
    assert not ws.security.production and ws.security.max_age_ms == 3000
    assert link_policy(ws, {}) is None
    assert security_problems(ws, {}) == []


def test_production_without_a_key_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    ws = parse_workstation(
        workstation(tmp_path, "  security:\n    production: true\n"), "ws.yaml", tmp_path
    )
    found = security_problems(ws, {})
    assert any("production mode: no link key" in why for why in found)


def test_key_file_relative_to_the_workstation_file_and_private(tmp_path: Path) -> None:
    key = tmp_path / "link.key"
    key.write_text("k2 " + "11" * 32 + "\n")
    key.chmod(0o600)
    ws = parse_workstation(
        workstation(tmp_path, "  security:\n    link_key_file: link.key\n    max_age_ms: 800\n"),
        "ws.yaml",
        tmp_path,
    )
    assert ws.security.link_key_file == str(key.resolve())
    policy = link_policy(ws, {})
    assert policy is not None and policy.keys is not None
    assert policy.keys.primary[0] == "k2" and policy.max_age_ms == 800
    if os.name != "nt":
        key.chmod(0o640)
        [why] = security_problems(ws, {})
        assert "group or others" in why and "chmod 600" in why


def test_key_from_the_environment(tmp_path: Path) -> None:
    ws = parse_workstation(
        workstation(tmp_path, "  security:\n    link_key_env: DHMI_TEST_KEY\n"), "ws.yaml", tmp_path
    )
    [why] = security_problems(ws, {})
    assert "DHMI_TEST_KEY is not set" in why
    policy = link_policy(ws, {"DHMI_TEST_KEY": "ab" * 16})
    assert policy is not None and policy.protected


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("    link_key_file: a\n    link_key_env: B\n", "security.link_key_env"),
        ("    link_key_env: 'not a name'\n", "security.link_key_env"),
        ("    max_age_ms: 10\n", "security.max_age_ms"),
        ("    key: 00112233\n", "security"),  # no key material in the YAML
    ],
)
def test_bad_security_settings_name_the_key(tmp_path: Path, section: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_workstation(workstation(tmp_path, "  security:\n" + section), "ws.yaml", tmp_path)
    assert where in str(info.value)
