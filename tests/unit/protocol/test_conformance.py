"""The test vectors of docs/protocol.md, checked against the code.

The vectors are read from the document itself (its ```text blocks starting
``vector: NAME``), so the document and the code cannot drift apart: a changed
byte, field, key or digest in either fails here. The key derivation and the
digest are also recomputed from the recipes the document gives (hmac,
hashlib, json), not only through the code's own functions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.config import load_line
from app.model.commands import Command
from app.protocol.connection import Connection, Handshake
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    NEED_DATA,
    Frame,
    FrameDecoder,
    MessageType,
    encode_frame,
    frame_header,
)
from app.protocol.messages import Hello, decode_message, encode_message
from app.protocol.security import (
    IntegrityError,
    LinkKeys,
    LinkPolicy,
    MacKey,
    NonceCache,
    Violation,
    derive_session,
    hello_key,
)
from app.protocol.udp import TrainStatus, decode_train_status, encode_train_status

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "protocol.md"

FRAMES = (
    "hello-client",
    "hello-server",
    "heartbeat-ping",
    "heartbeat-pong",
    "command",
    "delta",
    "command-result",
    "actuals",
    "protected-hello-client",
    "protected-hello-server",
    "protected-command",
)
DATAGRAMS = ("datagram-plain", "datagram-tagged")
EXPECTED = {*FRAMES, *DATAGRAMS, "keys", "digest"}

_BLOCK = re.compile(r"^```text\n(vector: .*?)^```$", re.MULTILINE | re.DOTALL)
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_STATUS_FIELDS = tuple(f.name for f in dataclasses.fields(TrainStatus))


@dataclass(frozen=True)
class Vector:
    """One block: its ``field: value`` lines and, for a frame or datagram, its bytes."""

    name: str
    fields: dict[str, str]
    parts: tuple[tuple[str, bytes], ...] = ()
    kind: str = ""  # "frame", "datagram" or "" (no bytes)
    size: int = 0  # as the block states it

    @property
    def data(self) -> bytes:
        return b"".join(part for _, part in self.parts)

    def part(self, label: str) -> bytes:
        found = [data for name, data in self.parts if name == label]
        return found[0] if found else b""

    def num(self, field: str) -> int:
        return int(self.fields[field])


def parse_block(text: str) -> Vector:
    fields: dict[str, str] = {}
    parts: list[list[Any]] = []
    kind, size = "", 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if not kind:
            key, sep, value = line.partition(": ")
            assert sep, f"not a 'field: value' line: {line!r}"
            if key in ("frame", "datagram"):
                kind = key
                count, unit = value.split()
                assert unit == "bytes", line
                size = int(count)
            else:
                assert key not in fields, f"field {key} given twice"
                fields[key] = value
            continue
        tokens = line.split()
        if not line[0].isspace():
            parts.append([tokens.pop(0), b""])
        assert parts, f"hex before any part label: {line!r}"
        for token in tokens:
            assert _HEX.fullmatch(token), f"not hex bytes: {token!r} in {line!r}"
            parts[-1][1] += bytes.fromhex(token)
    name = fields.pop("vector")
    return Vector(name, fields, tuple((label, data) for label, data in parts), kind, size)


def load_vectors(text: str) -> dict[str, Vector]:
    vectors: dict[str, Vector] = {}
    for match in _BLOCK.finditer(text):
        vec = parse_block(match.group(1))
        assert vec.name not in vectors, f"vector {vec.name} given twice"
        vectors[vec.name] = vec
    return vectors


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def vectors(doc: str) -> dict[str, Vector]:
    return load_vectors(doc)


@pytest.fixture(scope="module")
def keys(vectors: dict[str, Vector]) -> dict[str, bytes]:
    """The vector ``keys``, as bytes (``key_id`` as its ASCII text)."""
    return {
        k: v.encode() if k == "key_id" else bytes.fromhex(v)
        for k, v in vectors["keys"].fields.items()
    }


def hmac256(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def payload_of(frame: bytes) -> bytes:
    return frame[24 : 24 + int.from_bytes(frame[20:24], "big")]


def test_the_document_holds_every_vector_once(vectors: dict[str, Vector]) -> None:
    assert set(vectors) == EXPECTED


# -- frames ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FRAMES)
def test_frame_vector(name: str, vectors: dict[str, Vector], keys: dict[str, bytes]) -> None:
    vec = vectors[name]
    data = vec.data
    assert vec.kind == "frame"
    assert len(data) == vec.size
    tag_key = vec.fields["tag_key"]
    labels = [label for label, _ in vec.parts]
    tagged = tag_key != "none"
    assert labels == (
        ["header", "payload", "tag", "crc"] if tagged else ["header", "payload", "crc"]
    )
    header, payload, tag, crc = (vec.part(x) for x in ("header", "payload", "tag", "crc"))
    assert len(header) == 24
    assert len(crc) == 4
    assert payload == vec.fields["payload"].encode("utf-8")

    # the stated fields, decoded by the code
    code, type_name = vec.fields["type"].split()
    mtype = MessageType(int(code))
    assert mtype.name == type_name
    dec = FrameDecoder()
    dec.receive_data(data)
    frame = dec.next_event()
    assert isinstance(frame, Frame)
    assert dec.next_event() is NEED_DATA
    assert frame.type is mtype
    assert frame.seq == vec.num("seq")
    assert frame.timestamp_ms == vec.num("timestamp_ms")
    assert frame.payload == payload
    assert frame.tag == tag
    assert frame.flags == 0

    # and encoded by the code from the stated fields
    assert encode_frame(mtype, frame.seq, payload, timestamp_ms=frame.timestamp_ms, tag=tag) == data
    assert (
        frame_header(
            mtype, frame.seq, len(payload), timestamp_ms=frame.timestamp_ms, tag_len=len(tag)
        )
        == header
    )
    assert int.from_bytes(crc, "big") == zlib.crc32(data[:-4])

    # the payload: every stated field survives the message codec both ways
    msg = decode_message(frame)
    again_type, again = encode_message(msg)
    assert again_type is mtype
    stated = json.loads(vec.fields["payload"])
    reencoded = json.loads(again)
    assert {k: reencoded.get(k) for k in stated} == stated

    if not tagged:
        assert tag == b""
    else:
        assert len(tag) == 16
        assert MacKey(keys[tag_key]).tag(header, payload) == tag
        assert hmac256(keys[tag_key], header + payload)[:16] == tag


@pytest.mark.parametrize("name", FRAMES)
def test_a_flipped_bit_in_a_frame_vector_is_refused(name: str, vectors: dict[str, Vector]) -> None:
    data = bytearray(vectors[name].data)
    data[30] ^= 0x01  # a payload byte: only the CRC can tell
    dec = FrameDecoder()
    dec.receive_data(bytes(data))
    with pytest.raises(RemoteProtocolError) as err:
        dec.next_event()
    assert err.value.where == "trailer.crc"


def test_the_unprotected_session_vectors_follow_one_another(vectors: dict[str, Vector]) -> None:
    """A client and a server Connection produce and accept the unprotected vectors in order."""
    clock = Clock()
    client = Connection(clock_ms=clock)
    server = Connection(clock_ms=clock, side="server")
    for name in ("hello-client", "heartbeat-ping", "command"):
        vec = vectors[name]
        clock.now = vec.num("timestamp_ms")
        msg = decode_message(decode_one(vec.data))
        assert client.send(msg) == vec.data
        server.receive_data(vec.data)
        assert server.next_event() == msg
    vec = vectors["hello-server"]
    clock.now = vec.num("timestamp_ms")
    reply = decode_message(decode_one(vec.data))
    assert server.send(reply) == vec.data
    client.receive_data(vec.data)
    assert client.next_event() == reply


# -- keys and the protected session ---------------------------------------------------------


def test_the_keys_vector_follows_from_the_psk_nonces_and_hellos(
    vectors: dict[str, Vector], keys: dict[str, bytes]
) -> None:
    psk, nonce_c, nonce_s = keys["psk"], keys["client_nonce"], keys["server_nonce"]
    p_c = vectors["protected-hello-client"].part("payload")
    p_s = vectors["protected-hello-server"].part("payload")
    hello_c = json.loads(p_c)
    hello_s = json.loads(p_s)
    assert bytes.fromhex(hello_c["nonce"]) == nonce_c
    assert bytes.fromhex(hello_s["nonce"]) == nonce_s
    assert hello_c["key_id"] == hello_s["key_id"] == keys["key_id"].decode()

    # the recipe, as the document writes it
    k_hello = hmac256(hmac256(bytes(32), psk), b"dhmi/1 hello\x01")
    prk = hmac256(nonce_c + nonce_s, psk)
    transcript = hashlib.sha256(len(p_c).to_bytes(4, "big") + p_c + p_s).digest()

    def expand(label: bytes) -> bytes:
        return hmac256(prk, b"dhmi/1 " + label + transcript + b"\x01")

    assert k_hello == keys["k_hello"]
    assert prk == keys["prk"]
    assert transcript == keys["transcript"]
    assert expand(b"tcp c2s") == keys["k_c2s"]
    assert expand(b"tcp s2c") == keys["k_s2c"]
    assert expand(b"udp s2c") == keys["k_udp"]

    # and the code
    assert hello_key(psk) == keys["k_hello"]
    session = derive_session(psk, nonce_c, nonce_s, p_c, p_s)
    assert (session.c2s, session.s2c, session.udp) == (keys["k_c2s"], keys["k_s2c"], keys["k_udp"])


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def decode_one(data: bytes) -> Frame:
    dec = FrameDecoder()
    dec.receive_data(data)
    frame = dec.next_event()
    assert isinstance(frame, Frame)
    return frame


def unfilled(hello: Hello) -> Hello:
    """The HELLO its owner hands to the connection, which fills in the protection fields."""
    return dataclasses.replace(hello, nonce="", key_id="", to="")


def test_the_protected_session_vectors_replay_through_the_code(
    vectors: dict[str, Vector], keys: dict[str, bytes]
) -> None:
    """Two Connections with the vector's key and nonces send exactly the protected vectors
    and accept each other's, and the client's datagram key checks the tagged datagram."""
    policy = LinkPolicy(LinkKeys(((keys["key_id"].decode(), keys["psk"]),)))
    clock = Clock()
    seen: list[Violation] = []
    client = Connection(
        clock_ms=clock,
        policy=policy,
        side="client",
        expect_peer="A",
        on_violation=seen.append,
        random_bytes=lambda n: keys["client_nonce"][:n],
    )
    server = Connection(
        clock_ms=clock,
        policy=policy,
        side="server",
        local_id="A",
        nonces=NonceCache(policy.max_age_ms + policy.max_skew_ms),
        on_violation=seen.append,
        random_bytes=lambda n: keys["server_nonce"][:n],
    )
    hello_c, hello_s, command = (
        vectors[n]
        for n in ("protected-hello-client", "protected-hello-server", "protected-command")
    )

    clock.now = hello_c.num("timestamp_ms")
    sent = decode_message(decode_one(hello_c.data))
    assert isinstance(sent, Hello)
    assert client.send(unfilled(sent)) == hello_c.data
    server.receive_data(hello_c.data)
    assert server.next_event() == sent
    assert server.handshake is Handshake.HELLO_RECEIVED

    clock.now = hello_s.num("timestamp_ms")
    answer = decode_message(decode_one(hello_s.data))
    assert isinstance(answer, Hello)
    assert server.send(unfilled(answer)) == hello_s.data
    client.receive_data(hello_s.data)
    assert client.next_event() == answer
    assert (client.handshake, server.handshake) == (Handshake.ESTABLISHED,) * 2

    clock.now = command.num("timestamp_ms")
    cmd = decode_message(decode_one(command.data))
    assert isinstance(cmd, Command)
    assert client.send(cmd) == command.data
    server.receive_data(command.data)
    assert server.next_event() == cmd

    datagram = vectors["datagram-tagged"].data
    assert client.udp_key is not None
    assert decode_train_status(datagram, key=client.udp_key).seq == vectors["datagram-tagged"].num(
        "seq"
    )
    assert seen == []


def test_a_protected_frame_vector_with_a_changed_tag_is_dropped(
    vectors: dict[str, Vector], keys: dict[str, bytes]
) -> None:
    """The server of the replayed session drops the command vector with one tag bit changed."""
    policy = LinkPolicy(LinkKeys(((keys["key_id"].decode(), keys["psk"]),)))
    clock = Clock()
    seen: list[Violation] = []
    server = Connection(
        clock_ms=clock,
        policy=policy,
        side="server",
        local_id="A",
        on_violation=seen.append,
        random_bytes=lambda n: keys["server_nonce"][:n],
    )
    hello_c, hello_s, command = (
        vectors[n]
        for n in ("protected-hello-client", "protected-hello-server", "protected-command")
    )
    clock.now = hello_c.num("timestamp_ms")
    server.receive_data(hello_c.data)
    assert isinstance(server.next_event(), Hello)
    clock.now = hello_s.num("timestamp_ms")
    answer = decode_message(decode_one(hello_s.data))
    assert isinstance(answer, Hello)
    assert server.send(unfilled(answer)) == hello_s.data

    clock.now = command.num("timestamp_ms")
    body = bytearray(command.data[:-4])
    body[-1] ^= 0x80  # the tag's last byte
    server.receive_data(bytes(body) + zlib.crc32(body).to_bytes(4, "big"))
    assert server.next_event() is NEED_DATA
    assert [v.kind for v in seen] == ["mac"]


# -- datagrams ------------------------------------------------------------------------------


def status_of(vec: Vector) -> TrainStatus:
    values: dict[str, Any] = {
        f: vec.fields[f] if f == "number" else vec.num(f) for f in _STATUS_FIELDS
    }
    return TrainStatus(**values)


@pytest.mark.parametrize("name", DATAGRAMS)
def test_datagram_vector(name: str, vectors: dict[str, Vector], keys: dict[str, bytes]) -> None:
    vec = vectors[name]
    data = vec.data
    assert vec.kind == "datagram"
    assert len(data) == vec.size
    tag_key = vec.fields["tag_key"]
    key = None if tag_key == "none" else keys[tag_key]
    labels = [label for label, _ in vec.parts]
    assert labels == (["body", "crc"] if key is None else ["body", "tag", "crc"])
    body, tag, crc = vec.part("body"), vec.part("tag"), vec.part("crc")
    assert len(body) == 44
    assert int.from_bytes(crc, "big") == zlib.crc32(data[:-4])

    status = status_of(vec)
    assert decode_train_status(data, key=key) == status
    assert encode_train_status(status, key) == data
    assert set(vec.fields) == {"tag_key", *_STATUS_FIELDS}

    if key is None:
        assert body[3] == 0
        with pytest.raises(IntegrityError) as err:
            decode_train_status(data, key=keys["k_udp"])  # a protected receiver
        assert err.value.kind == "unauthenticated"
    else:
        assert body[3] == 1
        assert hmac256(key, body)[:16] == tag
        with pytest.raises(IntegrityError) as err:
            decode_train_status(data)  # an unprotected receiver
        assert err.value.kind == "unauthenticated"
        forged = bytearray(data[:-4])
        forged[50] ^= 0x01
        with pytest.raises(IntegrityError) as err:
            decode_train_status(bytes(forged) + zlib.crc32(forged).to_bytes(4, "big"), key=key)
        assert err.value.kind == "mac"


# -- the line digest ------------------------------------------------------------------------

#: The keys of each list, as the document's recipe names them.
DIGEST_KEYS = {
    "sections": ("id", "kind", "length_m", "x0", "x1", "y0", "y1", "station"),
    "links": ("a", "b"),
    "switches": ("id", "zone", "root", "normal", "reverse", "x", "y"),
    "signals": ("id", "zone", "section", "direction", "x", "y"),
    "routes": ("id", "entry", "exit", "sections", "switches"),
}


def plain(value: object) -> object:
    """JSON-ready: enums as their strings, tuples as lists, nested records as objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def test_the_digest_vector_is_the_demo_lines(doc: str, vectors: dict[str, Vector]) -> None:
    vec = vectors["digest"]
    line = load_line(ROOT / vec.fields["file"])
    body: dict[str, object] = {"id": line.id}
    for name, names in DIGEST_KEYS.items():
        records = getattr(line, name)
        body[name] = [{k: plain(getattr(rec, k)) for k in names} for rec in records]
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")

    assert len(raw) == vec.num("json_bytes")
    assert raw.startswith(vec.fields["json_begins"].encode())
    assert hashlib.sha256(raw).hexdigest() == vec.fields["sha256"]
    assert vec.fields["sha256"][:16] == vec.fields["digest"]
    assert line.digest() == vec.fields["digest"]
    for name in (
        "hello-client",
        "hello-server",
        "protected-hello-client",
        "protected-hello-server",
    ):
        assert json.loads(vectors[name].fields["payload"])["line_digest"] == vec.fields["digest"]

    # the example objects the "Line digest" section shows are in the serialised JSON
    examples = re.search(r"holds objects such as\n\n```\n(.*?)```", doc, re.DOTALL)
    assert examples is not None
    shown = examples.group(1).splitlines()
    assert len(shown) == 2
    for obj in shown:
        assert obj.encode() in raw, obj


def test_the_parser_refuses_a_block_it_cannot_read() -> None:
    """A typo in a hex line is an error here, not a silently shorter vector."""
    with pytest.raises(AssertionError):
        parse_block("vector: x\ntype: 1 HELLO\nframe: 2 bytes\nheader   4d4\n")
