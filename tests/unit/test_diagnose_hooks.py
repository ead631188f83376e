"""The hooks of the memory diagnostics in the programs' command lines (issue 21):
``dispatcher-cli diagnose FILE`` and ``dispatcher-hmi --diagnose-memory``.

How a support engineer uses them: docs/operations.md, "Memory diagnostics"."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from app import memdiag


def _records(path: Path) -> Path:
    lines = []
    for i in range(30):
        s = i * 120.0
        lines.append(
            {
                "v": 1,
                "s": s,
                "t": 1.8e9 + s,
                "proc": {"rss": int((130 + 2.5 * s / 3600) * 1000)},
                "malloc": {"in_use": int((40 + 2.5 * s / 3600) * 1e6), "free": 3_000_000},
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def test_dispatcher_cli_diagnose_says_what_grew(tmp_path: Path) -> None:
    from app import cli

    assert "diagnose" in cli.build_parser().format_help()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["diagnose", str(_records(tmp_path / "m.jsonl"))])
    assert code == 0
    assert "native allocations grow" in out.getvalue()


def test_dispatcher_hmi_takes_the_diagnostics_options() -> None:
    from ui import main

    parser = main.build_parser()
    args = parser.parse_args(
        ["--diagnose-memory", "--diagnose-every", "5", "--diagnose-file", "/tmp/m.jsonl"]
    )
    assert args.diagnose_memory and args.diagnose_every == 5
    assert args.diagnose_file == "/tmp/m.jsonl"
    assert not parser.parse_args([]).diagnose_memory


def test_the_report_the_cli_prints_comes_from_memdiag(tmp_path: Path) -> None:
    out = io.StringIO()
    assert memdiag.diagnose_main([str(_records(tmp_path / "m.jsonl"))], out) == 0
    assert "native allocations grow" in out.getvalue()
