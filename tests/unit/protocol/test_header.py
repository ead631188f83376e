"""parse_header on any buffer, and Connection.accept for frames cut elsewhere."""

from __future__ import annotations

import struct

import pytest

from app.protocol.connection import Connection
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    HEADER_SIZE,
    NEED_DATA,
    Frame,
    FrameDecoder,
    Header,
    MessageType,
    check_crc,
    encode_frame,
    message_type,
    parse_header,
)
from app.protocol.messages import Heartbeat, SnapshotRequest


def test_parse_header_on_bytes_bytearray_and_memoryview_at_an_offset() -> None:
    frame = encode_frame(MessageType.DELTA, 41, b"{}", timestamp_ms=99, tag=b"ab", flags=3)
    buf = bytearray(b"junk" + frame)
    expected = Header(1, int(MessageType.DELTA), 3, 2, 41, 99, 2)
    for source in (bytes(buf), buf, memoryview(buf)):
        head = parse_header(source, 4)
        assert head == expected
    assert expected.frame_size == len(frame)
    assert expected.body_size == len(frame) - 4


def test_short_buffers_need_data_but_a_wrong_magic_is_refused_at_once() -> None:
    frame = encode_frame(MessageType.HELLO, 0, b"{}")
    for n in range(HEADER_SIZE):
        assert parse_header(frame[:n]) is NEED_DATA
        assert parse_header(frame, 0, n) is NEED_DATA
    for prefix in (b"X", b"MX"):
        with pytest.raises(RemoteProtocolError, match="bad magic") as info:
            parse_header(prefix)
        assert info.value.where == "header"


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ((b"MX", 1, 2, 0, 0, 0, 0, 2), "header.magic"),
        ((b"MH", 2, 2, 0, 0, 0, 0, 2), "header.version"),
        ((b"MH", 1, 2, 0, 0, 0, 0, 5000), "header.length"),
        ((b"MH", 1, 2, 0, 65, 0, 0, 2), "header.tag"),
    ],
)
def test_header_errors_name_the_field(fields: tuple[object, ...], where: str) -> None:
    head = struct.pack(">2sBBHHIQI", *fields)
    with pytest.raises(RemoteProtocolError) as info:
        parse_header(head, max_payload=4096)
    assert info.value.where == where
    # The decoder gives the same verdict.
    dec = FrameDecoder(max_payload=4096)
    dec.receive_data(head)
    with pytest.raises(RemoteProtocolError) as again:
        dec.next_event()
    assert again.value.where == where


def test_type_and_crc_helpers() -> None:
    assert message_type(3) is MessageType.SNAPSHOT
    with pytest.raises(RemoteProtocolError) as info:
        message_type(99)
    assert info.value.where == "header.type"
    check_crc(5, 5)
    with pytest.raises(RemoteProtocolError) as info:
        check_crc(5, 6)
    assert info.value.where == "trailer.crc"


def test_accept_checks_the_sequence_like_next_event() -> None:
    sender = Connection()
    frames = []
    for msg in (Heartbeat(node="a"), SnapshotRequest("b"), Heartbeat(node="c")):
        data = sender.send(msg)
        dec = FrameDecoder()
        dec.receive_data(data)
        frame = dec.next_event()
        assert isinstance(frame, Frame)
        frames.append(frame)
    receiver = Connection()
    assert receiver.accept(frames[0]) == Heartbeat(node="a")
    with pytest.raises(RemoteProtocolError) as info:
        receiver.accept(frames[2])
    assert info.value.where == "header.seq"
    assert receiver.accept(frames[1]) == SnapshotRequest("b")
    assert receiver.frames_received == 2
