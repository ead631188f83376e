"""One end of a protocol link, sans-I/O: message values in and out, bytes in and out.

The same class serves the HMI and the simulator. It numbers outgoing frames
and checks incoming ones.

**Unprotected** (no link key): on a TCP stream nothing can be lost or
reordered, so any sequence jump means a broken or forged stream and is a
protocol error, as in the first release.

**Protected** (a :class:`LinkPolicy` with keys; ``docs/security.md``): the
first frame each way is HELLO, which carries a nonce; the session keys come
from both (:func:`derive_session`). Every later frame carries a 16-byte tag.
A frame that fails a check is dropped and reported to ``on_violation``, and
the connection goes on (its state unchanged), so its owner decides when
enough is enough (:class:`IntegrityMonitor`):

=========== ================================================ ===============
check       failing frame                                    kind
=========== ================================================ ===============
tag         corrupted, inserted, or from a peer without      ``mac``
            this session's key (masquerade)
sequence    older than the last accepted (replay,            ``repeat``
            re-sequencing)
sequence    ahead of the next expected: frames were deleted  ``gap`` (the
                                                             frame itself is
                                                             accepted)
timestamp   older than the maximum age (delay), or ahead     ``late``,
            of this clock by more than the skew limit        ``future``
=========== ================================================ ===============

A HELLO that fails any check is fatal (:class:`IntegrityError` with
``fatal``): nothing can be trusted without a handshake. The handshake is a
table per side (``HANDSHAKE``); a frame or send the table has no entry for is
refused.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import Literal

from app.clock import ClockMs, wall_ms
from app.protocol.errors import LocalProtocolError, RemoteProtocolError
from app.protocol.frames import (
    MAX_PAYLOAD,
    NEED_DATA,
    Frame,
    FrameDecoder,
    MessageType,
    NeedData,
    encode_frame,
    frame_header,
    header_of,
    seal,
)
from app.protocol.messages import Hello, Message, Refused, decode_message, encode_message
from app.protocol.security import (
    NONCE_SIZE,
    TAG_SIZE,
    IntegrityError,
    LinkPolicy,
    MacKey,
    NonceCache,
    SessionKeys,
    Violation,
    age_violation,
    derive_session,
    frame_tag,
    hello_key,
    tags_equal,
)

Side = Literal["client", "server"]


class Handshake(StrEnum):
    START = "start"
    HELLO_SENT = "hello_sent"  # client: waiting for the server's HELLO
    HELLO_RECEIVED = "hello_received"  # server: its HELLO is next
    ESTABLISHED = "established"


class Step(StrEnum):
    SEND_HELLO = "send_hello"
    RECV_HELLO = "recv_hello"
    SEND = "send"
    RECV = "recv"


class LinkRefusal(StrEnum):
    """Why a server refused a client's HELLO, as it tells the client (REFUSED)."""

    LINK_KEY = "link_key"  # no key, an unknown key id, or a tag made with another key
    ROLE = "role"  # the key does not allow the role the HELLO declares
    DESTINATION = "destination"  # the HELLO is for another server


#: (the failed check's kind, where) -> what the server tells; a check not here is not told
TOLD: dict[tuple[str, str], LinkRefusal] = {
    ("unauthenticated", "HELLO.nonce"): LinkRefusal.LINK_KEY,
    ("handshake", "HELLO.key_id"): LinkRefusal.LINK_KEY,
    ("mac", "trailer.tag"): LinkRefusal.LINK_KEY,
    ("role", "HELLO.role"): LinkRefusal.ROLE,
    ("destination", "HELLO.to"): LinkRefusal.DESTINATION,
}

#: what a client says of each refusal (its link's last error)
REFUSAL_TEXT: dict[str, str] = {
    LinkRefusal.LINK_KEY: "the server refused the link key",
    LinkRefusal.ROLE: "the server refused the link key for this role",
    LinkRefusal.DESTINATION: "the server refused the link: it is not the server this link is for",
}


