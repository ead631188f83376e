"""Reading YAML into the declared types: one test per kind of error, with its exact location."""

from __future__ import annotations

import dataclasses
import pickle
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec import Meta

from app.config import ConfigError, load_line, parse_line, parse_workstation
from app.config.loader import Id, Text, compose, unique

VALID = """\
line:
  id: T1
  name_zh: 测试线
  name_en: Test Line
  train: {cars: 4, length_m: 80, max_speed_kmh: 60}
  stations:
    - {id: S1, name_zh: 甲站, name_en: Jia, km: 0, x: 100}
    - {id: S2, name_zh: 乙站, name_en: Yi, km: 1.2, x: 200}
  platforms:
    - {id: P1D, station: S1, direction: down, section: PD1}
    - {id: P2D, station: S2, direction: down, section: PD2}
  sections:
    - {id: PD1, kind: main, length_m: 140, x0: 85, x1: 115, y0: 0, y1: 0, station: S1}
    - {id: D12, kind: main, length_m: 900, x0: 115, x1: 170, y0: 0, y1: 0}
    - {id: DX, kind: main, length_m: 60, x0: 170, x1: 185, y0: 0, y1: 0}
    - {id: PD2, kind: main, length_m: 140, x0: 185, x1: 215, y0: 0, y1: 0, station: S2}
    - {id: SD, kind: depot, length_m: 200, x0: 185, x1: 215, y0: -20, y1: -20}
  links:
    - {a: PD1, b: D12}
    - {a: D12, b: DX}
  switches:
    - {id: W1, zone: Z1, root: DX, normal: PD2, reverse: SD, x: 185, y: 0}
  signals:
    - {id: XPD1, zone: Z1, section: PD1, direction: down, x: 115, y: 0}
    - {id: XD12, zone: Z1, section: D12, direction: down, x: 170, y: 0}
    - {id: XPD2, zone: Z1, section: PD2, direction: down, x: 215, y: 0}
    - {id: XSD, zone: Z1, section: SD, direction: down, x: 215, y: -20}
  routes:
    - {id: R1, entry: XPD1, exit: XD12, sections: [D12]}
    - {id: R2, entry: XD12, exit: XPD2, sections: [DX, PD2],
       switches: [{switch: W1, position: normal}]}
    - {id: R3, entry: XD12, exit: XSD, sections: [DX, SD],
       switches: [{switch: W1, position: reverse}]}
  zones:
    - id: Z1
      name_zh: 全线
      name_en: Whole line
      stations: [S1, S2]
      switches: [W1]
      signals: [XPD1, XD12, XPD2, XSD]
"""


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def fail(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "line.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_line(path)
    err = info.value
    assert err.file == str(path)
    return err


def mutate(old: str, new: str, count: int = 1) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, count)


def test_valid_sample_loads() -> None:
    line = parse_line(VALID)
    assert [s.id for s in line.sections] == ["PD1", "D12", "DX", "PD2", "SD"]
    assert line.station_by_id["S2"].platforms == ("P2D",)
    assert line.timezone == "Asia/Shanghai"


def test_error_text_format() -> None:
    err = ConfigError("a.yaml", 3, 7, "line.routes[3].switches[0].switch", "boom")
    assert str(err) == "a.yaml:3:7: line.routes[3].switches[0].switch: boom"
    assert (err.file, err.line, err.column, err.message) == ("a.yaml", 3, 7, "boom")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)
    assert ConfigError("a.yaml", 1, 1, "", "x").path == "<root>"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = VALID.replace("  name_en: Test Line\n", "  name_en: Test Line\n   oops: 1\n")
    err = fail(tmp_path, text)
    assert (err.line, err.column) == (at(text, "oops")[0], 8)
    assert err.path == "<root>"
    assert err.message == "YAML syntax error: mapping values are not allowed here"


def test_unclosed_flow_list_reports_a_syntax_error(tmp_path: Path) -> None:
    text = mutate("sections: [D12]}", "sections: [D12}")
    err = fail(tmp_path, text)
    assert err.message.startswith("YAML syntax error: while parsing a flow sequence")
    assert err.line == at(text, "[D12}")[0]


