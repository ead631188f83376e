from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.commands import Command, CommandOp, CommandResult, Outcome
from app.model.state import (
    Aspect,
    RouteState,
    RouteStatus,
    SectionState,
    SignalState,
    StateDelta,
    StateSnapshot,
    SwitchPosition,
    SwitchState,
    TrainState,
)
from app.model.topology import Direction
from app.protocol import NEED_DATA, Frame, MessageType, RemoteProtocolError, encode_frame
from app.protocol.connection import Connection
from app.protocol.messages import Heartbeat, Hello, SnapshotRequest, decode_message, encode_message

ids = st.text("ABCDXU0123456789_", min_size=1, max_size=8)
sections = st.builds(
    SectionState, ids, st.booleans(), st.text(max_size=5), st.booleans(), st.integers(0, 2**40)
)
switches = st.builds(
    SwitchState,
    ids,
    st.sampled_from(SwitchPosition),
    st.text(max_size=5),
    st.booleans(),
    st.integers(0, 2**40),
    locked=st.booleans(),
)
signals = st.builds(
    SignalState, ids, st.sampled_from(Aspect), st.integers(0, 2**40), closed=st.booleans()
)
routes = st.builds(RouteState, ids, st.sampled_from(RouteStatus), st.integers(0, 2**40))
trains = st.builds(
    TrainState,
    st.integers(0, 65535),
    st.text(max_size=8),
    ids,
    st.floats(0, 5000),
    st.floats(0, 120),
    st.sampled_from(Direction),
    since_ms=st.integers(0, 2**40),
    held=st.booleans(),
)
messages = st.one_of(
    st.builds(Hello, st.text(), st.text(), st.text(), st.text(), st.integers(0, 9)),
    st.builds(Heartbeat, st.text(), st.sampled_from(["master", "standby"]), st.integers(0, 99)),
    st.builds(
        StateSnapshot,
        st.integers(0, 2**40),
        st.tuples(sections),
        st.tuples(switches),
        st.tuples(signals),
        st.tuples(routes),
        st.tuples(trains),
    ),
    st.builds(
        StateDelta,
        st.integers(0, 2**40),
        st.tuples(sections),
        st.tuples(switches),
        st.tuples(signals),
        trains=st.tuples(trains),
        routes_released=st.tuples(ids),
        trains_removed=st.tuples(st.integers(0, 999)),
    ),
    st.builds(Command, st.text(), ids, st.sampled_from(CommandOp), st.text(), st.text()),
    st.builds(
        CommandResult,
        st.text(),
        ids,
        st.sampled_from(CommandOp),
        st.sampled_from(Outcome),
        st.text(),
        st.text(),
    ),
    st.builds(SnapshotRequest, st.text()),
)


@given(st.lists(messages, max_size=5))
def test_round_trip_through_a_connection_pair(msgs: list[object]) -> None:
    a, b = Connection(), Connection()
    for m in msgs:
        b.receive_data(a.send(m))  # type: ignore[arg-type]
    got = []
    while (ev := b.next_event()) is not NEED_DATA:
        got.append(ev)
    assert got == msgs


def frame(mtype: MessageType, body: object) -> Frame:
    return Frame(mtype, 0, json.dumps(body).encode())


def test_wrong_type_names_the_field() -> None:
    snap = {"seq": 1, "sections": [{"id": "A", "occupied": "yes"}]}
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(frame(MessageType.SNAPSHOT, snap))
    assert info.value.where == "SNAPSHOT.sections[0].occupied"
    assert "expected bool, got str" in str(info.value)


def test_missing_field_and_bad_enum() -> None:
    with pytest.raises(RemoteProtocolError, match=r"HELLO\.role: missing field"):
        decode_message(frame(MessageType.HELLO, {"node": "x"}))
    cmd = {"command_id": "1", "device": "W1", "op": "explode", "dispatcher": "d", "role": "r"}
    with pytest.raises(RemoteProtocolError, match="'explode' is not one of"):
        decode_message(frame(MessageType.COMMAND, cmd))


def test_not_json() -> None:
    with pytest.raises(RemoteProtocolError, match=r"DELTA: not UTF-8: byte 0xFF at offset 0"):
        decode_message(Frame(MessageType.DELTA, 0, b"\xff{"))


