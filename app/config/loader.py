"""A small, table-driven YAML-to-typed-object walker that reports precise locations.

The text is *composed* (``yaml.compose``), not loaded, so every node keeps its
position. A schema is a tree of :class:`Spec` objects: scalars (:class:`Str`,
:class:`Int`, :class:`Num`, :class:`Bool`, :class:`Choice`), :class:`Nullable`,
:class:`ListOf` and :class:`Obj` (a mapping described by a table of :class:`Field`).
One walker (:meth:`Document.read`) turns a node into values following the schema and
raises :class:`ConfigError` at the first problem. While walking it records the
position of every value it read under its key path, so the semantic checks that run
afterwards can report dangling references and the like at the right line too.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.config.errors import ConfigError
from app.wiretext import first_surrogate

_TAG = "tag:yaml.org,2002:"
#: Byte order marks of UTF-16 and UTF-32 (LE: FF FE, FF FE 00 00; BE: FE FF, 00 00 FE FF).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_SAFE = SafeConstructor()
_TYPE_NAMES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "null": "null",
    "timestamp": "timestamp",
    "binary": "binary",
}


def join(path: str, key: str | int) -> str:
    """Extend a key path: ``line`` + ``routes`` -> ``line.routes``, + 3 -> ``line.routes[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _short_tag(node: Node) -> str:
    tag = str(node.tag)
    return tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def describe(node: Node) -> str:
    """How a node reads in an error message: ``a mapping``, ``integer '12'``..."""
    tag = _short_tag(node)
    if isinstance(node, MappingNode):
        return "a mapping" if tag == "map" else f"a mapping tagged {tag}"
    if isinstance(node, SequenceNode):
        return "a list" if tag == "seq" else f"a list tagged {tag}"
    if tag == "null":
        return "null"
    name = _TYPE_NAMES.get(tag, f"value tagged {tag}")
    text = str(node.value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{name} {text!r}"


class Document:
    """One composed YAML file and the positions of every value read from it."""

    def __init__(self, file: str, root: Node) -> None:
        self.file = file
        self.root = root
        #: key path -> (line, column), both 1-based
        self.marks: dict[str, tuple[int, int]] = {}
        #: list path -> unique key -> path of the list item holding it
        self.ids: dict[str, dict[str, str]] = {}

    # -- errors ---------------------------------------------------------------

    def error(self, path: str, message: str, node: Node | None = None) -> ConfigError:
        """A ConfigError at ``node`` or, failing that, at the value recorded for ``path``."""
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        else:
            line, column = self.position(path)
        return ConfigError(self.file, line, column, path, message)

    def position(self, path: str) -> tuple[int, int]:
        """The recorded position of ``path``, or of its nearest recorded parent."""
        probe = path
        while probe:
            if probe in self.marks:
                return self.marks[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.marks.get("", (1, 1))

    def line_of(self, path: str) -> int:
        return self.position(path)[0]

    # -- walking --------------------------------------------------------------

    def read(self, spec: Spec, node: Node, path: str) -> Any:
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        return spec.read(self, node, path)

    def scalar(self, node: Node, path: str, tags: tuple[str, ...], expected: str) -> Any:
        """The Python value of a scalar node whose tag is one of ``tags``."""
        if not isinstance(node, ScalarNode) or _short_tag(node) not in tags:
            raise self.error(path, f"expected {expected}, got {describe(node)}", node)
        tag = _short_tag(node)
        try:
            if tag == "int":
                return _SAFE.construct_yaml_int(node)
            if tag == "float":
                return _SAFE.construct_yaml_float(node)
            if tag == "bool":
                return _SAFE.construct_yaml_bool(node)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, yaml.YAMLError):
            raise self.error(path, f"expected {expected}, got {describe(node)}", node) from None
        return str(node.value)


# -- specs ---------------------------------------------------------------------


class Spec:
    """How to read one value; ``expected`` names it in type errors."""

    expected = "value"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Spec):
    """A string; optionally it must match ``pattern`` (the whole string)."""

    pattern: str | None = None
    what: str = "string"
    allow_empty: bool = False
    expected = "string"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        value: str = doc.scalar(node, path, ("str",), "string")
        if not value and not self.allow_empty:
            raise doc.error(path, "must not be empty", node)
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise doc.error(path, f"invalid {self.what} {value!r}", node)
        return value


#: Identifiers: letters, digits, ``_``, ``.`` and ``-``.
ID = Str(pattern=r"[A-Za-z0-9_.\-]+", what="id (letters, digits, '_', '.', '-')")


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_range(
    doc: Document,
    node: Node,
    path: str,
    value: float,
    low: float | None,
    low_open: bool,
    high: float | None,
) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise doc.error(path, f"must be a finite number, got {value}", node)
    if low is not None and (value <= low if low_open else value < low):
        sign = ">" if low_open else ">="
        raise doc.error(path, f"must be {sign} {_num(low)}, got {_num(value)}", node)
    if high is not None and value > high:
        raise doc.error(path, f"must be <= {_num(high)}, got {_num(value)}", node)


@dataclass(frozen=True)
class Int(Spec):
    low: int | None = None
    high: int | None = None
    expected = "integer"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        value: int = doc.scalar(node, path, ("int",), "integer")
        _check_range(doc, node, path, value, self.low, False, self.high)
        return value


@dataclass(frozen=True)
class Num(Spec):
    """A finite number (an integer is accepted); ``low_open`` makes ``low`` exclusive."""

    low: float | None = None
    low_open: bool = False
    high: float | None = None
    expected = "number"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        raw = doc.scalar(node, path, ("int", "float"), "number")
        try:
            value = float(raw)
        except OverflowError:
            raise doc.error(path, "must be a finite number", node) from None
        _check_range(doc, node, path, value, self.low, self.low_open, self.high)
        return value


POSITIVE = Num(low=0, low_open=True)
COORD = Num()


@dataclass(frozen=True)
class Bool(Spec):
    expected = "boolean"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        return doc.scalar(node, path, ("bool",), "boolean")


@dataclass(frozen=True)
class Choice(Spec):
    """A string naming one member of a string-valued enum."""

    enum: type[Enum]

    @property
    def allowed(self) -> str:
        return ", ".join(str(m.value) for m in self.enum)

    def read(self, doc: Document, node: Node, path: str) -> Any:
        value = doc.scalar(node, path, ("str",), f"one of: {self.allowed}")
        for member in self.enum:
            if member.value == value:
                return member
        raise doc.error(path, f"invalid value {value!r}; allowed values: {self.allowed}", node)


@dataclass(frozen=True)
class Nullable(Spec):
    """``inner`` or ``null`` (read as None)."""

    inner: Spec

    def read(self, doc: Document, node: Node, path: str) -> Any:
        if isinstance(node, ScalarNode) and _short_tag(node) == "null":
            return None
        return self.inner.read(doc, node, path)


@dataclass(frozen=True)
class Convert(Spec):
    """Read ``inner`` and pass it through ``convert``; a ValueError becomes a ConfigError."""

    inner: Spec
    convert: Callable[[Any], Any]

    def read(self, doc: Document, node: Node, path: str) -> Any:
        value = self.inner.read(doc, node, path)
        try:
            return self.convert(value)
        except ValueError as exc:
            raise doc.error(path, str(exc), node) from None


@dataclass(frozen=True)
class ListOf(Spec):
    """A list, read into a tuple.

    ``unique`` names the item field that must be unique across the list (``"."``:
    the item itself); the walker then records ``doc.ids[path][key] = item path``.
    """

    item: Spec
    unique: str | None = None
    min_len: int = 0
    max_len: int | None = None
    expected = "a list"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        if not isinstance(node, SequenceNode) or _short_tag(node) != "seq":
            raise doc.error(path, f"expected a list, got {describe(node)}", node)
        count = len(node.value)
        if count < self.min_len:
            raise doc.error(path, f"must have at least {self.min_len} item(s), got {count}", node)
        if self.max_len is not None and count > self.max_len:
            raise doc.error(path, f"must have at most {self.max_len} item(s), got {count}", node)
        seen = doc.ids.setdefault(path, {}) if self.unique else {}
        out = []
        for index, child in enumerate(node.value):
            item_path = join(path, index)
            item = doc.read(self.item, child, item_path)
            if self.unique:
                if self.unique == ".":
                    key, key_path = str(item), item_path
                else:
                    field = (
                        item[self.unique] if isinstance(item, dict) else getattr(item, self.unique)
                    )
                    key, key_path = str(field), join(item_path, self.unique)
                if key in seen:
                    first = seen[key]
                    raise doc.error(
                        key_path,
                        f"duplicate {'id' if self.unique == 'id' else 'value'} {key!r} "
                        f"(first at line {doc.line_of(first)}, {first})",
                    )
                seen[key] = item_path
            out.append(item)
        return tuple(out)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Field:
    spec: Spec
    default: Any = REQUIRED


@dataclass(frozen=True)
class Obj(Spec):
    """A mapping with a fixed set of keys, built into an object by ``build(values)``.

    Keys are read in file order: a duplicate or unknown key, or a bad value, is
    reported where it stands; missing required keys are reported at the mapping.
    """

    fields: Mapping[str, Field]
    build: Callable[[dict[str, Any]], Any] = dict
    expected = "a mapping"

    def read(self, doc: Document, node: Node, path: str) -> Any:
        if not isinstance(node, MappingNode) or _short_tag(node) != "map":
            raise doc.error(path, f"expected a mapping, got {describe(node)}", node)
        values: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or _short_tag(key_node) != "str":
                raise doc.error(path, f"keys must be strings, got {describe(key_node)}", key_node)
            key = str(key_node.value)
            key_path = join(path, key)
            if key in first_line:
                raise doc.error(
                    key_path, f"duplicate key {key!r} (first at line {first_line[key]})", key_node
                )
            first_line[key] = key_node.start_mark.line + 1
            if key not in self.fields:
                allowed = ", ".join(self.fields) or "(none)"
                raise doc.error(key_path, f"unknown key {key!r}; allowed keys: {allowed}", key_node)
            values[key] = doc.read(self.fields[key].spec, value_node, key_path)
        for name, spec in self.fields.items():
            if name not in values:
                if spec.default is REQUIRED:
                    raise doc.error(path, f"missing required key {name!r}", node)
                values[name] = spec.default
        return self.build(values)


# -- entry points --------------------------------------------------------------


def read_text(path: str | Path) -> str:
    """The file's text (UTF-8, optional BOM), or a ConfigError saying why not and where."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(file, 1, 1, "", f"cannot read file: {exc.strerror or exc}") from None
    # The BOM is cut by hand: "utf-8-sig" reports error offsets from after it.
    body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = body.rfind(b"\n", 0, exc.start) + 1
        line = body.count(b"\n", 0, exc.start) + 1
        # Columns count characters, as YAML's marks do; the bytes before the bad one decode.
        column = len(body[start : exc.start].decode("utf-8")) + 1
        hint = " (a UTF-16 or UTF-32 file? save it as UTF-8)" if raw.startswith(_WIDE_BOMS) else ""
        raise ConfigError(
            file, line, column, "", f"file is not valid UTF-8: byte 0x{body[exc.start]:02X}{hint}"
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        # UTF-16/32 text without a byte order mark is valid UTF-8 full of NULs.
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise ConfigError(
            file, line, column, "", "file holds a NUL byte: not UTF-8 text (UTF-16 or UTF-32?)"
        )
    return text


def _surrogate_error(file: str, root: Node) -> ConfigError | None:
    """The first string (value or key, in file order) holding a lone surrogate, as a
    ConfigError, or None.

    PyYAML turns the escapes ``"\\ud800"`` and ``"\\U0000DC00"`` in double-quoted scalars
    into lone surrogates (a pair of escapes too: it does not join them), which no
    encoder can write: refused here, before any key path or message is built from them.
    """
    stack: list[tuple[Node, str, bool]] = [(root, "", False)]  # node, path, is a key
    seen: set[int] = set()
    while stack:
        node, path, is_key = stack.pop()
        if id(node) in seen:
            continue  # an alias: its node was (or will be) checked once
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            text = str(node.value)
            at = first_surrogate(text)
            if at >= 0:
                what = f"{'a key' if is_key else 'text'} holds a lone surrogate"
                shown = f" ({text!r})" if is_key else ""  # the path cannot name a bad key
                mark = node.start_mark
                return ConfigError(
                    file,
                    mark.line + 1,
                    mark.column + 1,
                    path,
                    f"{what} U+{ord(text[at]):04X} at character {at}{shown}",
                )
        elif isinstance(node, SequenceNode):
            items = [(child, join(path, i), False) for i, child in enumerate(node.value)]
            stack.extend(reversed(items))  # popped in file order
        elif isinstance(node, MappingNode):
            items = []
            for key_node, value_node in node.value:
                # A key is popped (and checked) before the value whose path names it.
                scalar_key = isinstance(key_node, ScalarNode)
                items.append((key_node, path, scalar_key))
                key = str(key_node.value) if scalar_key else "?"
                items.append((value_node, join(path, key), False))
            stack.extend(reversed(items))
    return None


def compose(text: str, file: str) -> Document:
    """Compose ``text`` into a :class:`Document`; YAML syntax errors become ConfigError."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = ": ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ConfigError(file, line, column, "", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = int(getattr(exc, "position", 0))
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = str(getattr(exc, "reason", "")) or "unreadable text"
        raise ConfigError(file, line, column, "", f"YAML syntax error: {reason}") from None
    except RecursionError:
        raise ConfigError(file, 1, 1, "", "YAML syntax error: nesting too deep") from None
    if root is None:
        raise ConfigError(file, 1, 1, "", "the file is empty")
    bad = _surrogate_error(file, root)
    if bad is not None:
        raise bad
    return Document(file, root)


def top_key(doc: Document) -> str | None:
    """The first top-level key of the document, if its top level is a mapping."""
    root = doc.root
    if isinstance(root, MappingNode) and root.value:
        key = root.value[0][0]
        if isinstance(key, ScalarNode) and _short_tag(key) == "str":
            return str(key.value)
    return None


def read_document(doc: Document, key: str, spec: Spec) -> Any:
    """Read a document whose top level is the mapping ``{key: <spec>}``."""
    holder = Obj({key: Field(spec)}, build=lambda values: values[key])
    try:
        return doc.read(holder, doc.root, "")
    except RecursionError:
        raise doc.error("", "nesting too deep") from None
