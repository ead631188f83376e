"""ISCS hand-off messages and the bounded outbox (pure parts of the hand-off)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from app.protocol.frames import MessageType


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
        decode(kind, body)
    except IscsMessageError as exc:
        assert str(exc).startswith("iscs")


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