def test_a_number_past_a_floats_range_is_a_remote_error() -> None:
    """An integer written out past 1.8e308 raised OverflowError out of the decoder."""
    train = {"id": 1, "number": "0101", "section": "S1", "offset_m": 1, "direction": "down"}
    body = json.dumps({"seq": 1, "trains": [train | {"speed_kmh": 1}]})
    body = body.replace('"speed_kmh": 1', '"speed_kmh": 1' + "0" * 400)
    with pytest.raises(RemoteProtocolError, match="number out of range"):
        decode_message(Frame(MessageType.DELTA, 0, body.encode()))


def test_sequence_jump_is_refused() -> None:
    conn = Connection()
    _, payload = encode_message(Heartbeat())
    conn.receive_data(encode_frame(MessageType.HEARTBEAT, 0, payload))
    conn.receive_data(encode_frame(MessageType.HEARTBEAT, 2, payload))
    assert conn.next_event() == Heartbeat()
    with pytest.raises(RemoteProtocolError, match="frame sequence 2, expected 1"):
        conn.next_event()


@settings(max_examples=400)
@given(
    st.sampled_from(list(MessageType)),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda kids: (
            st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=6)
        ),
        max_leaves=20,
    ),
)
def test_any_json_payload_decodes_or_raises_remote_error(mtype: MessageType, body: object) -> None:
    try:
        decode_message(frame(mtype, body))
    except RemoteProtocolError:
        pass


@settings(max_examples=300)
@given(st.sampled_from(list(MessageType)), st.binary(max_size=200))
def test_any_bytes_payload_decodes_or_raises_remote_error(mtype: MessageType, raw: bytes) -> None:
    try:
        decode_message(Frame(mtype, 0, raw))
    except RemoteProtocolError:
        pass


def test_the_dispatcher_locks_travel_in_records() -> None:
    snap = StateSnapshot(
        seq=4,
        switches=(SwitchState("W1", locked=True),),
        signals=(SignalState("S1", closed=True),),
        trains=(TrainState(7, "0701", "A", 1.0, 0.0, Direction.UP, held=True),),
    )
    mtype, payload = encode_message(snap)
    body = json.loads(payload)
    assert body["switches"][0]["locked"] is True
    assert body["signals"][0]["closed"] is True
    assert body["trains"][0]["held"] is True
    assert decode_message(Frame(mtype, 0, payload)) == snap


def test_records_of_an_older_peer_without_the_new_fields_decode() -> None:
    snap = {
        "seq": 1,
        "switches": [{"id": "W1", "position": "reverse", "route": "", "blocked": False}],
        "signals": [{"id": "S1", "aspect": "stop"}],
        "trains": [
            {
                "id": 7,
                "number": "0701",
                "section": "A",
                "offset_m": 1.0,
                "speed_kmh": 0.0,
                "direction": "up",
            }
        ],
    }
    got = decode_message(frame(MessageType.SNAPSHOT, snap))
    assert isinstance(got, StateSnapshot)
    assert not got.switches[0].locked and not got.signals[0].closed and not got.trains[0].held


