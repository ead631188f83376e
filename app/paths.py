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


def default_workstation_file() -> Path:
    return resource_dir() / "config" / "workstation.yaml"
