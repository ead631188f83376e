"""Control: zone authority, device locks, the command pipeline."""

from app.control.redlock import (
    LockBusy,
    LockError,
    LockGrant,
    LockLost,
    LockUnavailable,
    Redlock,
    clients_for,
    close_clients,
)

__all__ = [
    "LockBusy",
    "LockError",
    "LockGrant",
    "LockLost",
    "LockUnavailable",
    "Redlock",
    "clients_for",
    "close_clients",
]
