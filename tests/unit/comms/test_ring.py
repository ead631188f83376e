"""The receive ring: fixed memory, contiguous lending, wrap-around, full ring."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.comms.ring import DEFAULT_CAPACITY, RingBuffer, RingFramer, RingFull, ring_capacity_for
from app.protocol.frames import MAX_FRAME_SIZE, MAX_PAYLOAD


def put(ring: RingBuffer, data: bytes) -> None:
    view = ring.get_buffer(-1)
    assert len(view) >= len(data)
    view[: len(data)] = data
    ring.buffer_updated(len(data))


def test_capacity_rule_holds_the_largest_frame() -> None:
    assert ring_capacity_for(MAX_PAYLOAD) == DEFAULT_CAPACITY
    assert DEFAULT_CAPACITY >= MAX_FRAME_SIZE
    assert DEFAULT_CAPACITY % 65536 == 0
    assert ring_capacity_for(100) == 65536


def test_lends_up_to_the_physical_end_then_wraps() -> None:
    ring = RingBuffer(16)
    assert len(ring.get_buffer(-1)) == 16
    put(ring, b"abcdefghij")  # 10 bytes at 0..9
    assert len(ring.get_buffer(-1)) == 6
    ring.consume(8)  # "ij" left at 8..9
    assert ring.readable == 2
    assert ring.free == 14
    assert len(ring.get_buffer(-1)) == 6  # 10..15: contiguous up to the physical end
    put(ring, b"KLMNOP")
    assert len(ring.get_buffer(-1)) == 8  # then 0..7, up to the data's start
    put(ring, b"qrs")
    assert ring.readable == 11
    assert ring.read_bytes(0, 11) == b"ijKLMNOPqrs"
    first, second = ring.segments(0, 11)
    assert (bytes(first), bytes(second)) == (b"ijKLMNOP", b"qrs")
    assert ring.byte_at(8) == ord("q")
    assert ring.physical(8) == 0
    scratch = bytearray(11)
    ring.copy_into(0, 11, scratch)
    assert scratch == b"ijKLMNOPqrs"


def test_an_empty_ring_rewinds_to_the_physical_start() -> None:
    ring = RingBuffer(16)
    put(ring, b"x" * 12)
    ring.consume(12)
    assert len(ring.get_buffer(-1)) == 16


def test_full_ring_raises_and_never_grows() -> None:
    ring = RingBuffer(8)
    memory = ring.memory
    put(ring, b"12345678")
    assert ring.free == 0
    with pytest.raises(RingFull):
        ring.get_buffer(-1)
    assert ring.capacity == 8
    assert ring.memory is memory
    # The ring's own view pins the bytearray: nothing can resize it.
    backing = memory.obj
    assert isinstance(backing, bytearray)
    with pytest.raises(BufferError):
        backing.extend(b"more")
    assert ring.write(b"zz") == 0


def test_misuse_is_refused() -> None:
    ring = RingBuffer(8)
    with pytest.raises(ValueError):
        ring.buffer_updated(1)  # nothing was lent
    view = ring.get_buffer(-1)
    with pytest.raises(ValueError):
        ring.buffer_updated(len(view) + 1)
    with pytest.raises(ValueError):
        ring.consume(1)
    with pytest.raises(IndexError):
        ring.segments(0, 1)
    with pytest.raises(ValueError):
        RingBuffer(0)
    with pytest.raises(ValueError, match="cannot hold even an empty frame"):
        RingFramer(RingBuffer(27))


@settings(max_examples=300)
@given(st.integers(1, 64), st.data())
def test_random_writes_and_reads_match_a_model(capacity: int, data: st.DataObject) -> None:
    """get_buffer is never empty while space is free, and bytes come out as they went in."""
    ring = RingBuffer(capacity)
    memory = ring.memory
    model = bytearray()
    counter = 0
    for _ in range(data.draw(st.integers(1, 60))):
        if data.draw(st.booleans()):
            if ring.free == 0:
                with pytest.raises(RingFull):
                    ring.get_buffer(-1)
                continue
            view = ring.get_buffer(-1)
            assert 0 < len(view) <= ring.free
            n = data.draw(st.integers(0, len(view)))
            chunk = bytes((counter + i) & 0xFF for i in range(n))
            counter += n
            view[:n] = chunk
            ring.buffer_updated(n)
            model += chunk
        else:
            n = data.draw(st.integers(0, ring.readable))
            assert ring.read_bytes(0, n) == bytes(model[:n])
            ring.consume(n)
            del model[:n]
        assert ring.readable == len(model)
        assert ring.free == capacity - len(model)
        assert ring.read_bytes(0, len(model)) == bytes(model)
    assert ring.memory is memory
    assert len(memory) == capacity
