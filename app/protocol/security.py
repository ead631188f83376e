"""Link protection against the EN 50159 threats, sans-I/O (see ``docs/security.md``).

What is here, and what each stops:

- **keys** (:class:`LinkKeys`): the pre-shared workstation key(s), each with an
  id so that a key can be rotated (a server holds the old and the new key for
  the change-over; a workstation uses its first);
- **the handshake**: each side's HELLO carries a fresh random ``nonce``; the
  per-session keys are derived (HKDF-SHA256, RFC 5869, on the stdlib ``hmac``)
  from the pre-shared key, both nonces and both HELLO payloads, so a session
  key is never used twice, and the role, dispatcher and node ids each side
  declared are bound into every later frame's MAC;
- **the tag** (:func:`frame_tag`, :func:`datagram_tag`): HMAC-SHA256 truncated
  to 16 bytes over the frame header and payload (corruption, insertion,
  masquerade); one key per direction, so a frame cannot be reflected back;
- **the age check** (:func:`age_violation`): a frame's timestamp must be no
  older than ``max_age_ms`` and no further ahead than ``max_skew_ms`` (delay);
- **the monitor** (:class:`IntegrityMonitor`): counts failures in a sliding
  window; past the threshold the owner raises the link-integrity alarm and
  resynchronises the link.

The sequence rules (repetition, deletion, re-sequencing) live in
``app/protocol/connection.py``, which uses all of the above.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from app.protocol.errors import RemoteProtocolError

TAG_SIZE: Final = 16
"""Bytes of HMAC-SHA256 kept in each tag (128 bits)."""
NONCE_SIZE: Final = 16
MIN_KEY_SIZE: Final = 16
"""A pre-shared key shorter than this is refused (128 bits)."""
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
DEFAULT_KEY_ID: Final = "k1"

_HASH: Final = "sha256"
_LABEL: Final = b"dhmi/1 "


class IntegrityError(RemoteProtocolError):
    """A frame or datagram failed a protection check.

    ``kind`` names the check (``mac``, ``repeat``, ``gap``, ``late``, ``future``,
    ``handshake``, ``destination``, ``unauthenticated``, ``role``). ``fatal`` ones end the
    connection (the handshake cannot be trusted); the others drop the one frame.
    """

    def __init__(self, kind: str, message: str, where: str, *, fatal: bool = False) -> None:
        super().__init__(message, where)
        self.kind = kind
        self.fatal = fatal


@dataclass(frozen=True, slots=True)
class Violation:
    """One failed check, as counted and reported (the frame was dropped unless ``kind`` is gap)."""

    kind: str
    where: str
    detail: str


# -- keys ---------------------------------------------------------------------------


#: A key's highest role, and the roles a HELLO made with that key may declare.
#: A key without one allows every role (the server pair's own key needs that).
ROLE_CEILINGS: Final[dict[str, frozenset[str]]] = {
    "observer": frozenset({"observer"}),
    "dispatcher": frozenset({"observer", "dispatcher"}),
    "supervisor": frozenset({"observer", "dispatcher", "supervisor"}),
}


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """Pre-shared link keys by id; the first is the one this end starts sessions with.

    ``ceilings``: for some key ids, the highest role a session made with that key
    may have (a per-workstation key for an observer position says ``observer``);
    only the server reads them, at the handshake.
    """

    keys: tuple[tuple[str, bytes], ...]
    ceilings: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("no link key")
        seen = set()
        for key_id, key in self.keys:
            if not KEY_ID.fullmatch(key_id):
                raise ValueError(f"key id {key_id!r}: 1-32 letters, digits, '.', '_' or '-'")
            if key_id in seen:
                raise ValueError(f"key id {key_id!r} given twice")
            if len(key) < MIN_KEY_SIZE:
                raise ValueError(
                    f"key {key_id!r} has {len(key)} bytes; at least {MIN_KEY_SIZE} are needed"
                )
            seen.add(key_id)
        for key_id, role in self.ceilings:
            if key_id not in seen:
                raise ValueError(f"a highest role for key {key_id!r}, which is not given")
            if role not in ROLE_CEILINGS:
                raise ValueError(
                    f"key {key_id!r}: highest role {role!r} is not one of "
                    + ", ".join(ROLE_CEILINGS)
                )

    def ceiling(self, key_id: str) -> str | None:
        """The highest role a session made with key ``key_id`` may have, if limited."""
        for kid, role in self.ceilings:
            if kid == key_id:
                return role
        return None

    def allows(self, key_id: str, role: str) -> bool:
        """May a HELLO made with key ``key_id`` declare ``role``?"""
        ceiling = self.ceiling(key_id)
        return ceiling is None or role in ROLE_CEILINGS[ceiling]

    @property
    def primary(self) -> tuple[str, bytes]:
        return self.keys[0]

    def get(self, key_id: str) -> bytes | None:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        return None

    def __repr__(self) -> str:  # never print the keys themselves
        return f"LinkKeys({', '.join(kid for kid, _ in self.keys)})"


def parse_keys(text: str, where: str) -> LinkKeys:
    """Keys as written in a key file or variable: ``ID HEX`` per line (or ``ID:HEX``,
    comma-separated), or one bare ``HEX`` (id ``k1``); ``ID HEX ROLE`` (``ID:HEX:ROLE``)
    also gives the key's highest role. ``#`` starts a comment.

    Raises ValueError saying what is wrong and where (never echoing key material).
    """
    entries: list[tuple[str, bytes]] = []
    ceilings: list[tuple[str, str]] = []
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    items = [part.strip() for line in lines for part in line.split(",")]
    for n, item in enumerate(items, 1):
        if not item:
            continue
        parts = re.split(r"[\s:]+", item)
        if len(parts) == 1:
            key_id, hex_text = DEFAULT_KEY_ID, parts[0]
        elif len(parts) == 2:
            key_id, hex_text = parts
        elif len(parts) == 3:
            key_id, hex_text, role = parts
            ceilings.append((key_id, role))
        else:
            raise ValueError(f"{where}: entry {n}: expected 'ID HEX', 'ID HEX ROLE' or 'HEX'")
        try:
            key = bytes.fromhex(hex_text)
        except ValueError:
            raise ValueError(f"{where}: entry {n} (key {key_id!r}): not hexadecimal") from None
        entries.append((key_id, key))
    if not entries:
        raise ValueError(f"{where}: no key in it")
    try:
        return LinkKeys(tuple(entries), tuple(ceilings))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


# -- key derivation (HKDF-SHA256, RFC 5869) -----------------------------------------


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.digest(salt or bytes(32), ikm, _HASH)
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), _HASH)
        out += block
        counter += 1
    return out[:length]


def hello_key(psk: bytes) -> bytes:
    """The key a client's HELLO is tagged with (before any session key exists)."""
    return hkdf(psk, b"", _LABEL + b"hello")


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """One session's keys: client to server, server to client, and the server's datagrams."""

    c2s: bytes
    s2c: bytes
    udp: bytes

    def __repr__(self) -> str:
        return "SessionKeys(...)"


