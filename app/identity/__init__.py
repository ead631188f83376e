"""Who is at the desk: the directory that proves it, the login's rate limit, the idle lock.

Qt-free (the dialogs are in ``ui/login.py`` and ``ui/desklock.py``):

- :mod:`app.identity.directory`: the directory of dispatchers, one Redis ACL user
  each on the Redis the workstation already uses; a password is checked by
  authenticating as that user, and the role is read from the one key that user
  may read (``docs/security.md``, "Who is at the desk");
- :mod:`app.identity.admin`: provisioning (``dispatcher-cli directory``);
- :mod:`app.identity.throttle`: wrong passwords slow the next try (a table);
- :mod:`app.identity.idle`: the desk's states (active, locked) and their table.
"""

from app.identity.directory import (
    Identity,
    LoginRefusal,
    LoginRefused,
    RedisDirectory,
)
from app.identity.idle import DeskEvent, DeskState, IdleLock
from app.identity.throttle import LoginThrottle

__all__ = [
    "DeskEvent",
    "DeskState",
    "Identity",
    "IdleLock",
    "LoginRefusal",
    "LoginRefused",
    "LoginThrottle",
    "RedisDirectory",
]