def test_unknown_key(tmp_path: Path) -> None:
    text = mutate("km: 1.2, x: 200}", "km: 1.2, x: 200, colour: red}")
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, "colour")
    assert err.path == "line.stations[1].colour"
    assert err.message == "unknown key 'colour'; allowed keys: id, name_zh, name_en, km, x"


def test_missing_required_key(tmp_path: Path) -> None:
    text = mutate("name_en: Yi, ", "")
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, "{id: S2")
    assert err.path == "line.stations[1]"
    assert err.message == "missing required key 'name_en'"


def test_missing_top_level_key(tmp_path: Path) -> None:
    err = fail(tmp_path, "# nothing\nlinez: {}\n")
    assert (err.line, err.column, err.path) == (2, 1, "linez")
    assert err.message == "unknown key 'linez'; allowed keys: line"


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        ("km: 1.2", "km: abc", "abc", "line.stations[1].km", "expected number, got string 'abc'"),
        (
            "length_m: 900",
            "length_m: [900]",
            "[900]",
            "line.sections[1].length_m",
            "expected number, got a list",
        ),
        ("id: T1", "id: 12", "12", "line.id", "expected string, got integer '12'"),
        ("cars: 4", "cars: 4.5", "4.5", "line.train.cars", "expected integer, got number '4.5'"),
        (
            "cars: 4",
            "cars: true",
            "true",
            "line.train.cars",
            "expected integer, got boolean 'true'",
        ),
        (
            "stations: [S1, S2]",
            "stations: {S1: 1}",
            "{S1",
            "line.zones[0].stations",
            "expected a list, got a mapping",
        ),
        (
            "train: {cars: 4, length_m: 80, max_speed_kmh: 60}",
            "train: [4, 80, 60]",
            "[4,",
            "line.train",
            "expected a mapping, got a list",
        ),
        ("x: 100}", "x: null}", "null}", "line.stations[0].x", "expected number, got null"),
        (
            "km: 1.2",
            "km: !!int x",
            "!!int",
            "line.stations[1].km",
            "expected number, got integer 'x'",
        ),
    ],
)
def test_wrong_type(
    tmp_path: Path, old: str, new: str, needle: str, path: str, message: str
) -> None:
    text = mutate(old, new)
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, needle)
    assert err.path == path
    assert err.message == message


def test_bad_enum_value(tmp_path: Path) -> None:
    text = mutate("position: reverse", "position: sideways")
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, "sideways")
    assert err.path == "line.routes[2].switches[0].position"
    assert err.message == "invalid value 'sideways'; allowed values: normal, reverse"


def test_duplicate_key_in_one_mapping(tmp_path: Path) -> None:
    text = mutate("  name_en: Test Line\n", "  name_en: Test Line\n  name_en: Again\n")
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, "name_en: Again")
    assert err.path == "line.name_en"
    assert err.message == f"duplicate key 'name_en' (first at line {at(text, 'name_en')[0]})"


def test_duplicate_id_in_a_list(tmp_path: Path) -> None:
    text = mutate("{id: DX,", "{id: D12,")
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, "D12,", 1)
    assert err.path == "line.sections[2].id"
    first = at(text, "{id: D12")[0]
    assert err.message == f"duplicate id 'D12' (first at line {first}, line.sections[1])"


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "{switch: W1, position: normal}",
            "{switch: W9, position: normal}",
            "W9",
            "line.routes[1].switches[0].switch",
            "unknown switch 'W9': not defined in line.switches",
        ),
        (
            "entry: XD12, exit: XSD",
            "entry: XD12, exit: XNONE",
            "XNONE",
            "line.routes[2].exit",
            "unknown signal 'XNONE': not defined in line.signals",
        ),
        (
            "section: PD2}",
            "section: PD7}",
            "PD7",
            "line.platforms[1].section",
            "unknown section 'PD7': not defined in line.sections",
        ),
        (
            "switches: [W1]",
            "switches: [W1, W2]",
            "W2",
            "line.zones[0].switches[1]",
            "unknown switch 'W2': not defined in line.switches",
        ),
        (
            "{a: D12, b: DX}",
            "{a: D12, b: DY}",
            "DY",
            "line.links[1].b",
            "unknown section 'DY': not defined in line.sections",
        ),
        (
            "{id: W1, zone: Z1",
            "{id: W1, zone: Z9",
            "Z9",
            "line.switches[0].zone",
            "unknown zone 'Z9': not defined in line.zones",
        ),
    ],
)
def test_dangling_reference(
    tmp_path: Path, old: str, new: str, needle: str, path: str, message: str
) -> None:
    text = mutate(old, new)
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, needle)
    assert err.path == path
    assert err.message == message


