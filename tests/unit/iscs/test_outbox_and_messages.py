"""ISCS hand-off messages and the bounded outbox (pure parts of the hand-off)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.iscs.connection import IscsConnection
from app.iscs.messages import (
    MAX_BODY,
    Handoff,
    HandoffAck,
    HandoffKind,
    IscsHello,
    IscsMessageError,
    decode,
    encode,
)
from app.iscs.outbox import Outbox
from app.protocol.frames import MessageType, encode_frame


def h(n: int, kind: HandoffKind = HandoffKind.SHOW_DEVICE) -> Handoff:
    return Handoff(f"h{n}", kind, station="S01", device=f"W{n}", dispatcher="d1", created_ms=n)


@pytest.mark.parametrize(
    "msg",
    [IscsHello("s3cr3t", "iscs-stub"), HandoffAck("h1"), h(1), h(2, HandoffKind.SHOW_ALARM)],
)
def test_round_trip(msg: IscsHello | HandoffAck | Handoff) -> None:
    kind, body = encode(msg)
    assert decode(kind, body) == msg


@pytest.mark.parametrize(
    ("kind", "body", "error"),
    [
        (MessageType.ISCS_HANDOFF, b"{no", "iscs: not JSON"),
        (MessageType.ISCS_HANDOFF, b"[]", "iscs: expected an object"),
        (MessageType.ISCS_ACK, b'{"v": 2, "id": "x"}', "iscs.v: unknown version 2"),
        (MessageType.ISCS_ACK, b'{"v": 1}', "iscs.id: missing"),
        (MessageType.ISCS_HANDOFF, b'{"v": 1, "id": "x", "kind": "reboot"}', "iscs.kind: unknown"),
        (MessageType.ISCS_HELLO, b'{"v": 1, "secret": "", "program": ""}', "iscs.secret: must"),
        (MessageType.HELLO, b'{"v": 1}', "HELLO is not an ISCS message"),
        (MessageType.ISCS_ACK, b'{"v": true, "id": "x"}', "iscs.v: unknown version True"),
    ],
)
def test_bad_messages_say_what_and_where(kind: MessageType, body: bytes, error: str) -> None:
    with pytest.raises(IscsMessageError) as caught:
        decode(kind, body)
    assert error in str(caught.value)


def test_oversize_is_refused() -> None:
    body = json.dumps({"v": 1, "id": "x" * (MAX_BODY + 1)}).encode()
    with pytest.raises(IscsMessageError, match="exceeds"):
        decode(MessageType.ISCS_ACK, body)


@given(st.sampled_from(list(MessageType)), st.binary(max_size=300))
def test_fuzz_decode_only_raises_its_own_error(kind: MessageType, body: bytes) -> None:
    try:
        msg = decode(kind, body)
    except IscsMessageError as exc:
        assert str(exc).startswith("iscs")
        str(exc).encode("utf-8")
    else:
        for value in asdict(msg).values():
            str(value).encode("utf-8")  # what it decodes can be printed


ACK = '{"v":1,"id":"h%s"}'


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(
            (ACK % "\\ud800").encode(),
            "iscs.id: text holds a lone surrogate U+D800 at character 1",
            id="escape",
        ),
        pytest.param(
            b'{"v":1,"id":"h","\\udfff":0}', "iscs: a key holds a lone surrogate", id="escape-key"
        ),
        pytest.param(
            (ACK % "").encode().replace(b'"h"', b'"h\xed\xa0\x80"'),
            "iscs: not UTF-8: byte 0xED at offset 14",
            id="raw-bytes-ED-A0-80",
        ),
        pytest.param(
            (ACK % "").encode().replace(b'"h"', b'"h\xed\xbf\xbf"'),
            "iscs: not UTF-8: byte 0xED at offset 14",
            id="raw-bytes-ED-BF-BF",
        ),
        pytest.param(
            (ACK % "").encode().replace(b'"h"', b'"h\xc0\xaf"'),
            "iscs: not UTF-8: byte 0xC0",
            id="overlong",
        ),
        pytest.param((ACK % "").encode("utf-16"), "iscs: not UTF-8: byte 0xFF", id="utf-16"),
        pytest.param((ACK % "").encode("utf-16-le"), "iscs: not JSON", id="utf-16-le"),
        pytest.param((ACK % "").encode("utf-32"), "iscs: not UTF-8: byte 0xFF", id="utf-32"),
        pytest.param((ACK % "").encode("utf-32-be"), "iscs: not JSON", id="utf-32-be"),
    ],
)
def test_text_no_encoder_can_write_is_refused_saying_what_and_where(
    body: bytes, error: str
) -> None:
    with pytest.raises(IscsMessageError) as caught:
        decode(MessageType.ISCS_ACK, body)
    assert error in str(caught.value)
    str(caught.value).encode("utf-8")  # the refusal itself can be logged


def test_the_channel_refuses_a_lone_surrogate_naming_the_message() -> None:
    hmi = IscsConnection("iscs")
    hmi.receive_data(encode_frame(MessageType.ISCS_ACK, 0, (ACK % "\\ud800").encode()))
    with pytest.raises(IscsMessageError, match=r"iscs#0\.id: text holds a lone surrogate"):
        hmi.next_message()
    sender, program = IscsConnection("iscs"), IscsConnection("hmi")
    good = Handoff("h1", HandoffKind.SHOW_STATION, station="\u4e59\U0001f600", dispatcher="d")
    program.receive_data(sender.send(good))
    assert program.next_message() == good  # non-ASCII text is kept whole


def test_outbox_keeps_until_acked_and_sends_again_after_a_rewind() -> None:
    box = Outbox()
    for n in range(3):
        box.put(h(n))
    assert [x.id for x in box.unsent()] == ["h0", "h1", "h2"]
    for x in box.unsent():
        box.mark_sent(x.id)
    assert box.unsent() == []  # already written on this connection
    assert box.acked("h1") is not None and box.acked("h1") is None
    box.rewind()  # reconnected, or the program was relaunched
    assert [x.id for x in box.unsent()] == ["h0", "h2"]
    box.put(h(0))  # the same id again: nothing new
    assert len(box) == 2


def test_a_full_outbox_replaces_the_oldest_of_the_same_kind() -> None:
    box = Outbox(capacity=3)
    box.put(h(1, HandoffKind.SHOW_STATION))
    box.put(h(2, HandoffKind.SHOW_DEVICE))
    box.put(h(3, HandoffKind.SHOW_STATION))
    result = box.put(h(4, HandoffKind.SHOW_STATION))
    assert result.superseded is not None and result.superseded.id == "h1"
    result = box.put(h(5, HandoffKind.SHOW_ALARM))  # no alarm queued: the oldest goes
    assert result.superseded is not None and result.superseded.id == "h2"
    assert [x.id for x in box.pending()] == ["h3", "h4", "h5"]
    assert box.dropped == 2 and len(box) == 3
