"""Where the program finds its shipped resources (line files, default config, fonts)."""

from __future__ import annotations

import os
from pathlib import Path


def resource_dir() -> Path:
    """``$DISPATCHER_RESOURCES`` if set, else the ``resources`` folder beside the packages."""
    env = os.environ.get("DISPATCHER_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "resources"


def default_line_file() -> Path:
    return resource_dir() / "lines" / "demo-line.yaml"


def machine_config_dir(system: str = os.name) -> Path | None:
    """Where an installed copy keeps this machine's editable configuration, if anywhere.

    ``$DISPATCHER_CONFIG_DIR`` if set; on Windows ``%ProgramData%\\DispatcherHMI``
    (the installer copies the shipped ``config`` and ``lines`` folders there once, and
    an upgrade never overwrites them); elsewhere None (a checkout or the Linux bundle
    uses its own ``resources``, or ``--config``).
    """
    env = os.environ.get("DISPATCHER_CONFIG_DIR")
    if env:
        return Path(env)
    if system == "nt":
        base = os.environ.get("PROGRAMDATA") or "C:\\ProgramData"
        return Path(base) / "DispatcherHMI"
    return None


def default_workstation_file() -> Path:
    """The machine's ``config/workstation.yaml`` when there is one, else the shipped one."""
    machine = machine_config_dir()
    if machine is not None and (machine / "config" / "workstation.yaml").is_file():
        return machine / "config" / "workstation.yaml"
    return resource_dir() / "config" / "workstation.yaml"


def user_data_dir() -> Path:
    """Where this user's logs live: ``$DISPATCHER_DATA``, else the platform's per-user place.

    Windows: ``%LOCALAPPDATA%\\dispatcher-hmi``; elsewhere ``$XDG_DATA_HOME/dispatcher-hmi``
    (``~/.local/share/dispatcher-hmi``).
    """
    env = os.environ.get("DISPATCHER_DATA")
    if env:
        return Path(env)
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "dispatcher-hmi"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dispatcher-hmi"


def default_audit_log() -> Path:
    return user_data_dir() / "audit" / "commands.jsonl"


def blackbox_dir() -> Path:
    """The workstation's black box by default (``docs/replay.md``): a folder per day."""
    return user_data_dir() / "blackbox"


def actuals_dir() -> Path:
    """Where the HMI keeps each service day's actuals (``actuals-YYYY-MM-DD.csv``)."""
    return user_data_dir() / "actuals"
