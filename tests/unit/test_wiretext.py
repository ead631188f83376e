"""Strict text at the boundary: UTF-8 only, no lone surrogates, errors that say where."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.wiretext import WireTextError, check_text, decode_json, first_surrogate


def test_good_json_passes() -> None:
    assert decode_json('{"a": ["ü", "站"], "b": 1}'.encode(), "rec") == {"a": ["ü", "站"], "b": 1}


@pytest.mark.parametrize(
    ("data", "where", "detail"),
    [
        (b'{"text_en": "\\ud800"}', "rec.text_en", "lone surrogate U+D800 at character 0"),
        (b'{"a": ["x", "ab\\udfff"]}', "rec.a[1]", "lone surrogate U+DFFF at character 2"),
        (b'{"\\ud800": 1}', "rec", "a key holds a lone surrogate"),
        (b'{"t": "\xed\xa0\x80"}', "rec", "not UTF-8: byte 0xED at offset 7"),
        ('{"t": "x"}'.encode("utf-16"), "rec", "not UTF-8"),
        ('{"t": "x"}'.encode("utf-32-le"), "rec", "not JSON"),
        (b'{"t": ', "rec", "not JSON: Expecting value at line 1 column 7"),
        (b"[" * 100_000, "rec", "not JSON"),
        (b'{"speed": NaN}', "rec", "not JSON: ValueError: NaN is not a JSON number"),
        (b"[-Infinity]", "rec", "not JSON: ValueError: -Infinity is not a JSON number"),
    ],
)
def test_bad_text_is_refused_saying_where(data: bytes, where: str, detail: str) -> None:
    with pytest.raises(WireTextError) as err:
        decode_json(data, "rec")
    assert err.value.where == where
    assert detail in err.value.detail
    assert isinstance(err.value, ValueError)  # callers that catch ValueError still do


def test_deep_documents_are_walked_without_recursion() -> None:
    deep = b"[" * 500 + b'"\\udc00"' + b"]" * 500
    with pytest.raises(WireTextError, match="lone surrogate U\\+DC00"):
        decode_json(deep, "rec")


def test_check_text_walks_yaml_like_values() -> None:
    check_text({"a": [1, 2.5, None, True, "ok"], 3: "x"}, "cfg")
    with pytest.raises(WireTextError, match=r"cfg\.a\[1\]: text holds a lone surrogate"):
        check_text({"a": ["ok", "\udc80"]}, "cfg")
    assert first_surrogate("ab\ud800") == 2
    assert first_surrogate("站") == -1


@given(st.text())
def test_whatever_decodes_can_be_written(text: str) -> None:
    data = json.dumps({"t": text}).encode()  # ensure_ascii: surrogates become escapes
    try:
        value = decode_json(data, "rec")
    except WireTextError:
        assert first_surrogate(text) >= 0
    else:
        value["t"].encode("utf-8")
        assert value["t"] == text


@given(st.binary(max_size=200))
def test_any_bytes_either_decode_or_raise_the_one_error(data: bytes) -> None:
    try:
        decode_json(data, "rec")
    except WireTextError:
        pass
