"""Where an installed copy finds its editable configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import paths


def test_windows_machine_config_is_under_programdata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DISPATCHER_CONFIG_DIR", raising=False)
    monkeypatch.setenv("PROGRAMDATA", str(tmp_path))
    assert paths.machine_config_dir("nt") == tmp_path / "DispatcherHMI"
    assert paths.machine_config_dir("posix") is None


def test_default_workstation_file_prefers_the_machine_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DISPATCHER_CONFIG_DIR", str(tmp_path))
    shipped = paths.resource_dir() / "config" / "workstation.yaml"
    assert paths.default_workstation_file() == shipped  # no machine copy yet
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "workstation.yaml").write_text("workstation: {}\n", encoding="utf-8")
    assert paths.default_workstation_file() == tmp_path / "config" / "workstation.yaml"
