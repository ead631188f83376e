"""Text from the wire, checked once at the boundary: strict UTF-8, no lone surrogates.

Python's ``json.loads`` is lenient in two ways that let bad text through to the
places that print it: given ``bytes`` it also accepts UTF-16 and UTF-32, and
the escape ``"\\ud800"`` makes a ``str`` holding a lone surrogate, which no
encoder can write. Such a string passes decoding, then raises
``UnicodeEncodeError`` later, in the console, a log handler, or a file, far
from the record that carried it. Every decoder of JSON from outside (frames,
Kafka records, ISCS messages) goes through :func:`decode_json`, and every
other text from outside (YAML, UDP) is checked with :func:`check_text`, so a
record with bad text is refused as malformed, with where, and counted by its
caller like any other bad input.

Standard library only: every layer may use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["WireTextError", "check_text", "decode_json", "first_surrogate"]

#: Strict UTF-8 holds no surrogate, so one can only come from a ``\uD800``..``\uDFFF``
#: escape: without such text the walk is skipped (it costs a quarter of a decode).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class WireTextError(ValueError):
    """Bytes that are not strict UTF-8 JSON, or a string that no encoder can write.

    ``where`` names the place in the document (``payload.text_en``), ``detail`` what
    was wrong; ``str(err)`` is both.
    """

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


def first_surrogate(text: str) -> int:
    """The index of the first lone surrogate in ``text``, or -1 when it has none."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return -1


def check_text(value: Any, where: str) -> None:
    """Raise :class:`WireTextError` if any string in ``value`` (keys too) holds a lone
    surrogate; ``value`` is what ``json.loads`` or ``yaml`` gives (dicts, lists, scalars)."""
    stack: list[tuple[Any, str]] = [(value, where)]  # iterative: any depth
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            at = first_surrogate(item)
            if at >= 0:
                raise WireTextError(
                    path, f"text holds a lone surrogate U+{ord(item[at]):04X} at character {at}"
                )
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = str(key)
                if isinstance(key, str) and first_surrogate(key) >= 0:
                    raise WireTextError(path, f"a key holds a lone surrogate ({key!r})")
                stack.append((sub, f"{path}.{name}"))
        elif isinstance(item, list | tuple):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))


def decode_json(data: bytes | bytearray | memoryview, where: str) -> Any:
    """A JSON document from bytes that must be strict UTF-8, with every string writable.

    Raises :class:`WireTextError` (a ``ValueError``) saying where and what:
    invalid UTF-8 (the offset of the bad byte), invalid JSON (line and column;
    ``NaN`` and ``Infinity`` are not JSON; a document nested past the parser's
    recursion limit), or a lone surrogate.
    """
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireTextError(
            where, f"not UTF-8: byte 0x{exc.object[exc.start]:02X} at offset {exc.start}"
        ) from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise WireTextError(
            where, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (RecursionError, ValueError) as exc:
        # RecursionError: nested too deeply for the parser; ValueError: an integer
        # too long to convert (sys.set_int_max_str_digits).
        raise WireTextError(where, f"not JSON: {type(exc).__name__}: {exc}") from None
    if _SURROGATE_ESCAPE.search(text):
        check_text(value, where)
    return value