def test_section_not_connected(tmp_path: Path) -> None:
    text = mutate(
        "  links:\n",
        "    - {id: LOST, kind: main, length_m: 10, x0: 0, x1: 5, y0: 50, y1: 50}\n  links:\n",
    )
    err = fail(tmp_path, text)
    assert (err.line, err.column) == at(text, "{id: LOST")
    assert err.path == "line.sections[5]"
    assert err.message == (
        "section 'LOST' is not connected to the rest of the line "
        "(only 5 of 6 sections are reachable from 'PD1' over links and switches)"
    )


@pytest.mark.parametrize(
    ("old", "new", "value", "path", "message"),
    [
        ("length_m: 900", "length_m: -5", "-5", "line.sections[1].length_m", "must be > 0, got -5"),
        ("length_m: 900", "length_m: 0", "0", "line.sections[1].length_m", "must be > 0, got 0"),
        ("cars: 4", "cars: 0", "0", "line.train.cars", "must be >= 1, got 0"),
        (
            "max_speed_kmh: 60",
            "max_speed_kmh: .inf",
            ".inf",
            "line.train.max_speed_kmh",
            "must be a finite number, got inf",
        ),
        ("Jia, km: 0", "Jia, km: -1", "-1", "line.stations[0].km", "must be >= 0, got -1"),
        (
            "x0: 115, x1: 170",
            "x0: 175, x1: 170",
            "170",
            "line.sections[1].x1",
            "x1 (170) must be greater than x0 (175); "
            "a diagonal keeps x0 < x1 and lets y0/y1 show its slope",
        ),
        (
            "Yi, km: 1.2",
            "Yi, km: 0",
            "0",
            "line.stations[1].km",
            "km must increase along the line: 0 is not greater than 0 (station S1)",
        ),
    ],
)
def test_numeric_sanity(
    tmp_path: Path, old: str, new: str, value: str, path: str, message: str
) -> None:
    text = mutate(old, new)
    err = fail(tmp_path, text)
    line, column = at(text, new)
    assert (err.line, err.column) == (line, column + new.rindex(value))
    assert err.path == path
    assert err.message == message


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    err = fail(tmp_path, "# only a comment\n")
    assert (err.line, err.column, err.path, err.message) == (1, 1, "<root>", "the file is empty")
    with pytest.raises(ConfigError) as info:
        load_line(tmp_path / "missing.yaml")
    assert info.value.message.startswith("cannot read file: ")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"line:\n  name_zh: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_line(bad)
    assert (info.value.line, info.value.column) == (2, 15)
    assert info.value.message == "file is not valid UTF-8: byte 0xE9"


def test_non_printable_character(tmp_path: Path) -> None:
    err = fail(tmp_path, "line:\n  id: a\x07b\n")
    assert (err.line, err.column) == (2, 8)
    assert err.message == "YAML syntax error: special characters are not allowed"


def test_non_string_key(tmp_path: Path) -> None:
    text = "line:\n  1: x\n"
    err = fail(tmp_path, text)
    assert (err.line, err.column, err.path) == (2, 3, "line")
    assert err.message == "keys must be strings, got integer '1'"


# -- a declaration on its own ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """A declaration like those of the workstation and line files, on its own."""

    name: Id
    count: Annotated[int, Meta(ge=1, le=9)] = 1
    ratio: Annotated[float, Meta(ge=0, le=1)] | None = None
    tags: Annotated[tuple[Text, ...], Meta(min_length=1, max_length=3), unique(".")] = ("x",)


def read(text: str) -> object:
    return dataclasses.asdict(compose(text, "spec.yaml").read(Spec))


def read_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        read(text)
    return info.value


