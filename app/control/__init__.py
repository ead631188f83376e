"""Control: zone authority, device locks, the command pipeline.

Where things are (docs/control.md tells why):

- ``authority.py``: the zone authority store (modes, holders, operations, the cache);
  ``zonestate.py`` its values and refusals; ``zonelink.py`` its link to Redis
  (presence, the sweep, the notices); ``lua/zone_*.lua`` its scripts.
- ``redlock.py``: the device lock over 1, 3 or 5 Redis nodes, with fencing tokens;
  ``lanes.py`` its fan-out to the nodes; ``lua/lock_*.lua`` its scripts;
  ``devicelock.py`` what a lock hands out and the lock without Redis.
- ``pipeline.py``: intent → authority → lock → COMMAND → outcome; ``audit.py`` the
  audit log. Why a command is refused is a value: ``app.model.refusal``.
- ``clients.py``: every Redis client of the above, built alike.
- ``service.py``: one workstation's control services together, with one status.

Everything that holds a resource closes with ``await x.aclose()`` (again: nothing).
"""

from app.control.clients import clients_for, close_clients
from app.control.devicelock import LockBusy, LockError, LockGrant, LockLost, LockUnavailable
from app.control.redlock import Redlock

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