class LinkRefused(IntegrityError):
    """The server refused this client's HELLO and said why: ``code`` (a
    :class:`LinkRefusal` value, or what a newer server sent, cut to 40 characters)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__("refused", message, "REFUSED.code", fatal=True)
        self.code = code


_H, _T = Handshake, Step
HANDSHAKE: dict[Side, dict[Handshake, dict[Step, Handshake]]] = {
    "client": {
        _H.START: {_T.SEND_HELLO: _H.HELLO_SENT},
        _H.HELLO_SENT: {_T.RECV_HELLO: _H.ESTABLISHED},
        _H.ESTABLISHED: {_T.SEND: _H.ESTABLISHED, _T.RECV: _H.ESTABLISHED},
    },
    "server": {
        _H.START: {_T.RECV_HELLO: _H.HELLO_RECEIVED},
        _H.HELLO_RECEIVED: {_T.SEND_HELLO: _H.ESTABLISHED},
        _H.ESTABLISHED: {_T.SEND: _H.ESTABLISHED, _T.RECV: _H.ESTABLISHED},
    },
}


class Connection:
    def __init__(
        self,
        max_payload: int = MAX_PAYLOAD,
        clock_ms: ClockMs = wall_ms,
        *,
        policy: LinkPolicy | None = None,
        side: Side = "client",
        local_id: str = "",
        expect_peer: str = "",
        nonces: NonceCache | None = None,
        on_violation: Callable[[Violation], None] | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._decoder = FrameDecoder(max_payload)
        self._clock_ms = clock_ms
        self._send_seq = 0
        self._recv_seq: int | None = None
        self.frames_received = 0
        self.frames_sent = 0
        self.frames_dropped = 0
        self.policy = policy if policy is not None and policy.protected else None
        self.side: Side = side
        self.local_id = local_id
        self.expect_peer = expect_peer
        self._nonces = nonces
        self._on_violation = on_violation
        self._random = random_bytes
        self.handshake = Handshake.START
        self._psk = b""
        self._key_id = ""
        self._nonce = b""
        self._peer_nonce = b""
        self._client_hello = b""
        self._keys: SessionKeys | None = None
        self._send_key = MacKey(b"")
        self._recv_key = MacKey(b"")
        self._udp_key: MacKey | None = None

    # -- what the owner asks ----------------------------------------------------------

    @property
    def protected(self) -> bool:
        return self.policy is not None

    @property
    def ready(self) -> bool:
        """May a message other than HELLO be sent now?"""
        return self.policy is None or self.handshake is Handshake.ESTABLISHED

    @property
    def udp_key(self) -> MacKey | None:
        """The key of the server's train status datagrams in this session (protected only)."""
        return self._udp_key if self._keys is not None else None

    @property
    def key_id(self) -> str:
        return self._key_id

    # -- sending ------------------------------------------------------------------------

    def send(self, msg: Message) -> bytes:
        if self.policy is None:
            mtype, payload = encode_message(msg)
            data = encode_frame(mtype, self._send_seq, payload, timestamp_ms=self._clock_ms())
        else:
            data = self._send_protected(msg)
        self._send_seq = (self._send_seq + 1) & 0xFFFFFFFF
        self.frames_sent += 1
        return data

    def _step(self, step: Step) -> Handshake | None:
        return HANDSHAKE[self.side][self.handshake].get(step)

    def _send_protected(self, msg: Message) -> bytes:
        policy = self.policy
        assert policy is not None and policy.keys is not None
        is_hello = isinstance(msg, Hello)
        step = Step.SEND_HELLO if is_hello else Step.SEND
        nxt = self._step(step)
        if nxt is None:
            raise LocalProtocolError(
                f"cannot send {type(msg).__name__} in handshake state {self.handshake}"
            )
        if isinstance(msg, Hello):
            self._nonce = self._random(NONCE_SIZE)
            if self.side == "client":
                self._key_id, self._psk = policy.keys.primary
            msg = dataclasses.replace(
                msg,
                nonce=self._nonce.hex(),
                key_id=self._key_id,
                to=self.expect_peer if self.side == "client" else msg.to,
            )
        mtype, payload = encode_message(msg)
        head = frame_header(
            mtype, self._send_seq, len(payload), timestamp_ms=self._clock_ms(), tag_len=TAG_SIZE
        )
        if step is Step.SEND:
            key = self._send_key
        elif self.side == "client":
            key = MacKey(hello_key(self._psk))
            self._client_hello = payload
        else:
            self._establish(self._peer_nonce, self._nonce, self._client_hello, payload)
            key = self._send_key
        self.handshake = nxt
        return seal(head, payload, frame_tag(key, head, payload))

    def _establish(
        self, client_nonce: bytes, server_nonce: bytes, client_hello: bytes, server_hello: bytes
    ) -> None:
        keys = derive_session(self._psk, client_nonce, server_nonce, client_hello, server_hello)
        self._keys = keys
        c2s, s2c = MacKey(keys.c2s), MacKey(keys.s2c)
        self._udp_key = MacKey(keys.udp)
        if self.side == "client":
            self._send_key, self._recv_key = c2s, s2c
        else:
            self._send_key, self._recv_key = s2c, c2s

    # -- receiving ----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        self._decoder.receive_data(data)

    def next_event(self) -> Message | NeedData:
        """The next message; frames dropped by a protection check are skipped."""
        while True:
            frame = self._decoder.next_event()
            if frame is NEED_DATA:
                return NEED_DATA
            assert not isinstance(frame, NeedData)
            msg = self.accept(frame)
            if msg is not None:
                return msg

    def accept(self, frame: Frame) -> Message | None:
        """Check and decode a frame cut by another framer (e.g. ``app.comms.ring.RingFramer``).

        Unprotected: applies the sequence rule (a jump raises), then decodes the
        payload. Protected: None when the frame is dropped (see the module doc).
        Use either this or ``receive_data``/``next_event`` on one connection, not both.
        """
        if frame.type is MessageType.REFUSED:
            self._accept_refused(frame)
        if self.policy is None:
            expected = 0 if self._recv_seq is None else (self._recv_seq + 1) & 0xFFFFFFFF
            if frame.seq != expected:
                raise RemoteProtocolError(
                    f"frame sequence {frame.seq}, expected {expected}", "header.seq"
                )
            self._recv_seq = frame.seq
            self.frames_received += 1
            return decode_message(frame)
        if frame.type is MessageType.HELLO:
            return self._accept_hello(frame)
        if self._step(Step.RECV) is None:
            raise IntegrityError(
                "handshake",
                f"{frame.type.name} before the handshake completed ({self.handshake})",
                "header.type",
                fatal=True,
            )
        return self._accept_protected(frame)

    def _accept_refused(self, frame: Frame) -> None:
        """A server refused this client's HELLO: always raises (fatal), saying why."""
        before_hello = self._recv_seq is None and self.handshake is not Handshake.ESTABLISHED
        if self.side != "client" or not before_hello:
            raise IntegrityError(
                "handshake", "REFUSED outside a client's handshake", "header.type", fatal=True
            )
        msg = decode_message(frame)
        assert isinstance(msg, Refused)
        text = REFUSAL_TEXT.get(msg.code, f"the server refused the link ({msg.code[:40]!r})")
        raise LinkRefused(msg.code[:40], text)

    def refusal(self, exc: IntegrityError) -> bytes | None:
        """Server: the REFUSED frame telling a client why its HELLO was refused (sent
        unprotected, then the connection is closed); None when the check is not told."""
        code = TOLD.get((exc.kind, exc.where))
        if self.side != "server" or self.handshake is not Handshake.START or code is None:
            return None
        mtype, payload = encode_message(Refused(code.value))
        return encode_frame(mtype, 0, payload, timestamp_ms=self._clock_ms())

    def _violation(self, kind: str, where: str, detail: str) -> None:
        if self._on_violation is not None:
            self._on_violation(Violation(kind, where, detail))

    def _drop(self, kind: str, where: str, detail: str) -> None:
        self.frames_dropped += 1
        self._violation(kind, where, detail)

    def _accept_protected(self, frame: Frame) -> Message | None:
        policy = self.policy
        assert policy is not None
        if len(frame.tag) != TAG_SIZE or not tags_equal(
            frame_tag(self._recv_key, header_of(frame), frame.payload), frame.tag
        ):
            what = "no tag" if not frame.tag else "tag does not match"
            self._drop("mac", "trailer.tag", f"{frame.type.name} seq {frame.seq}: {what}")
            return None
        assert self._recv_seq is not None
        expected = (self._recv_seq + 1) & 0xFFFFFFFF
        ahead = (frame.seq - expected) & 0xFFFFFFFF
        if ahead >= 0x80000000:
            self._drop(
                "repeat",
                "header.seq",
                f"{frame.type.name} seq {frame.seq} already past (next expected {expected})",
            )
            return None
        self._recv_seq = frame.seq
        if ahead:
            self._violation("gap", "header.seq", f"{ahead} frame(s) missing before seq {frame.seq}")
        why = age_violation(policy, self._clock_ms(), frame.timestamp_ms)
        if why is not None:
            self._drop(why.split(":", 1)[0], "header.timestamp", f"{frame.type.name}: {why}")
            return None
        self.frames_received += 1
        return decode_message(frame)

    def _accept_hello(self, frame: Frame) -> Hello:
        policy = self.policy
        assert policy is not None and policy.keys is not None
        nxt = self._step(Step.RECV_HELLO)
        if nxt is None:
            raise IntegrityError(
                "handshake", f"HELLO in handshake state {self.handshake}", "header.type", fatal=True
            )

        def refuse(kind: str, where: str, message: str) -> IntegrityError:
            self._violation(kind, where, message)
            return IntegrityError(kind, message, where, fatal=True)

        if frame.seq != 0:
            raise refuse("handshake", "header.seq", f"HELLO with sequence {frame.seq}, not 0")
        msg = decode_message(frame)
        assert isinstance(msg, Hello)
        if not msg.nonce:
            who = "server" if self.side == "client" else "peer"
            raise refuse(
                "unauthenticated",
                "HELLO.nonce",
                f"the {who}'s HELLO has no nonce: it has no link key, and this end accepts "
                "protected links only",
            )
        try:
            nonce = bytes.fromhex(msg.nonce)
        except ValueError:
            nonce = b""
        if len(nonce) != NONCE_SIZE:
            raise refuse("handshake", "HELLO.nonce", f"expected {2 * NONCE_SIZE} hex digits")
        why = age_violation(policy, self._clock_ms(), frame.timestamp_ms)
        if why is not None:
            raise refuse(why.split(":", 1)[0], "header.timestamp", f"HELLO: {why}")
        if self.side == "client":
            if msg.key_id != self._key_id:
                raise refuse(
                    "handshake",
                    "HELLO.key_id",
                    f"server answered with key {msg.key_id!r}, this end offered {self._key_id!r}",
                )
            self._establish(self._nonce, nonce, self._client_hello, frame.payload)
            if len(frame.tag) != TAG_SIZE or not tags_equal(
                frame_tag(self._recv_key, header_of(frame), frame.payload), frame.tag
            ):
                self._keys = None
                raise refuse(
                    "mac",
                    "trailer.tag",
                    "the server's HELLO tag does not match: a different link key, or forged",
                )
            if self.expect_peer and msg.node != self.expect_peer:
                raise refuse(
                    "destination",
                    "HELLO.node",
                    f"the server says it is {msg.node!r}; this link is for {self.expect_peer!r}",
                )
        else:
            psk = policy.keys.get(msg.key_id)
            if psk is None:
                raise refuse(
                    "handshake", "HELLO.key_id", f"no key {msg.key_id!r} here (rotated out?)"
                )
            if len(frame.tag) != TAG_SIZE or not tags_equal(
                frame_tag(MacKey(hello_key(psk)), header_of(frame), frame.payload), frame.tag
            ):
                raise refuse(
                    "mac",
                    "trailer.tag",
                    f"HELLO tag does not match key {msg.key_id!r}: a different key, or forged",
                )
            if not policy.keys.allows(msg.key_id, msg.role):
                raise refuse(
                    "role",
                    "HELLO.role",
                    f"key {msg.key_id!r} allows at most {policy.keys.ceiling(msg.key_id)!r};"
                    f" the HELLO says {msg.role!r}",
                )
            if self._nonces is not None and self._nonces.seen_before(nonce, self._clock_ms()):
                raise refuse("repeat", "HELLO.nonce", "a HELLO seen before (replayed)")
            if msg.to and self.local_id and msg.to != self.local_id:
                raise refuse(
                    "destination",
                    "HELLO.to",
                    f"the HELLO is for server {msg.to!r}; this is {self.local_id!r}",
                )
            self._psk, self._key_id = psk, msg.key_id
            self._peer_nonce, self._client_hello = nonce, frame.payload
        self._recv_seq = 0
        self.handshake = nxt
        self.frames_received += 1
        return msg
