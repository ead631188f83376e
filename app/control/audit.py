"""The audit log: who commanded what, and what came of it, one JSON line per intent."""

from __future__ import annotations

import json
import logging
import logging.handlers
from pathlib import Path

__all__ = ["AuditLog"]


class AuditLog:
    """Who commanded what, and what came of it: JSON lines in a rotating file."""

    def __init__(self, path: str | Path | None, max_bytes: int = 10 << 20, backups: int = 10):
        self._log = logging.getLogger(f"audit.{id(self)}")
        self._log.propagate = False
        self._log.setLevel(logging.INFO)
        self._handler: logging.Handler | None = None
        self.entries = 0
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
            self._handler.setFormatter(logging.Formatter("%(message)s"))
            self._log.addHandler(self._handler)

    def record(self, **fields: object) -> None:
        self.entries += 1
        self._log.info(json.dumps(fields, ensure_ascii=False, sort_keys=True))

    def close(self) -> None:
        """Close the file; again, nothing. Later records go nowhere."""
        if self._handler is not None:
            self._log.removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    async def aclose(self) -> None:
        """:meth:`close`, under the name every closable part of app/control has."""
        self.close()
