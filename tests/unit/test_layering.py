"""The core must run without Qt: nothing under app/ may import PySide6."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


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
