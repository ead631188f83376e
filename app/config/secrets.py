"""Secrets: read from a file only its owner can read, or from an environment variable.

Never from the YAML: a workstation file names *where* a secret is (a file path
or a variable name), and this module reads it. A file that its group or others
may read is refused, saying why and how to fix it: a key that every local user
can copy protects nothing. (On Windows the POSIX mode bits mean nothing; there
the file's ACL is the installer's business, ``docs/security.md``.)
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from app.protocol.security import LinkKeys, parse_keys

MAX_SECRET_BYTES = 64 * 1024


class SecretError(ValueError):
    """A secret could not be read or is unusable; the message says which, where and why."""


def check_private(path: Path, what: str) -> None:
    """Refuse a file that is not a regular file or that its group or others may read."""
    try:
        st = path.stat()
    except OSError as exc:
        raise SecretError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretError(f"{what}: {path} is not a regular file")
    if sys.platform != "win32" and st.st_mode & 0o077:
        mode = stat.S_IMODE(st.st_mode)
        raise SecretError(
            f"{what}: {path} may be read by its group or others (mode {mode:04o}); a secret "
            f"file must be readable by its owner only: chmod 600 {path}"
        )


def read_secret_file(path: str | os.PathLike[str], what: str) -> str:
    """The text of a private secret file (surrounding whitespace removed)."""
    p = Path(path)
    check_private(p, what)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SecretError(f"{what}: cannot read {p}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise SecretError(f"{what}: {p} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"{what}: {p} is not UTF-8 text") from None


def read_secret(
    what: str,
    *,
    file: str = "",
    env: str = "",
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The secret from ``file`` if named, else from variable ``env`` if named; None if
    neither is named. A named source that is missing or empty is an error."""
    if file:
        text = read_secret_file(file, what)
        if not text:
            raise SecretError(f"{what}: {file} is empty")
        return text
    if env:
        environ = os.environ if environ is None else environ
        value = environ.get(env)
        if value is None:
            raise SecretError(f"{what}: environment variable {env} is not set")
        if not value.strip():
            raise SecretError(f"{what}: environment variable {env} is empty")
        return value.strip()
    return None


def load_link_keys(
    *, file: str = "", env: str = "", environ: Mapping[str, str] | None = None
) -> LinkKeys | None:
    """The pre-shared link keys (``docs/security.md``), or None when no source is named."""
    text = read_secret("link key", file=file, env=env, environ=environ)
    if text is None:
        return None
    where = file or f"environment variable {env}"
    try:
        return parse_keys(text, where)
    except ValueError as exc:
        raise SecretError(f"link key: {exc}") from None
