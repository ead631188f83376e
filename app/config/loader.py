"""Reading a YAML configuration file into declared types, with every error located.

(Past 500 lines on purpose: the walk along the declared types and the wording of
its errors are one piece; the declarations themselves are in workstation.py and
line.py.)

The settings are declared once, as frozen dataclasses whose annotations carry the
type, the default, the bounds and a description (``msgspec.Meta``);
``msgspec.convert`` turns a file's values into them and checks them. This module
does what msgspec cannot see:

1. :func:`compose` composes the text (``yaml.compose``) instead of loading it, so
   every node keeps its position; bad text (not UTF-8, a NUL, a lone surrogate) and
   YAML syntax errors are refused here.
2. :meth:`Document.read` walks the nodes along the declared type into plain data for
   msgspec (dicts in file order, lists, scalars) and keeps the node of every key
   path. On the way it notes the first problem msgspec cannot see: a key that is
   not a string, given twice or not declared (left out of the data), or a repeated
   key in a list declared unique (``unique("id")``); the keys of those lists are
   kept in :attr:`Document.ids` for the caller's checks.
3. msgspec converts the data. Its refusal names a path (``$.servers[0].port`` is the
   key path ``servers[0].port``): the node there gives file:line:column, the type
   declared there and the node give the words (``must be <= 65535, got 70000``).
   Whichever of the walk's problem and msgspec's refusal comes first in the file is
   raised as a :class:`ConfigError`. The caller's own checks (references, and the
   like) raise theirs with :meth:`Document.error`, at the recorded positions too.
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
import yaml
from msgspec import Meta
from msgspec import inspect as mi
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.config.errors import ConfigError
from app.wiretext import first_surrogate

T = TypeVar("T")

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

# -- the vocabulary of the declarations ---------------------------------------------

#: An identifier: letters, digits, ``_``, ``.`` and ``-``.
Id = Annotated[
    str,
    Meta(
        min_length=1, pattern=r"\A[A-Za-z0-9_.\-]+\Z", title="id (letters, digits, '_', '.', '-')"
    ),
]
#: A string that must not be empty.
Text = Annotated[str, Meta(min_length=1)]
#: A finite number greater than 0.
Positive = Annotated[float, Meta(gt=0)]


def unique(key: str) -> Meta:
    """Annotates a list whose items must differ in ``key`` (``"."``: the item itself)."""
    return Meta(extra={"unique": key})


# -- text and YAML -------------------------------------------------------------------


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


# -- the declared types, as msgspec sees them -------------------------------------------

_LISTS = (mi.VarTupleType, mi.ListType)


def _bare(t: mi.Type, node: Node | None = None) -> mi.Type:
    """``t`` without its metadata; of ``X | None``, the X (or None for a null node)."""
    t = _option(t, node)
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def _option(t: mi.Type, node: Node | None = None) -> mi.Type:
    """Of ``X | None``, the X (or the None for a null node), with its metadata."""
    union = t
    while isinstance(union, mi.Metadata):
        union = union.type
    if not isinstance(union, mi.UnionType):
        return t
    null = node is not None and _short_tag(node) == "null"
    return next(o for o in union.types if isinstance(_bare(o), mi.NoneType) == null)


def _fields(t: mi.DataclassType) -> dict[str, mi.Type]:
    """The keys of a class and their types, in the order the class declares them (msgspec
    lists the required ones first)."""
    types = {f.name: f.type for f in t.fields}
    return {f.name: types[f.name] for f in dataclasses.fields(t.cls)}


def _extra(t: mi.Type, key: str) -> Any:
    """The ``key`` of the metadata (``title`` and ``extra``) around ``t``, or None."""
    while isinstance(t, mi.Metadata):
        for found in (t.extra or {}, t.extra_json_schema or {}):
            if key in found:
                return found[key]
        t = t.type
    return None


def _expected(t: mi.Type) -> str:
    """What a type is called in ``expected ..., got ...``."""
    t = _bare(t)
    if isinstance(t, mi.EnumType):
        return "one of: " + _allowed(t)
    names = {
        mi.DataclassType: "a mapping",
        mi.VarTupleType: "a list",
        mi.ListType: "a list",
        mi.StrType: "string",
        mi.IntType: "integer",
        mi.FloatType: "number",
        mi.BoolType: "boolean",
        mi.CustomType: "string",  # an Address, a Path: read from a string
    }
    return names.get(type(t), "value")


def _allowed(t: mi.EnumType) -> str:
    return ", ".join(str(m.value) for m in t.cls)


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


class _Unreadable:
    """A node msgspec must refuse whatever the type: a tag or a kind nothing here reads
    (``!custom a``, a timestamp, ``!!int x``, a mapping where no mapping belongs)."""

    __slots__ = ()


class _NonFinite(_Unreadable):
    """``.inf`` or ``.nan``: refused where a number belongs, saying so."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


