from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.protocol import LocalProtocolError, RemoteProtocolError
from app.protocol.udp import RECORD_SIZE, TrainStatus, decode_train_status, encode_train_status

records = st.builds(
    TrainStatus,
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(0, 65535),
    st.text("0123456789ABC", max_size=8),
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.integers(0, 65535),
    st.integers(0, 1),
    st.integers(0, 3),
    st.integers(0, 2),
)


@given(records)
def test_round_trip_in_place(rec: TrainStatus) -> None:
    data = encode_train_status(rec)
    assert len(data) == RECORD_SIZE == 48
    buf = bytearray(2048)
    buf[:RECORD_SIZE] = data
    assert decode_train_status(memoryview(buf), RECORD_SIZE) == rec


def test_wrong_length_and_crc() -> None:
    data = encode_train_status(TrainStatus(1, 2, 3, "0101", 4, 5, 6, 0, 0, 1))
    with pytest.raises(RemoteProtocolError, match="datagram of 47 bytes"):
        decode_train_status(data[:-1])
    bad = bytearray(data)
    bad[20] ^= 0xFF
    with pytest.raises(RemoteProtocolError, match="CRC mismatch"):
        decode_train_status(bad)


def test_cannot_encode_a_long_number() -> None:
    with pytest.raises(LocalProtocolError):
        encode_train_status(TrainStatus(1, 2, 3, "123456789", 4, 5, 6, 0, 0, 1))


@settings(max_examples=500)
@given(st.binary(min_size=RECORD_SIZE, max_size=RECORD_SIZE) | st.binary(max_size=100))
def test_garbage_only_raises_remote_protocol_error(data: bytes) -> None:
    try:
        decode_train_status(data)
    except RemoteProtocolError:
        pass
