from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.protocol import (
    HEADER_SIZE,
    NEED_DATA,
    Frame,
    FrameDecoder,
    LocalProtocolError,
    MessageType,
    RemoteProtocolError,
    encode_frame,
)
from app.protocol.frames import header_of


def as_received(f: Frame) -> Frame:
    """The frame as a decoder delivers it: a tagged one keeps its header bytes."""
    return f._replace(header=header_of(f)) if f.tag else f


frames_st = st.builds(
    Frame,
    type=st.sampled_from(list(MessageType)),
    seq=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=300),
    timestamp_ms=st.integers(0, 2**63),
    flags=st.integers(0, 0xFFFF),
    tag=st.binary(max_size=16),
    header=st.just(b""),
).map(as_received)


def encode(f: Frame) -> bytes:
    return encode_frame(
        f.type, f.seq, f.payload, timestamp_ms=f.timestamp_ms, tag=f.tag, flags=f.flags
    )


def drain(dec: FrameDecoder) -> list[Frame]:
    out = []
    while (ev := dec.next_event()) is not NEED_DATA:
        assert isinstance(ev, Frame)
        out.append(ev)
    return out


@given(st.lists(frames_st, max_size=8), st.data())
def test_any_split_of_a_stream_gives_the_same_frames(
    frames: list[Frame], data: st.DataObject
) -> None:
    stream = b"".join(encode(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    dec = FrameDecoder()
    got: list[Frame] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        dec.receive_data(stream[prev:cut])
        prev = cut
        got += drain(dec)
    assert got == frames
    assert dec.buffered == 0


def test_byte_by_byte() -> None:
    frames = [Frame(MessageType.HEARTBEAT, i, b"{}") for i in range(5)]
    dec = FrameDecoder()
    got = []
    for byte in b"".join(encode(f) for f in frames):
        dec.receive_data(bytes([byte]))
        got += drain(dec)
    assert got == frames


def test_bad_crc_is_named() -> None:
    data = bytearray(encode_frame(MessageType.HELLO, 0, b'{"a":1}'))
    data[HEADER_SIZE] ^= 0x01
    dec = FrameDecoder()
    dec.receive_data(data)
    with pytest.raises(RemoteProtocolError, match="CRC mismatch") as info:
        dec.next_event()
    assert info.value.where == "trailer.crc"
    # The stream cannot be trusted any more: the decoder stays broken.
    with pytest.raises(RemoteProtocolError):
        dec.next_event()


def test_oversize_length_refused_before_the_payload_arrives() -> None:
    head = struct.pack(">2sBBHHIQI", b"MH", 1, 2, 0, 0, 0, 0, 50_000_000)
    dec = FrameDecoder()
    dec.receive_data(head)
    with pytest.raises(RemoteProtocolError, match="exceeds the maximum") as info:
        dec.next_event()
    assert info.value.where == "header.length"


def test_wrong_magic_refused_at_first_byte() -> None:
    dec = FrameDecoder()
    dec.receive_data(b"G")
    with pytest.raises(RemoteProtocolError, match="bad magic"):
        dec.next_event()


def test_unknown_type_and_version() -> None:
    for mutate, where in (
        (lambda b: b.__setitem__(3, 99), "header.type"),
        (lambda b: b.__setitem__(2, 7), "header.version"),
    ):
        data = bytearray(encode_frame(MessageType.HELLO, 0, b"{}"))
        mutate(data)
        body = bytes(data[:-4])
        data[-4:] = struct.pack(">I", zlib.crc32(body))
        dec = FrameDecoder()
        dec.receive_data(data)
        with pytest.raises(RemoteProtocolError) as info:
            dec.next_event()
        assert info.value.where == where


def test_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(MessageType.HELLO, -1, b"")
    with pytest.raises(LocalProtocolError):
        encode_frame(MessageType.HELLO, 0, b"x" * (1 << 21))
    with pytest.raises(LocalProtocolError, match="flags"):
        encode_frame(MessageType.HELLO, 0, b"", flags=-1)
    with pytest.raises(LocalProtocolError, match="timestamp"):
        encode_frame(MessageType.HELLO, 0, b"", timestamp_ms=1 << 64)


@settings(max_examples=500)
@given(st.binary(max_size=400))
def test_garbage_only_ever_raises_remote_protocol_error(data: bytes) -> None:
    dec = FrameDecoder()
    dec.receive_data(data)
    try:
        drain(dec)
    except RemoteProtocolError:
        pass


@settings(max_examples=300)
@given(st.lists(frames_st, min_size=1, max_size=3), st.integers(0, 10_000), st.integers(1, 255))
def test_a_flipped_byte_never_passes_silently(frames: list[Frame], pos: int, xor: int) -> None:
    stream = bytearray(b"".join(encode(f) for f in frames))
    pos %= len(stream)
    stream[pos] ^= xor
    dec = FrameDecoder()
    dec.receive_data(stream)
    try:
        got = drain(dec)
    except RemoteProtocolError:
        return
    # CRC-32 catches every single-byte error: a corrupted stream never decodes fully.
    assert got != frames