_UNREADABLE = _Unreadable()


def _scalar(node: Node) -> Any:
    """A scalar node's value: a string, a finite number, a boolean or None; anything
    else (a mapping or a list too) as a value msgspec refuses whatever the type."""
    tag = _short_tag(node)
    if not isinstance(node, ScalarNode):
        return _UNREADABLE
    try:
        if tag == "str":
            return str(node.value)
        if tag == "null":
            return None
        if tag == "bool":
            return _SAFE.construct_yaml_bool(node)
        if tag == "int":
            return _SAFE.construct_yaml_int(node)
        if tag == "float":
            number = _SAFE.construct_yaml_float(node)
            return number if math.isfinite(number) else _NonFinite(number)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, yaml.YAMLError):
        pass
    return _UNREADABLE


def _from_text(tp: type[Any], value: Any) -> Any:
    """msgspec's hook for the types it does not know (an ``Address``, a ``Path``): they
    are read from a non-empty string, by the type's ``parse`` if it has one."""
    if not isinstance(value, str):
        raise TypeError(f"Expected `str`, got `{type(value).__name__}`")
    if not value:
        raise ValueError("must not be empty")
    return getattr(tp, "parse", tp)(value)


def _key_of(item: Any, unique_key: str, item_type: mi.Type) -> str | None:
    """The key of a list item as read (``"."``: the item), or None if it has none.
    Two spellings of one address are one address: a custom type's key is its text."""
    key = item if unique_key == "." else item.get(unique_key) if type(item) is dict else None
    if not isinstance(key, str):
        return None
    item_type = _bare(item_type)
    if isinstance(item_type, mi.CustomType):
        try:
            return str(_from_text(item_type.cls, key))
        except (TypeError, ValueError):
            return None
    return key


def _problem(message: str, t: mi.Type, node: Node) -> str:
    """What is wrong with ``node`` as a ``t``, msgspec having said ``message``."""
    bare = _bare(t, node)
    value = _scalar(node)
    if isinstance(value, _NonFinite) and isinstance(bare, mi.FloatType):
        return f"must be a finite number, got {value.value}"
    if message == "Number out of range" and isinstance(bare, mi.FloatType):
        return "must be a finite number"
    if re.match(r"Expected `[^`]+`, got `", message):
        return f"expected {_expected(t)}, got {describe(node)}"
    if isinstance(bare, mi.IntType | mi.FloatType):
        number = float(value) if isinstance(bare, mi.FloatType) else value
        if bare.ge is not None and number < bare.ge:
            return f"must be >= {_num(bare.ge)}, got {_num(number)}"
        if bare.gt is not None and number <= bare.gt:
            return f"must be > {_num(bare.gt)}, got {_num(number)}"
        if bare.le is not None and number > bare.le:
            return f"must be <= {_num(bare.le)}, got {_num(number)}"
    if isinstance(bare, _LISTS) and isinstance(node, SequenceNode):
        count = len(node.value)
        if bare.min_length is not None and count < bare.min_length:
            return f"must have at least {bare.min_length} item(s), got {count}"
        return f"must have at most {bare.max_length} item(s), got {count}"
    if isinstance(bare, mi.StrType) and isinstance(value, str):
        if not value and bare.min_length:
            return "must not be empty"
        return f"invalid {_extra(_option(t, node), 'title') or 'string'} {value!r}"
    if isinstance(bare, mi.EnumType):
        return f"invalid value {value!r}; allowed values: {_allowed(bare)}"
    return message  # a conversion's own words (an address, a path)


