#!/usr/bin/env python3
"""Refresh the translation sources from the code, and compile them.

    .venv/bin/python resources/translations/update.py            # lupdate, then lrelease
    .venv/bin/python resources/translations/update.py --release  # lrelease only

``lupdate`` reads every ``ui/**/*.py`` (the window's counterparts too) and the
core's texts marked for it (:data:`APP_SOURCES`: the refusal templates) and adds
new strings to each ``.ts`` here (unfinished, for a translator), drops the ones
the code no longer has, and keeps every existing translation. ``lrelease``
compiles each ``.ts`` into the ``.qm`` the program loads. Both ``.ts`` and
``.qm`` are committed: the tests check that the ``.qm`` is what ``lrelease``
makes of the ``.ts`` and that the ``.ts`` has every string of the code,
translated. See docs/translations.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOURCES = "ui"
#: Files of the core (no Qt) whose texts are marked with QT_TRANSLATE_NOOP for lupdate.
APP_SOURCES = ("app/model/refusal.py", "app/model/server_reasons.py")
LANGUAGES = ("zh_CN",)
CATALOGUE = "dispatcher_hmi"


def tool(name: str) -> str:
    """``pyside6-<name>`` beside this Python (a venv), else on PATH."""
    here = shutil.which(f"pyside6-{name}", path=str(Path(sys.executable).parent))
    found = here or shutil.which(f"pyside6-{name}")
    if found is None:
        sys.exit(f"update: pyside6-{name} not found (install the project into a venv)")
    return found


def ts_file(language: str) -> Path:
    return HERE / f"{CATALOGUE}_{language}.ts"


def qm_file(language: str) -> Path:
    return HERE / f"{CATALOGUE}_{language}.qm"


def sources() -> list[str]:
    """Every ``.py`` under ``ui/`` (the window's and its counterparts'), and the core's
    files with marked texts: what lupdate reads, and what the tests check against."""
    views = [str(p) for p in sorted((ROOT / SOURCES).rglob("*.py"))]
    return views + [str(ROOT / name) for name in APP_SOURCES]


def lupdate(language: str, target: Path) -> None:
    """Extract the strings of :func:`sources` into ``target`` (merged with what it has)."""
    cmd = [
        tool("lupdate"),
        *sources(),
        "-no-obsolete",
        "-locations",
        "none",
        "-source-language",
        "en",
        "-target-language",
        language,
        "-ts",
        str(target),
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)


def lrelease(source: Path, target: Path) -> None:
    """Compile into a new file, then put it in place by a rename: a program that has
    the old ``.qm`` open keeps reading the old file, never half of the new one."""
    partial = target.with_name(target.name + ".partial")
    cmd = [tool("lrelease"), "-silent", str(source), "-qm", str(partial)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--release", action="store_true", help="only compile the .ts files")
    args = p.parse_args(argv)
    for language in LANGUAGES:
        if not args.release:
            lupdate(language, ts_file(language))
        lrelease(ts_file(language), qm_file(language))
        text = ts_file(language).read_text(encoding="utf-8")
        messages = text.count("<message")
        unfinished = text.count('type="unfinished"')
        print(f"{ts_file(language).name}: {messages} messages, {unfinished} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