def test_generic_spec_defaults_and_values() -> None:
    assert read("name: a\n") == {"name": "a", "count": 1, "ratio": None, "tags": ("x",)}
    assert read("name: a\ncount: 9\nratio: 0.5\ntags: [p, q]\n") == {
        "name": "a",
        "count": 9,
        "ratio": 0.5,
        "tags": ("p", "q"),
    }


@pytest.mark.parametrize(
    ("text", "where", "path", "message"),
    [
        ("name: a b\n", (1, 7), "name", "invalid id (letters, digits, '_', '.', '-') 'a b'"),
        ("name: ''\n", (1, 7), "name", "must not be empty"),
        ("name: a\ncount: 10\n", (2, 8), "count", "must be <= 9, got 10"),
        ("name: a\nratio: 2\n", (2, 8), "ratio", "must be <= 1, got 2"),
        ("name: a\ntags: []\n", (2, 7), "tags", "must have at least 1 item(s), got 0"),
        ("name: a\ntags: [a, b, c, d]\n", (2, 7), "tags", "must have at most 3 item(s), got 4"),
        (
            "name: a\ntags: [a, b, a]\n",
            (2, 14),
            "tags[2]",
            "duplicate value 'a' (first at line 2, tags[0])",
        ),
        ("- name: a\n", (1, 1), "<root>", "expected a mapping, got a list"),
        ("name: a\ncount: !!float 1\n", (2, 8), "count", "expected integer, got number '1'"),
        ("name: !custom a\n", (1, 7), "name", "expected string, got value tagged !custom 'a'"),
    ],
)
def test_generic_spec_errors(text: str, where: tuple[int, int], path: str, message: str) -> None:
    err = read_error(text)
    assert (err.line, err.column) == where
    assert err.path == path
    assert err.message == message


def test_aliases_are_followed() -> None:
    assert read("name: &n a\ntags: [*n]\n") == {
        "name": "a",
        "count": 1,
        "ratio": None,
        "tags": ("a",),
    }


# -- fuzzing: the loaders raise ConfigError and nothing else ----------------------

WORKSTATION = """\
workstation:
  id: WS-01
  line: missing.yaml
  servers:
    - {id: A, addresses: ["127.0.0.1:7101", "[::1]:7101"]}
  heartbeat: {interval_ms: 500, missed: 3}
  kafka: {bootstrap_servers: "127.0.0.1:9092"}
"""

_YAMLISH = st.sampled_from(
    [*"{}[]:,-#&*!|>'\"%@` \n\t", "\n  ", "- ", ": ", "null", "~", "!!int", "&a", "*a", "1e9"]
)
#: Escapes PyYAML turns into lone surrogates (a pair too: it does not join them).
_SURROGATE_ESCAPES = st.sampled_from(['"\\ud800"', "\\udfff", '"\\U0000DC00"', '"\\ud83d\\ude00"'])
_TEXT = st.lists(
    st.one_of(st.sampled_from(string.printable), st.characters(), _YAMLISH, _SURROGATE_ESCAPES),
    max_size=40,
).map("".join)


def _only_config_errors(text: str) -> None:
    for call in (parse_line, parse_workstation):
        try:
            call(text)
        except ConfigError as exc:
            str(exc).encode("utf-8")  # a refusal can always be printed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_random_text_raises_only_config_error(text: str) -> None:
    _only_config_errors(text)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from([VALID, WORKSTATION]))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "duplicate_line"]))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + draw(_TEXT) + text[start:]
        elif action == "replace":
            text = text[:start] + draw(_TEXT) + text[end:]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
            text = "".join(lines)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_files_raise_only_config_error(text: str) -> None:
    _only_config_errors(text)


