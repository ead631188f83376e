from __future__ import annotations

import zlib

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


consist_records = st.builds(
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
    st.integers(1, 65535),
    st.integers(0, 3),
    st.integers(4, 255),
)


@given(consist_records)
def test_consist_fields_round_trip(rec: TrainStatus) -> None:
    assert decode_train_status(encode_train_status(rec)) == rec
    assert rec.consist_fields() == (rec.consist, rec.unit_index, rec.unit_count)


def test_zero_consist_fields_mean_a_unit_alone() -> None:
    """What an older peer sends: the reserved bytes as zeros."""
    rec = decode_train_status(encode_train_status(TrainStatus(1, 2, 7, "0701", 4, 5, 6, 0, 0, 1)))
    assert (rec.consist, rec.unit_index, rec.unit_count) == (0, 0, 0)
    assert rec.consist_fields() == (7, 0, 1)


@pytest.mark.parametrize(
    ("consist", "index", "count", "where"),
    [
        (3, 0, 0, "datagram.unit_count"),
        (0, 1, 0, "datagram.unit_count"),
        (0, 0, 2, "datagram.consist"),
        (3, 2, 2, "datagram.unit_index"),
    ],
)
def test_bad_consist_fields_are_refused_naming_the_field(
    consist: int, index: int, count: int, where: str
) -> None:
    data = encode_train_status(
        TrainStatus(1, 2, 7, "0701", 4, 5, 6, 0, 0, 1, consist, index, count)
    )
    with pytest.raises(RemoteProtocolError) as info:
        decode_train_status(data)
    assert info.value.where == where


@pytest.mark.parametrize(
    "number",
    [b"01\xed\xa0\x80\0\0\0", b"\xed\xbf\xbf0101", b"\xc0\xaf0101\0\0", "乙01".encode()],
    ids=["surrogate-bytes", "surrogate-bytes-first", "overlong", "utf-8-not-ascii"],
)
def test_a_train_number_that_is_not_ascii_is_refused(number: bytes) -> None:
    """The only text in a datagram: strict ASCII, so it can never hold a lone surrogate."""
    body = bytearray(encode_train_status(TrainStatus(1, 2, 7, "0701", 4, 5, 6, 0, 0, 1))[:44])
    body[18:26] = number.ljust(8, b"\0")
    data = bytes(body) + zlib.crc32(body).to_bytes(4, "big")
    with pytest.raises(RemoteProtocolError, match="train number is not ASCII") as info:
        decode_train_status(data)
    assert info.value.where == "datagram.number"
