"""Link protection, sans-I/O: the handshake, each EN 50159 check, keys, datagram tags."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config.secrets import SecretError, load_link_keys, read_secret
from app.protocol.connection import Connection, Handshake
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import Frame, FrameDecoder, MessageType, NeedData, encode_frame
from app.protocol.messages import Heartbeat, Hello, SnapshotRequest
from app.protocol.security import (
    IntegrityError,
    IntegrityMonitor,
    LinkKeys,
    LinkPolicy,
    MacKey,
    NonceCache,
    Violation,
    derive_session,
    parse_keys,
)
from app.protocol.udp import (
    AUTH_RECORD_SIZE,
    RECORD_SIZE,
    TrainStatus,
    decode_train_status,
    encode_train_status,
)

KEYS = LinkKeys((("k1", bytes(range(32))),))
OTHER = LinkKeys((("k1", bytes(32)),))


class Clock:
    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def pair(
    policy: LinkPolicy | None = None, clock: Clock | None = None
) -> tuple[Connection, Connection, list[Violation], list[Violation]]:
    """A client and a server connection, the handshake done."""
    policy = policy or LinkPolicy(KEYS)
    clock = clock or Clock()
    cv: list[Violation] = []
    sv: list[Violation] = []
    client = Connection(
        clock_ms=clock, policy=policy, side="client", expect_peer="A", on_violation=cv.append
    )
    server = Connection(
        clock_ms=clock,
        policy=policy,
        side="server",
        local_id="A",
        nonces=NonceCache(5000),
        on_violation=sv.append,
    )
    server.receive_data(client.send(Hello("WS", "dispatcher", "L", "d", dispatcher="x")))
    hello = server.next_event()
    assert isinstance(hello, Hello) and hello.role == "dispatcher" and hello.to == "A"
    client.receive_data(server.send(Hello("A", "master", "L", "d")))
    assert isinstance(client.next_event(), Hello)
    assert client.handshake is server.handshake is Handshake.ESTABLISHED
    return client, server, cv, sv


def frames(data: bytes) -> list[Frame]:
    dec = FrameDecoder()
    dec.receive_data(data)
    out = []
    while not isinstance(f := dec.next_event(), NeedData):
        out.append(f)
    return out


def test_protected_frames_carry_a_tag_and_pass() -> None:
    client, server, cv, sv = pair()
    data = server.send(Heartbeat("A", "master", 1))
    [frame] = frames(data)
    assert len(frame.tag) == 16
    assert client.accept(frame) == Heartbeat("A", "master", 1)
    assert client.udp_key is not None and server.udp_key is not None
    assert client.udp_key.tag(b"x") == server.udp_key.tag(b"x")
    assert cv == sv == []


def test_repetition_and_resequencing_are_dropped_and_counted() -> None:
    client, server, cv, _ = pair()
    f1, f2, f3 = (frames(server.send(SnapshotRequest(str(i))))[0] for i in range(3))
    assert client.accept(f1) == SnapshotRequest("0")
    assert client.accept(f1) is None  # replayed
    assert client.accept(f3) == SnapshotRequest("2")  # f2 deleted or late: a gap, f3 kept
    assert client.accept(f2) is None  # re-sequenced: older than what was accepted
    assert [v.kind for v in cv] == ["repeat", "gap", "repeat"]
    assert client.frames_dropped == 2


def test_corruption_insertion_and_masquerade_fail_the_mac() -> None:
    client, server, cv, _ = pair()
    good = frames(server.send(Heartbeat("A")))[0]
    flipped = good._replace(payload=good.payload.replace(b"A", b"B"))
    assert client.accept(flipped) is None
    # A peer without the session key forges a well-formed frame (right CRC, right seq).
    forged = frames(encode_frame(MessageType.HEARTBEAT, 1, b"{}", tag=bytes(16)))[0]
    assert client.accept(forged) is None
    untagged = frames(encode_frame(MessageType.HEARTBEAT, 1, b"{}"))[0]
    assert client.accept(untagged) is None
    assert [v.kind for v in cv] == ["mac", "mac", "mac"]
    assert client.accept(good) == Heartbeat("A")  # the genuine one still passes


def test_a_frame_from_the_other_direction_is_refused() -> None:
    client, _, cv, _ = pair()
    # The client's own frame reflected back to it: tagged with the c2s key, not s2c.
    reflected = frames(client.send(Heartbeat("WS")))[0]
    assert client.accept(reflected) is None
    assert cv[-1].kind == "mac"


def test_delay_past_the_maximum_age_is_dropped() -> None:
    clock = Clock()
    client, server, cv, _ = pair(LinkPolicy(KEYS, max_age_ms=500), clock)
    old = frames(server.send(Heartbeat("A")))[0]
    clock.now += 501
    assert client.accept(old) is None
    assert cv[-1].kind == "late"
    ahead = frames(server.send(Heartbeat("A")))[0]
    clock.now -= 2000
    assert client.accept(ahead) is None
    assert cv[-1].kind == "future"


def test_handshake_refusals_are_fatal() -> None:
    policy = LinkPolicy(KEYS)
    # A client without a key talks to a protected server.
    server = Connection(policy=policy, side="server", local_id="A")
    server.receive_data(Connection().send(Hello("WS", "dispatcher", "L", "d")))
    with pytest.raises(IntegrityError) as info:
        server.next_event()
    assert info.value.fatal and info.value.kind == "unauthenticated"
    # A client with another key.
    server = Connection(policy=policy, side="server", local_id="A")
    server.receive_data(
        Connection(policy=LinkPolicy(OTHER)).send(Hello("WS", "dispatcher", "L", "d"))
    )
    with pytest.raises(IntegrityError) as info:
        server.next_event()
    assert info.value.kind == "mac"
    # The wrong server: the HELLO names another destination.
    server = Connection(policy=policy, side="server", local_id="B")
    server.receive_data(
        Connection(policy=policy, expect_peer="A").send(Hello("WS", "dispatcher", "L", "d"))
    )
    with pytest.raises(IntegrityError) as info:
        server.next_event()
    assert info.value.kind == "destination"
    # Anything but HELLO first.
    server = Connection(policy=policy, side="server")
    server.receive_data(Connection().send(Heartbeat()))
    with pytest.raises(IntegrityError) as info:
        server.next_event()
    assert info.value.kind == "handshake"


def test_a_replayed_hello_is_refused_by_the_nonce_cache() -> None:
    policy = LinkPolicy(KEYS)
    nonces = NonceCache(5000)
    hello = Connection(policy=policy).send(Hello("WS", "dispatcher", "L", "d"))
    first = Connection(policy=policy, side="server", nonces=nonces)
    first.receive_data(hello)
    assert isinstance(first.next_event(), Hello)
    second = Connection(policy=policy, side="server", nonces=nonces)
    second.receive_data(hello)
    with pytest.raises(IntegrityError) as info:
        second.next_event()
    assert info.value.kind == "repeat"


def test_a_client_refuses_an_unprotected_or_foreign_server() -> None:
    policy = LinkPolicy(KEYS)
    client = Connection(policy=policy, expect_peer="A")
    client.send(Hello("WS", "dispatcher", "L", "d"))
    client.receive_data(Connection(side="server").send(Hello("A", "master", "L", "d")))
    with pytest.raises(IntegrityError) as info:
        client.next_event()
    assert info.value.kind == "unauthenticated"
    # A server with another key answers: its tag cannot match.
    client = Connection(policy=policy, expect_peer="A")
    other = Connection(policy=LinkPolicy(OTHER), side="server")
    other.receive_data(client.send(Hello("WS", "dispatcher", "L", "d")))
    with pytest.raises(IntegrityError):
        other.next_event()  # refused on the server's side already


def test_mac_key_is_hmac_sha256() -> None:
    key = b"k" * 40
    expected = hmac.digest(key, b"head" + b"body", "sha256")[:16]
    assert MacKey(key).tag(b"head", b"body") == expected
    long_key = b"L" * 100
    assert MacKey(long_key).tag(b"m") == hmac.digest(long_key, b"m", "sha256")[:16]


def test_the_session_keys_bind_both_hellos_and_nonces() -> None:
    a = derive_session(b"k" * 32, b"1" * 16, b"2" * 16, b"hello-c", b"hello-s")
    assert a != derive_session(b"k" * 32, b"1" * 16, b"2" * 16, b"hello-c2", b"hello-s")
    assert a != derive_session(b"k" * 32, b"1" * 16, b"3" * 16, b"hello-c", b"hello-s")
    assert len({a.c2s, a.s2c, a.udp}) == 3


def test_tagged_datagrams() -> None:
    rec = TrainStatus(7, 1, 3, "0301", 4, 5, 6, 0, 0, 1)
    key = bytes(32)
    data = encode_train_status(rec, key)
    assert len(data) == AUTH_RECORD_SIZE == 64
    assert decode_train_status(data, None, key) == rec
    with pytest.raises(IntegrityError) as info:
        decode_train_status(data, None, b"x" * 32)
    assert info.value.kind == "mac"
    with pytest.raises(IntegrityError) as info:
        decode_train_status(encode_train_status(rec), None, key)
    assert info.value.kind == "unauthenticated"
    with pytest.raises(IntegrityError):
        decode_train_status(data)  # tagged, and no key here
    assert len(encode_train_status(rec)) == RECORD_SIZE


@given(st.binary(max_size=80), st.booleans())
def test_datagram_decoder_never_crashes(data: bytes, keyed: bool) -> None:
    try:
        decode_train_status(data, None, bytes(32) if keyed else None)
    except RemoteProtocolError:
        pass


@given(st.lists(st.binary(max_size=120), max_size=8))
def test_protected_receiver_never_crashes_on_garbage(chunks: list[bytes]) -> None:
    client, _, _, _ = pair()
    for chunk in chunks:
        client.receive_data(chunk)
        try:
            client.next_event()
        except RemoteProtocolError:
            return


def test_monitor_trips_at_the_threshold_within_the_window() -> None:
    mon = IntegrityMonitor(threshold=3, window_ms=1000)
    assert not mon.record("mac", 0)
    assert not mon.record("mac", 500)
    assert not mon.record("late", 2000)  # the first two fell out of the window
    assert not mon.record("late", 2100)
    assert mon.record("gap", 2200)
    assert mon.total == 5 and mon.by_kind == {"mac": 2, "late": 2, "gap": 1}
    assert not mon.quiet_since(3000) and mon.quiet_since(3201)


def test_key_parsing() -> None:
    hex32 = "00" * 32
    assert parse_keys(hex32, "x").primary == ("k1", bytes(32))
    keys = parse_keys(f"# rotation\nk2 {'11' * 32}\nk1 {hex32}\n", "x")
    assert [kid for kid, _ in keys.keys] == ["k2", "k1"] and keys.get("k1") == bytes(32)
    assert parse_keys(f"k2:{'11' * 16},k1:{hex32}", "x").primary[0] == "k2"
    for bad, why in [
        ("", "no key"),
        ("zz" * 16, "not hexadecimal"),
        ("00" * 8, "at least 16"),
        (f"a b c {hex32}", "expected"),
        (f"k1 {hex32} driver", "highest role 'driver'"),
        (f"k1 {hex32}\nk1 {hex32}", "twice"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_keys(bad, "x")
    assert "00" not in repr(keys)


def test_a_key_may_carry_a_highest_role() -> None:
    keys = parse_keys(
        f"ws-obs {'22' * 32} observer\nws-1:{'33' * 32}:dispatcher\npair {'44' * 32}", "x"
    )
    assert keys.ceiling("ws-obs") == "observer" and keys.ceiling("pair") is None
    assert keys.allows("ws-obs", "observer") and not keys.allows("ws-obs", "dispatcher")
    assert keys.allows("ws-1", "dispatcher") and not keys.allows("ws-1", "supervisor")
    assert not keys.allows("ws-1", "master")  # a workstation key never makes a server
    assert keys.allows("pair", "master") and keys.allows("pair", "supervisor")
    with pytest.raises(ValueError, match="not given"):
        LinkKeys(keys.keys, (("nobody", "observer"),))


def test_the_server_refuses_a_role_above_the_keys_ceiling() -> None:
    server_keys = parse_keys(f"obs {'22' * 32} observer\nws {'33' * 32}", "server")
    observer_key = LinkPolicy(LinkKeys((("obs", bytes([0x22]) * 32),)))
    for role, accepted in [("observer", True), ("dispatcher", False), ("supervisor", False)]:
        server = Connection(policy=LinkPolicy(server_keys), side="server")
        server.receive_data(Connection(policy=observer_key).send(Hello("WS", role, "L", "d")))
        if accepted:
            assert isinstance(server.next_event(), Hello)
            continue
        with pytest.raises(IntegrityError) as info:
            server.next_event()
        assert info.value.fatal and info.value.kind == "role"
        assert "allows at most 'observer'" in str(info.value)
    # The unlimited key may still declare a dispatcher.
    server = Connection(policy=LinkPolicy(server_keys), side="server")
    ws_key = LinkPolicy(LinkKeys((("ws", bytes([0x33]) * 32),)))
    server.receive_data(Connection(policy=ws_key).send(Hello("WS", "dispatcher", "L", "d")))
    assert isinstance(server.next_event(), Hello)


@pytest.mark.skipif(os.name == "nt", reason="POSIX mode bits")
def test_key_files_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "link.key"
    path.write_text("k1 " + "ab" * 32 + "\n")
    path.chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        load_link_keys(file=str(path))
    path.chmod(0o600)
    keys = load_link_keys(file=str(path))
    assert keys is not None and keys.primary == ("k1", bytes([0xAB]) * 32)
    env = {"K": "k9:" + "cd" * 32}
    keys = load_link_keys(env="K", environ=env)
    assert keys is not None and keys.primary[0] == "k9"
    assert load_link_keys() is None
    with pytest.raises(SecretError, match="not set"):
        read_secret("x", env="MISSING", environ={})
    with pytest.raises(SecretError, match="cannot read"):
        load_link_keys(file=str(tmp_path / "none"))
