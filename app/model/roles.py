"""Who sits at a desk: the role a dispatcher logs in with, and what it may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DISPATCHER = "dispatcher"  # commands in the zones held, and shared zones
    SUPERVISOR = "supervisor"  # also zone modes and forced transfers
    OBSERVER = "observer"  # watches, never commands

    @property
    def may_command(self) -> bool:
        return self is not Role.OBSERVER