# -- text no encoder can write (issue 16, defect 7) ---------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        pytest.param(
            "name_en: Test Line",
            'name_en: "Test\\ud800Line"',
            '"Test',
            "line.name_en",
            "text holds a lone surrogate U+D800 at character 4",
            id="escape",
        ),
        pytest.param(
            "name_en: Jia",
            'name_en: "Jia\\U0000DFFF"',
            '"Jia',
            "line.stations[0].name_en",
            "text holds a lone surrogate U+DFFF at character 3",
            id="long-escape-in-a-list",
        ),
        pytest.param(
            "name_en: Yi",
            'name_en: "\\ud83d\\ude00"',
            '"\\ud83d',
            "line.stations[1].name_en",
            "text holds a lone surrogate U+D83D at character 0",
            id="escaped-pair-PyYAML-does-not-join",
        ),
        pytest.param(
            "name_en: Whole line",
            '"name\\udc00": Whole line',
            '"name',
            "line.zones[0]",
            "a key holds a lone surrogate U+DC00 at character 4 ('name\\udc00')",
            id="escape-in-a-key",
        ),
    ],
)
def test_a_lone_surrogate_escape_is_refused_where_it_stands(
    tmp_path: Path, old: str, new: str, needle: str, path: str, message: str
) -> None:
    text = mutate(old, new)
    err = fail(tmp_path, text)
    assert (err.line, err.column, err.path, err.message) == (*at(text, needle), path, message)
    str(err).encode("utf-8")  # what check_files prints


def test_a_lone_surrogate_in_a_workstation_file_is_refused() -> None:
    text = WORKSTATION.replace("id: WS-01", 'id: "WS\\ud800"')
    with pytest.raises(ConfigError) as info:
        parse_workstation(text, "ws.yaml")
    err = info.value
    assert (err.file, err.line, err.column, err.path) == ("ws.yaml", 2, 7, "workstation.id")
    assert err.message == "text holds a lone surrogate U+D800 at character 2"


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        pytest.param(
            "line:\n  name_zh: 道岔".encode() + b"\xed\xa0\x80\n",
            (2, 14),
            "file is not valid UTF-8: byte 0xED",
            id="raw-surrogate-bytes-column-in-characters",
        ),
        pytest.param(
            "\ufeffline:\n  id: \u4e59".encode() + b"\xed\xbf\xbf\n",
            (2, 8),
            "file is not valid UTF-8: byte 0xED",
            id="raw-surrogate-bytes-after-a-BOM",
        ),
        pytest.param(
            b"line: \xed\xa0\x80\n", (1, 7), "file is not valid UTF-8: byte 0xED", id="first-line"
        ),
        pytest.param(
            b"line:\n  id: \xc0\xaf\n", (2, 7), "file is not valid UTF-8: byte 0xC0", id="overlong"
        ),
        pytest.param(
            VALID.encode("utf-16"),
            (1, 1),
            "file is not valid UTF-8: byte 0xFF (a UTF-16 or UTF-32 file? save it as UTF-8)",
            id="utf-16",
        ),
        pytest.param(
            "line:\n  id: T1\n".encode("utf-32-be"),
            (1, 1),
            "file holds a NUL byte: not UTF-8 text (UTF-16 or UTF-32?)",
            id="utf-32-be-no-BOM",
        ),
        pytest.param(
            "line:\n  id: T1\n".encode("utf-16-le"),
            (1, 2),
            "file holds a NUL byte: not UTF-8 text (UTF-16 or UTF-32?)",
            id="utf-16-le-no-BOM",
        ),
    ],
)
def test_bytes_that_are_not_utf8_are_refused_at_file_line_column(
    tmp_path: Path, data: bytes, where: tuple[int, int], message: str
) -> None:
    path = tmp_path / "line.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_line(path)
    err = info.value
    assert (err.file, (err.line, err.column), err.message) == (str(path), where, message)


def test_good_text_and_escapes_still_load(tmp_path: Path) -> None:
    text = mutate("name_en: Test Line", 'name_en: "Test \\u9053\\U0001F600 \\x41"')
    path = tmp_path / "line.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_line(path).name_en == "Test \u9053\U0001f600 A"


def test_the_first_lone_surrogate_in_the_file_is_the_one_reported() -> None:
    text = 'line: &top\n  again: *top\n  id: "\\udc01"\n  name_zh: "\\ud800"\n'
    with pytest.raises(ConfigError) as info:
        parse_line(text, "l.yaml")  # the alias makes a cycle: walked once
    err = info.value
    assert (err.line, err.column, err.path) == (3, 7, "line.id")
    assert err.message == "text holds a lone surrogate U+DC01 at character 0"