def derive_session(
    psk: bytes, client_nonce: bytes, server_nonce: bytes, client_hello: bytes, server_hello: bytes
) -> SessionKeys:
    """Keys for one session, bound to both nonces and both HELLO payloads."""
    transcript = hashlib.sha256(
        len(client_hello).to_bytes(4, "big") + client_hello + server_hello
    ).digest()
    prk = hmac.digest(client_nonce + server_nonce, psk, _HASH)

    def expand(label: bytes) -> bytes:
        return hmac.digest(prk, _LABEL + label + transcript + b"\x01", _HASH)

    return SessionKeys(expand(b"tcp c2s"), expand(b"tcp s2c"), expand(b"udp s2c"))


# -- tags ---------------------------------------------------------------------------

_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
Buffer = bytes | bytearray | memoryview


class MacKey:
    """An HMAC-SHA256 key with its inner and outer hash states computed once.

    The same HMAC as ``hmac.digest`` (RFC 2104), about 2.5 times cheaper per tag
    for short messages, since the two key blocks are not hashed again each time.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def tag(self, data: Buffer, more: Buffer = b"") -> bytes:
        """HMAC-SHA256 of ``data`` + ``more``, truncated to :data:`TAG_SIZE` bytes."""
        inner = self._inner.copy()
        inner.update(data)
        if more:
            inner.update(more)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_SIZE]

    def __repr__(self) -> str:
        return "MacKey(...)"


def as_mac(key: MacKey | bytes) -> MacKey:
    return key if isinstance(key, MacKey) else MacKey(key)


def frame_tag(key: MacKey, header: Buffer, payload: Buffer) -> bytes:
    """The tag of a TCP frame: over its 24-byte header (with the tag length) and payload."""
    return key.tag(header, payload)


def datagram_tag(key: MacKey, body: Buffer) -> bytes:
    return key.tag(body)


def tags_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


# -- policy -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """How strict a protected link is. ``keys`` None: no protection (not in production)."""

    keys: LinkKeys | None = None
    max_age_ms: int = 3000
    max_skew_ms: int = 1000
    threshold: int = 3
    window_ms: int = 10_000

    @property
    def protected(self) -> bool:
        return self.keys is not None


def age_violation(policy: LinkPolicy, now_ms: int, stamp_ms: int) -> str | None:
    """Why a timestamp is unacceptable now, or None."""
    age = now_ms - stamp_ms
    if age > policy.max_age_ms:
        return f"late: sent {age} ms ago, the maximum age is {policy.max_age_ms} ms"
    if -age > policy.max_skew_ms:
        return f"future: stamped {-age} ms ahead of this clock (skew limit {policy.max_skew_ms} ms)"
    return None


@dataclass(slots=True)
class IntegrityMonitor:
    """Failures in a sliding window; :meth:`record` says when the threshold is passed."""

    threshold: int = 3
    window_ms: int = 10_000
    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    _times: deque[int] = field(default_factory=deque)
    last_ms: int | None = None

    def record(self, kind: str, now_ms: int) -> bool:
        self.total += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        self.last_ms = now_ms
        times = self._times
        times.append(now_ms)
        while times and now_ms - times[0] > self.window_ms:
            times.popleft()
        if len(times) >= self.threshold:
            times.clear()  # one trip per burst: the next one needs as many again
            return True
        return False

    def quiet_since(self, now_ms: int) -> bool:
        """No failure within the window."""
        return self.last_ms is None or now_ms - self.last_ms > self.window_ms


class NonceCache:
    """Client nonces seen recently (a server's memory against a replayed HELLO).

    A HELLO older than the maximum age is refused anyway, so a nonce only has
    to be remembered that long; at most ``capacity`` are kept.
    """

    def __init__(self, keep_ms: int, capacity: int = 65_536) -> None:
        self._keep_ms = keep_ms
        self._capacity = capacity
        self._seen: dict[bytes, int] = {}
        self._order: deque[tuple[int, bytes]] = deque()

    def seen_before(self, nonce: bytes, now_ms: int) -> bool:
        """Remember ``nonce``; True if it was already there."""
        order, seen = self._order, self._seen
        while order and (now_ms - order[0][0] > self._keep_ms or len(order) > self._capacity):
            _, old = order.popleft()
            seen.pop(old, None)
        if nonce in seen:
            return True
        seen[nonce] = now_ms
        order.append((now_ms, nonce))
        return False
