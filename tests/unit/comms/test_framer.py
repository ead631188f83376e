"""RingFramer: frames cut in place out of a small ring, whatever the chunking and wrapping."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.comms.ring import RingBuffer, RingFramer
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    FRAME_OVERHEAD,
    HEADER_SIZE,
    NEED_DATA,
    Frame,
    FrameDecoder,
    MessageType,
    encode_frame,
    header_of,
)

MAX_TEST_PAYLOAD = 300


def as_received(f: Frame) -> Frame:
    """The frame as a decoder delivers it: a tagged one keeps its header bytes."""
    return f._replace(header=header_of(f)) if f.tag else f


frames_st = st.builds(
    Frame,
    type=st.sampled_from(list(MessageType)),
    seq=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=MAX_TEST_PAYLOAD),
    timestamp_ms=st.integers(0, 2**64 - 1),
    flags=st.integers(0, 0xFFFF),
    tag=st.binary(max_size=16),
    header=st.just(b""),
).map(as_received)


def encode(f: Frame) -> bytes:
    return encode_frame(
        f.type, f.seq, f.payload, timestamp_ms=f.timestamp_ms, tag=f.tag, flags=f.flags
    )


def pull(framer: RingFramer, out: list[Frame] | None = None) -> list[Frame]:
    """next_frame until NEED_DATA; frames go into ``out`` as they come (kept if it raises)."""
    out = [] if out is None else out
    while (ev := framer.next_frame()) is not NEED_DATA:
        assert isinstance(ev, Frame)
        out.append(ev)
    return out


def feed(ring: RingBuffer, data: bytes) -> None:
    assert ring.write(data) == len(data)


@settings(max_examples=300)
@given(st.lists(frames_st, min_size=1, max_size=10), st.integers(0, 8), st.booleans(), st.data())
def test_any_chunking_through_a_small_ring_gives_the_same_frames(
    frames: list[Frame], slack: int, use_drain: bool, data: st.DataObject
) -> None:
    encoded = [encode(f) for f in frames]
    stream = b"".join(encoded)
    ring = RingBuffer(max(len(e) for e in encoded) + slack)
    framer = RingFramer(ring)
    got: list[Frame] = []
    pos = 0
    while pos < len(stream):
        view = ring.get_buffer(-1)  # never raises: a partial frame is smaller than the ring
        n = min(len(view), len(stream) - pos, data.draw(st.integers(1, 97)))
        view[:n] = stream[pos : pos + n]
        ring.buffer_updated(n)
        pos += n
        if use_drain:
            framer.drain(got.append)
        else:
            got += pull(framer)
    assert got == frames
    assert ring.readable == 0
    assert framer.frames_decoded == len(frames)
    assert ring.capacity == max(len(e) for e in encoded) + slack


@pytest.mark.parametrize("use_drain", [False, True])
def test_a_frame_wrapping_the_physical_end_at_every_position(use_drain: bool) -> None:
    target = as_received(Frame(MessageType.DELTA, 7, b'{"wrapped": true}', 123, 0, b"tag!"))
    data = encode(target)
    cap = len(data) + 5
    for filler_payload in range(cap - FRAME_OVERHEAD):
        filler = Frame(MessageType.HEARTBEAT, 6, b"f" * filler_payload)
        first = encode(filler)
        ring = RingBuffer(cap)
        framer = RingFramer(ring)
        got: list[Frame] = []
        # The filler and the target's first byte; the filler goes, the target then wraps.
        feed(ring, first + data[:1])
        got += pull(framer)
        assert got == [filler]
        assert ring.physical(0) == len(first)
        feed(ring, data[1:])
        if use_drain:
            framer.drain(got.append)
        else:
            got += pull(framer)
        assert got == [filler, target], filler_payload
        assert ring.readable == 0


def test_oversize_frames_are_refused_from_the_header() -> None:
    big = encode_frame(MessageType.SNAPSHOT, 0, b"x" * 500)
    ring = RingBuffer(400)
    framer = RingFramer(ring)
    feed(ring, big[:HEADER_SIZE])
    with pytest.raises(RemoteProtocolError, match="can never fit") as info:
        framer.next_frame()
    assert info.value.where == "header.length"
    # And beyond the payload limit, before the ring rule.
    ring = RingBuffer(4096)
    framer = RingFramer(ring, max_payload=100)
    feed(ring, big[:HEADER_SIZE])
    with pytest.raises(RemoteProtocolError, match="exceeds the maximum") as info:
        framer.drain(lambda f: None)
    assert info.value.where == "header.length"


@pytest.mark.parametrize("use_drain", [False, True])
def test_bad_crc_breaks_the_framer_for_good(use_drain: bool) -> None:
    good = encode_frame(MessageType.HEARTBEAT, 0, b"{}")
    bad = bytearray(encode_frame(MessageType.HELLO, 1, b'{"a":1}'))
    bad[HEADER_SIZE] ^= 0x01
    ring = RingBuffer(256)
    framer = RingFramer(ring)
    feed(ring, good + bad + good)
    got: list[Frame] = []
    with pytest.raises(RemoteProtocolError, match="CRC mismatch") as info:
        if use_drain:
            framer.drain(got.append)
        else:
            pull(framer, got)
    assert info.value.where == "trailer.crc"
    assert [f.seq for f in got] == [0]
    assert framer.broken is info.value
    with pytest.raises(RemoteProtocolError):
        framer.next_frame()
    with pytest.raises(RemoteProtocolError):
        framer.drain(got.append)
    assert len(got) == 1


@settings(max_examples=200)
@given(
    st.lists(frames_st, max_size=3),
    st.binary(min_size=1, max_size=64).filter(lambda b: b[0] != ord("M")),
    st.lists(frames_st, min_size=1, max_size=3),
    st.booleans(),
)
def test_garbage_between_frames_is_an_error_and_nothing_after_it_is_delivered(
    before: list[Frame], garbage: bytes, after: list[Frame], use_drain: bool
) -> None:
    stream = b"".join(encode(f) for f in before) + garbage + b"".join(encode(f) for f in after)
    ring = RingBuffer(4096)
    framer = RingFramer(ring)
    feed(ring, stream)
    got: list[Frame] = []
    with pytest.raises(RemoteProtocolError) as info:
        if use_drain:
            framer.drain(got.append)
        else:
            pull(framer, got)
    assert info.value.where.startswith("header")
    assert got == before
    with pytest.raises(RemoteProtocolError):
        framer.next_frame()


@settings(max_examples=300)
@given(
    st.lists(st.one_of(frames_st.map(encode), st.binary(max_size=40)), max_size=6),
    st.lists(st.integers(1, 200), min_size=1, max_size=20),
    st.integers(0, 20_000),
    st.integers(0, 255),
)
def test_same_verdicts_as_the_frame_decoder(
    pieces: list[bytes], chunks: list[int], flip_at: int, xor: int
) -> None:
    """On any bytes (frames, garbage, a flipped byte) the ring framer agrees with FrameDecoder."""
    stream = bytearray(b"".join(pieces))
    if stream:
        stream[flip_at % len(stream)] ^= xor

    def run(
        feed_chunk: Callable[[bytes], None], step: Callable[[], list[Frame]]
    ) -> tuple[list[Frame], str | None]:
        out: list[Frame] = []
        pos = 0
        i = 0
        try:
            while pos < len(stream):
                n = chunks[i % len(chunks)]
                i += 1
                feed_chunk(bytes(stream[pos : pos + n]))
                pos += n
                out += step()
        except RemoteProtocolError as exc:
            return out, exc.where
        return out, None

    decoder = FrameDecoder(max_payload=MAX_TEST_PAYLOAD + 100)

    def decode_step() -> list[Frame]:
        got = []
        while (ev := decoder.next_event()) is not NEED_DATA:
            assert isinstance(ev, Frame)
            got.append(ev)
        return got

    # The ring holds the largest frame the limits allow (payload + 64-byte tag + overhead).
    ring = RingBuffer(MAX_TEST_PAYLOAD + 100 + 64 + FRAME_OVERHEAD)
    framer = RingFramer(ring, max_payload=MAX_TEST_PAYLOAD + 100)

    def ring_feed(chunk: bytes) -> None:
        # Feed what fits; a ring full of a valid partial frame cannot happen by the capacity rule.
        taken = ring.write(chunk)
        assert taken == len(chunk)

    def ring_step() -> list[Frame]:
        got: list[Frame] = []
        framer.drain(got.append)
        return got

    assert run(ring_feed, ring_step) == run(decoder.receive_data, decode_step)
