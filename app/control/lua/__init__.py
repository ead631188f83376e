"""The Lua scripts Redis runs for app/control, one file per script, read once.

``zone_*.lua``: the zone authority (``app/control/authority.py``). Each operation
is ``zone_prelude.lua`` + ``zone_head.lua`` + its own file (``zone_take.lua``, ...);
the sweep is the prelude + ``zone_sweep.lua``. A refusal is returned as a code of
``app.model.refusal.RefusalCode`` and its parameters as a JSON object, never as
prose (``refuse(code, params, s)`` in the prelude).

``lock_*.lua``: the device lock (``app/control/redlock.py``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def source(name: str) -> str:
    """The text of ``<name>.lua`` beside this module (read once per process)."""
    return files(__name__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
