"""`python -m bench fuzz` in CI: a quick run over every boundary, no crash and no hang.

The longer run (``--inputs 1000000``) is for a person; its figures are in
docs/performance.md. Speed is not asserted here.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from bench.fuzz import (
    WIDE_ENCODINGS,
    check_writable,
    dumps,
    mutate_text,
    run_boundary,
    unwritable,
)
from tests.bench.runner import run_bench

BOUNDARIES = {"tcp_frames", "udp_datagrams", "alarm_records", "iscs_messages", "yaml_config"}
TEXT_BOUNDARIES = BOUNDARIES - {"udp_datagrams"}  # every JSON and YAML boundary
KEYS = {
    "inputs",
    "crashes",
    "hangs",
    "leaks_mb",
    "inputs_per_s",
    "refused",
    "accepted",
    "text_inputs",
}


def test_bench_fuzz_quick_run_finds_no_crash_and_no_hang() -> None:
    run = run_bench("fuzz", "--inputs", "400", "--seed", "3", timeout=300)
    figures = run.figures
    assert figures["boundaries"].keys() == BOUNDARIES
    for name, res in figures["boundaries"].items():
        assert res.keys() >= KEYS, name
        assert res["inputs"] == 400, name
        assert res["crashes"] == 0 and res["hangs"] == 0, (name, run.stdout)
        assert res["refused"] > 0, name  # the inputs do reach the checks
        # Lone surrogates, raw surrogate bytes, overlong UTF-8, UTF-16/32 documents.
        assert (res["text_inputs"] > 0) == (name in TEXT_BOUNDARIES), name
    assert figures["crashes"] == 0 and figures["hangs"] == 0
    # Mutated inputs that stay valid show the generator gets past the integrity checks.
    assert figures["boundaries"]["tcp_frames"]["accepted"] > 0
    assert figures["boundaries"]["udp_datagrams"]["accepted"] > 0


def test_mutate_text_makes_each_kind_of_bad_text() -> None:
    doc = dumps({"id": "h1", "text": "道岔"})
    made = [mutate_text(random.Random(seed), doc) for seed in range(200)]
    assert any(b"\\u" in m and m != doc for m in made)  # an escape, inside a string
    assert any(b"\xed" in m and 0xA0 <= m[m.index(b"\xed") + 1] <= 0xBF for m in made)
    assert any(b"\xc0" in m or b"\xe0\x80" in m or b"\xf0\x80" in m for m in made)
    wide = {m for m in made if b"\x00" in m or m.startswith((b"\xff\xfe", b"\xfe\xff"))}
    assert len(wide) >= len(WIDE_ENCODINGS) // 2
    # An escape lands inside a string: the document is still JSON, with a lone surrogate.
    escaped = [m for m in made if b"\\ud" in m.lower() or b"\\uD" in m]
    assert any(unwritable(json.loads(m)) is not None for m in escaped)


def test_dumps_writes_a_lone_surrogate_as_raw_bytes_or_as_its_escape() -> None:
    assert dumps(["\ud800"]) == b'["\xed\xa0\x80"]'
    forms = {dumps(["\ud800"], random.Random(seed)) for seed in range(30)}
    assert forms == {b'["\xed\xa0\x80"]', b'["\\ud800"]'}


@dataclass
class _Decoded:
    name: str
    parts: tuple[str, ...] = ()
    where: PurePath = field(default_factory=lambda: PurePath("x"))


def test_unwritable_finds_the_string_wherever_it_sits() -> None:
    assert unwritable(_Decoded("道岔\U0001f600", ("a", "b"))) is None
    assert unwritable(_Decoded("a", ("b", "c\udc00"))) == ".parts[1]: U+DC00 at 1"
    assert unwritable(_Decoded("a", where=PurePath("d/\udc80"))) == ".where: U+DC80 at 2"
    assert unwritable({"k\ud800": 1}) == "{key}: U+D800 at 1"
    assert unwritable([{"a": "\udfff"}]) == "[0]['a']: U+DFFF at 0"
    shared: list[object] = []
    shared.append(shared)  # a cycle is walked once
    assert unwritable(shared) is None


def _case(feed: Callable[[], bool]) -> Callable[[random.Random], Callable[[], bool]]:
    return lambda _rng: feed


def test_a_decoded_string_or_a_refusal_that_cannot_be_written_is_a_crash() -> None:
    def decodes_unwritable() -> bool:
        check_writable(_Decoded("x\ud800"))
        return True

    def refuses_unwritably() -> bool:
        raise ValueError("bad key 'k\ud800'")

    def refuses() -> bool:
        raise ValueError("bad key 'k\\ud800'")

    crash = run_boundary("t", _case(decodes_unwritable), (ValueError,), 3, 1, 2.0)
    assert (crash.crashes, crash.refused, crash.accepted) == (3, 0, 0)
    assert "Unwritable" in crash.examples[0] and ".name: U+D800" in crash.examples[0]
    crash = run_boundary("t", _case(refuses_unwritably), (ValueError,), 3, 1, 2.0)
    assert (crash.crashes, crash.refused) == (3, 0)
    crash.examples[0].encode("utf-8")  # the bench prints it
    fine = run_boundary("t", _case(refuses), (ValueError,), 3, 1, 2.0)
    assert (fine.crashes, fine.refused) == (0, 3)