@pytest.mark.parametrize(
    ("kind", "record", "where"),
    [
        ("switches", {"id": "W1", "locked": 1}, "SNAPSHOT.switches[0].locked"),
        ("signals", {"id": "S1", "closed": "yes"}, "SNAPSHOT.signals[0].closed"),
        (
            "trains",
            {
                "id": 7,
                "number": "0701",
                "section": "A",
                "offset_m": 1.0,
                "speed_kmh": 0.0,
                "direction": "up",
                "held": None,
            },
            "SNAPSHOT.trains[0].held",
        ),
    ],
)
def test_the_new_flags_are_strict_bools(kind: str, record: object, where: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(frame(MessageType.SNAPSHOT, {"seq": 1, kind: [record]}))
    assert info.value.where == where
    assert "expected bool" in str(info.value)


@pytest.mark.parametrize(
    "op",
    [
        "lock_switch",
        "unlock_switch",
        "close_signal",
        "reopen_signal",
        "hold_train",
        "release_train",
    ],
)
def test_the_new_operations_decode(op: str) -> None:
    cmd = {"command_id": "1", "device": "train:7", "op": op, "dispatcher": "d", "role": "r"}
    got = decode_message(frame(MessageType.COMMAND, cmd))
    assert isinstance(got, Command) and got.op is CommandOp(op)


# -- text from the wire (issue 16, defect 7) ---------------------------------------------

HELLO_BODY = '{"node":"A%s","role":"master","line_id":"L","line_digest":"d"}'


@pytest.mark.parametrize(
    ("payload", "where", "detail"),
    [
        pytest.param(
            (HELLO_BODY % "\\ud800").encode(),
            "HELLO.node",
            "text holds a lone surrogate U+D800 at character 1",
            id="escape",
        ),
        pytest.param(
            (HELLO_BODY % "\\udc00\\ud800").encode(),
            "HELLO.node",
            "lone surrogate U+DC00",
            id="escape-pair-reversed",
        ),
        pytest.param(
            b'{"node\\udfff":1,"role":"master","line_id":"L","line_digest":"d"}',
            "HELLO",
            "a key holds a lone surrogate",
            id="escape-in-a-key",
        ),
        pytest.param(
            (HELLO_BODY % "").encode().replace(b'"A"', b'"A\xed\xa0\x80"'),
            "HELLO",
            "not UTF-8: byte 0xED at offset 10",
            id="raw-bytes",
        ),
        pytest.param(
            (HELLO_BODY % "").encode().replace(b'"A"', b'"A\xc0\xaf"'),
            "HELLO",
            "not UTF-8: byte 0xC0 at offset 10",
            id="overlong",
        ),
        pytest.param(
            (HELLO_BODY % "").encode("utf-16"),
            "HELLO",
            "not UTF-8: byte 0xFF at offset 0",
            id="utf-16",
        ),
        pytest.param((HELLO_BODY % "").encode("utf-16-be"), "HELLO", "not JSON", id="utf-16-be"),
        pytest.param((HELLO_BODY % "").encode("utf-32-le"), "HELLO", "not JSON", id="utf-32-le"),
    ],
)
def test_text_no_encoder_can_write_is_refused_saying_what_and_where(
    payload: bytes, where: str, detail: str
) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(Frame(MessageType.HELLO, 0, payload))
    assert info.value.where == where
    assert detail in info.value.message
    str(info.value).encode("utf-8")  # the refusal itself can be logged


def test_a_connection_refuses_a_lone_surrogate_as_a_bad_frame() -> None:
    conn = Connection()
    conn.receive_data(encode_frame(MessageType.HELLO, 0, (HELLO_BODY % "\\ud800").encode()))
    with pytest.raises(RemoteProtocolError, match=r"HELLO\.node: text holds a lone surrogate"):
        conn.next_event()


def test_good_text_still_decodes_whole() -> None:
    """A surrogate *pair* escape is one character; non-ASCII text passes untouched."""
    for body, node in [
        (HELLO_BODY % "\\ud83d\\ude00", "A\U0001f600"),
        (HELLO_BODY % "道岔\u202e", "A道岔\u202e"),
    ]:
        msg = decode_message(Frame(MessageType.HELLO, 0, body.encode()))
        assert isinstance(msg, Hello) and msg.node == node
        msg.node.encode("utf-8")


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        (b'"x":"\xff"', "not UTF-8: byte 0xFF"),
        (b'"x":["\\udc00"]', "lone surrogate U+DC00"),
        (b'"x":1' + b"0" * 5000, "not JSON: ValueError"),
        (b'"x":[NaN]', "not JSON"),
    ],
)
def test_a_key_the_decoder_ignores_is_still_strict_text(extra: bytes, detail: str) -> None:
    """msgspec checks UTF-8 only in the strings it keeps and skips a number of any
    length in a key it ignores: such a payload is refused all the same."""
    body = (HELLO_BODY % "").encode()
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(Frame(MessageType.HELLO, 0, body[:-1] + b"," + extra + b"}"))
    assert info.value.where.startswith("HELLO") and detail in str(info.value)
    assert decode_message(Frame(MessageType.HELLO, 0, body[:-1] + b',"x":"ok"}')) == Hello(
        "A", "master", "L", "d"
    )
