"""The layering of docs/architecture.md: the core without Qt, the contracts of
pyproject.toml (import-linter), and no circle of imports."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"


def qt_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{path}:{node.lineno}: {n}" for n in names if n.split(".")[0] == "PySide6"]
    return found


def test_app_never_imports_pyside6() -> None:
    files = sorted(APP.rglob("*.py"))
    assert len(files) > 10
    offenders = [hit for f in files for hit in qt_imports(f)]
    assert offenders == []


def test_the_check_itself_catches_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6 import QtCore\n")
    assert qt_imports(bad) == [f"{bad}:2: PySide6"]


def test_the_layering_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    """The contracts of pyproject.toml ([tool.importlinter]): the core's layers, the core
    without Qt, the counterparts apart, the protocol sans-I/O (docs/architecture.md)."""
    from importlinter.cli import lint_imports

    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "BROKEN" not in report and "Contracts: " in report


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Every circle of imports among ``package``'s modules (type-checking imports too:
    a circle hidden from the interpreter is still one a reader must untangle)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in sorted(graph.find_modules_directly_imported_by(m)):
            if not n.startswith(package):
                continue
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    return found


def test_no_import_circle_in_the_core() -> None:
    graph = grimp.build_graph("app", "ui")
    assert import_cycles(graph, "app") == []


def test_no_import_circle_in_the_views() -> None:
    """The window's features are handed the host (ui/host.py): none imports the window."""
    graph = grimp.build_graph("app", "ui")
    assert import_cycles(graph, "ui") == []
    # only what starts a window knows the window's class
    starters = {"ui.runtime", "ui.smoke", "ui.replay"}  # the live window, the smoke test, a replay
    assert graph.find_modules_that_directly_import("ui.mainwindow") <= starters


def test_the_circle_finder_finds_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "circled"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circled import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import circled.a\n"
    )
    (pkg / "c.py").write_text("import circled.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("circled"), "circled") == [["circled.a", "circled.b"]]