class Document:
    """One composed YAML file, and the node of every key path read from it."""

    def __init__(self, file: str, root: Node) -> None:
        self.file = file
        self.root = root
        #: key path -> the node it was read from
        self.nodes: dict[str, Node] = {}
        #: unique list path -> key -> path of the list item holding it
        self.ids: dict[str, dict[str, str]] = {}
        # When the walk came to each key path (and to the end of each mapping), so that
        # its first problem and msgspec's first refusal are told in file order.
        self._steps = 0
        self._step: dict[str, int] = {}
        self._end: dict[str, int] = {}
        self._walk_problem: tuple[float, ConfigError] | None = None

    # -- errors ---------------------------------------------------------------

    def error(self, path: str, message: str, node: Node | None = None) -> ConfigError:
        """A ConfigError at ``node`` or, failing that, at the node read for ``path``."""
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        else:
            line, column = self.position(path)
        return ConfigError(self.file, line, column, path, message)

    def position(self, path: str) -> tuple[int, int]:
        """The 1-based (line, column) of ``path``, or of its nearest parent read."""
        probe = path
        while probe and probe not in self.nodes:
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        node = self.nodes.get(probe, self.root)
        return node.start_mark.line + 1, node.start_mark.column + 1

    def line_of(self, path: str) -> int:
        return self.position(path)[0]

    # -- reading --------------------------------------------------------------

    def read(self, tp: type[T]) -> T:
        """The whole document as a ``tp`` (a dataclass), or its first problem."""
        info = mi.type_info(tp)
        data = self._plain(self.root, info, "")
        first = self._walk_problem
        try:
            value: T = msgspec.convert(data, tp, dec_hook=_from_text)
        except msgspec.ValidationError as exc:
            refusal = self._refusal(str(exc), info)
            if first is None or refusal[0] < first[0]:
                first = refusal
        if first is not None:
            raise first[1]
        return value

    def _plain(self, node: Node, t: mi.Type, path: str) -> Any:
        """The node as plain data for msgspec, walked along its declared type ``t``."""
        self.nodes.setdefault(path, node)
        self._steps += 1
        self._step.setdefault(path, self._steps)
        unique_key = _extra(_option(t, node), "unique")
        t = _bare(t, node)
        tag = _short_tag(node)
        if isinstance(node, MappingNode) and tag == "map" and isinstance(t, mi.DataclassType):
            return self._mapping(node, t, path)
        if isinstance(node, SequenceNode) and tag == "seq" and isinstance(t, _LISTS):
            return self._list(node, t, path, unique_key)
        return _scalar(node)

    def _mapping(self, node: MappingNode, t: mi.DataclassType, path: str) -> dict[str, Any]:
        """A mapping's values read, its keys checked: strings, once each, declared. A key
        that is not is left out (msgspec never sees it) and its problem noted."""
        fields = _fields(t)
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            self._steps += 1
            key = str(key_node.value)
            key_path = join(path, key)
            if not isinstance(key_node, ScalarNode) or _short_tag(key_node) != "str":
                self._note(path, f"keys must be strings, got {describe(key_node)}", key_node)
            elif key in first_line:
                message = f"duplicate key {key!r} (first at line {first_line[key]})"
                self._note(key_path, message, key_node)
            elif key not in fields:
                allowed = ", ".join(fields) or "(none)"
                self._note(key_path, f"unknown key {key!r}; allowed keys: {allowed}", key_node)
            else:
                first_line[key] = key_node.start_mark.line + 1
                out[key] = self._plain(value_node, fields[key], key_path)
        self._end[path] = self._steps
        return out

    def _list(
        self,
        node: SequenceNode,
        t: mi.VarTupleType | mi.ListType,
        path: str,
        unique_key: str | None,
    ) -> list[Any]:
        """A list's items read; in a list declared unique, a repeated key noted."""
        out = []
        seen: dict[str, str] = {}
        for index, child in enumerate(node.value):
            item_path = join(path, index)
            item = self._plain(child, t.item_type, item_path)
            out.append(item)
            key = None if unique_key is None else _key_of(item, unique_key, t.item_type)
            if key is None or unique_key is None:
                continue  # no key, or not one: then msgspec refuses the item, before this
            self._steps += 1
            if key in seen:
                first = seen[key]
                what = "id" if unique_key == "id" else "value"
                message = f"duplicate {what} {key!r} (first at line {self.line_of(first)}, {first})"
                self._note(item_path if unique_key == "." else join(item_path, unique_key), message)
            else:
                seen[key] = item_path
        if unique_key is not None:
            self.ids[path] = seen
        return out

    def _note(self, path: str, message: str, node: Node | None = None) -> None:
        """Keep the first problem the walk finds; :meth:`read` reports it unless msgspec
        refuses something the walk came to before it."""
        if self._walk_problem is None:
            self._walk_problem = (self._steps, self.error(path, message, node))

    def _refusal(self, error: str, info: mi.Type) -> tuple[float, ConfigError]:
        """msgspec's refusal (``Expected `int` >= 1 - at `$.a[0].b```) as a ConfigError at
        the node of that key path, worded from the type declared there and the node; and
        when the walk came to it (a missing key: at the end of its mapping)."""
        message, _, where = error.partition(" - at `$")
        path = where.rstrip("`").lstrip(".")
        missing = re.fullmatch(r"Object missing required field `(.+)`", message)
        if missing:
            step = self._end.get(path, 0) + 0.5
            return step, self.error(path, f"missing required key {missing[1]!r}")
        t = info
        for name in re.findall(r"[^.\[\]]+|\[\d+\]", path):
            t = _bare(t)
            if isinstance(t, mi.DataclassType):
                t = _fields(t)[name]
            elif isinstance(t, _LISTS):
                t = t.item_type
        step = self._step.get(path, 0)
        node = self.nodes.get(path)
        if node is None:  # not expected: every path msgspec names was read
            return step, self.error(path, message)
        return step, self.error(path, _problem(message, t, node), node)
