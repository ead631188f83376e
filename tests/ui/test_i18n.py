"""Bilingual: the zh_CN translation is complete, compiled, loaded and chosen.

The translation's files are checked against the code (``lupdate``) and against
each other (``lrelease``); the window is built in Chinese and in English; the
language choice goes round QSettings (the font: test_fonts.py).
``I18N_SCREENSHOT=PATH`` saves the Chinese window's picture there, to look at.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.model.refusal import TEMPLATES, Refusal, RefusalCode, parameters
from ui import i18n
from ui.mainwindow import MainWindow

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "resources" / "translations"
TS = TRANSLATIONS / "dispatcher_hmi_zh_CN.ts"
QM = TRANSLATIONS / "dispatcher_hmi_zh_CN.qm"
BIN = Path(sys.executable).parent

Key = tuple[str, str, str]  # context, source, disambiguation


def messages(ts: Path) -> dict[Key, ET.Element]:
    out: dict[Key, ET.Element] = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for m in context.iter("message"):
            key = (name, m.findtext("source") or "", m.findtext("comment") or "")
            out[key] = m
    return out


def tool(name: str) -> str:
    found = shutil.which(f"pyside6-{name}", path=str(BIN)) or shutil.which(f"pyside6-{name}")
    if found is None:
        pytest.skip(f"pyside6-{name} not installed")
    return found


# -- the files ---------------------------------------------------------------------------


def test_every_message_is_translated_with_its_placeholders() -> None:
    found = messages(TS)
    assert len(found) > 300
    for (context, source, _), m in found.items():
        tr = m.find("translation")
        assert tr is not None
        where = f"{context!r}: {source!r}"
        assert tr.get("type") not in ("unfinished", "vanished", "obsolete"), where
        text = tr.text or ""
        assert text.strip(), where
        assert sorted(re.findall(r"\{[^}]*\}", text)) == sorted(re.findall(r"\{[^}]*\}", source)), (
            where
        )
        assert re.findall(r"%\w*%?", text) == re.findall(r"%\w*%?", source), where
        assert text.count("\n") == source.count("\n"), where
        if re.search(r"&\w", source):
            assert re.search(r"&\w", text), f"{where}: the menu accelerator is lost"


def translation_sources() -> list[str]:
    """What resources/translations/update.py gives lupdate (the views and the core's
    marked texts): the test reads the same list."""
    spec = importlib.util.spec_from_file_location("update", TS.parent / "update.py")
    assert spec is not None and spec.loader is not None
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    found: list[str] = update.sources()
    return found


def test_no_text_is_marked_inside_an_f_string() -> None:
    """lupdate does not read into an f-string's braces: a tr() there is never extracted,
    and the text shows in English whatever the language (the alarm banner's "No
    unacknowledged alarms" did)."""
    marked = re.compile(r"\b(?:tr|translate)\(")
    found = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FormattedValue) and marked.search(ast.unparse(node.value)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def test_the_ts_has_every_string_of_the_code(tmp_path: Path) -> None:
    """What lupdate finds in the sources now is what the committed .ts translates."""
    fresh = tmp_path / TS.name
    shutil.copy(TS, fresh)
    sources = translation_sources()
    subprocess.run(
        [tool("lupdate"), *sources, "-no-obsolete", "-locations", "none", "-ts", str(fresh)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    now, committed = messages(fresh), messages(TS)
    new = sorted(set(now) - set(committed))
    gone = sorted(set(committed) - set(now))
    hint = "run resources/translations/update.py and translate (docs/translations.md)"
    assert not new, f"strings not in the .ts yet: {new}; {hint}"
    assert not gone, f"strings the code no longer has: {gone}; {hint}"


def test_the_qm_is_what_lrelease_makes_of_the_ts(tmp_path: Path) -> None:
    made = tmp_path / QM.name
    subprocess.run(
        [tool("lrelease"), "-silent", str(TS), "-qm", str(made)], check=True, capture_output=True
    )
    assert QM.read_bytes() == made.read_bytes(), (
        "the .qm is out of date: run resources/translations/update.py --release"
    )


def test_every_context_is_one_the_code_translates_in() -> None:
    """lupdate's context for a string must be the one the code asks for at run time.

    ``self.tr`` asks in its class's name; ``translate("Ctx", ...)`` in "Ctx"; a bare
    ``tr()`` helper at module level is filed in the empty context, so the helpers must
    translate in "" too (a ``window.tr(...)`` would be filed under "window": wrong).
    """
    known = {""}
    for path in map(Path, translation_sources()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                known.add(node.name)
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                first = node.args[0] if node.args else None
                if name in ("translate", "QT_TRANSLATE_NOOP") and isinstance(first, ast.Constant):
                    known.add(str(first.value))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "tr":
                calls = [c for c in ast.walk(node) if isinstance(c, ast.Call)]
                contexts = [
                    c.args[0].value for c in calls if c.args and isinstance(c.args[0], ast.Constant)
                ]
                assert contexts == [""], f"{path.name}: tr() must translate in the empty context"
    contexts = {context for context, _, _ in messages(TS)}
    assert contexts <= known, f"contexts nobody asks for: {contexts - known}"


# -- at run time ---------------------------------------------------------------------------


def build(qtbot: QtBot, fake_session: Any, control_for: Any) -> MainWindow:
    win = MainWindow(fake_session, control_for(fake_session))
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    fake_session.synchronise()
    qtbot.waitUntil(lambda: win.session.state.synchronised and win.bridge.flushes >= 1)
    return win


def menu_titles(win: MainWindow) -> list[str]:
    return [a.text() for a in win.menuBar().actions()]


def test_the_window_in_chinese(
    qtbot: QtBot, fake_session: Any, qloop: Any, chinese: None, control_for: Any
) -> None:
    win = build(qtbot, fake_session, control_for)
    assert menu_titles(win)[:2] == ["文件(&F)", "视图(&V)"]
    assert "调度员" in win.windowTitle()
    assert win.events.windowTitle() == "事件记录"
    assert "线路状态已同步" in win.status_bar.sync_label.text()
    actions = [a.text() for a in win.menus.switch_menu("W1").actions()]
    assert "道岔单锁" in actions and "道岔反操（至反位）" in actions
    # Help > Keyboard shortcuts: the actions' names without "(&F)"
    names = [name for name, _ in win.workspace.help.shortcuts()]
    assert "全线显示" in names and not any(re.search(r"\(\w\)", n) for n in names), names
    # a reason from the app layer, translated by its code with its parameters put in
    held = Refusal.of(RefusalCode.ZONE_HELD, zone="Z1", holder="d2@WS-02")
    assert i18n.refusal_text(held) == "联锁区 Z1 的控制权在 d2@WS-02"
    assert str(held) == "zone Z1 is held by d2@WS-02"  # the English, for logs and the CLI
    # every code has its translation, with every parameter in it
    for code in RefusalCode:
        names = parameters(code)
        text = i18n.refusal_text(Refusal.of(code, **{n: f"<{n}>" for n in names}))
        assert text != TEMPLATES[code].format_map({n: f"<{n}>" for n in names}), code
        assert all(f"<{n}>" in text for n in names), (code, text)
    # the empty context (module tr() helpers) and a translate() context
    from ui.alarmlist import tr as alarm_tr
    from ui.coupling import cab_text

    assert alarm_tr("Acknowledge") == "确认"
    from app.model.state import CabRole

    assert cab_text(CabRole.MASTER) == "主控"
    shot = os.environ.get("I18N_SCREENSHOT")
    if shot:
        win.view.zoom_to_fit()
        qtbot.wait(100)
        assert win.grab().save(shot, "PNG")


def test_the_window_in_english(
    qtbot: QtBot, fake_session: Any, qloop: Any, control_for: Any
) -> None:
    win = build(qtbot, fake_session, control_for)
    assert menu_titles(win)[:2] == ["&File", "&View"]
    assert win.events.windowTitle() == "Event log"


# -- choosing the language -----------------------------------------------------------------


def test_start_up_order(tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "hmi.ini"), QSettings.Format.IniFormat)
    assert i18n.startup_language(None, "zh_CN", settings) == "zh_CN"
    assert i18n.startup_language(None, "en", settings) == "en"
    i18n.save_language(settings, "en")
    assert i18n.startup_language(None, "zh_CN", settings) == "en"  # the user's choice
    assert i18n.startup_language("zh_CN", "en", settings) == "zh_CN"  # --lang wins
    settings.setValue(i18n.SETTINGS_KEY, "fr")  # nonsense in the file: ignored
    assert i18n.startup_language(None, "zh_CN", settings) == "zh_CN"
    with pytest.raises(ValueError):
        i18n.save_language(settings, "fr")


def test_the_language_menu_saves_the_choice_for_the_next_start(
    qtbot: QtBot, fake_session: Any, qloop: Any, tmp_path: Path, control_for: Any
) -> None:
    settings = QSettings(str(tmp_path / "hmi.ini"), QSettings.Format.IniFormat)
    win = MainWindow(fake_session, control_for(fake_session), settings=settings)
    qtbot.addWidget(win)
    menu = win.language_menu
    by_name = {a.objectName(): a for a in menu.actions()}
    english, chinese = by_name["language:en"], by_name["language:zh_CN"]
    assert english.isChecked()  # what this (untranslated) process shows
    chinese.trigger()
    assert chinese.isChecked() and not english.isChecked()
    assert "next starts" in win.statusBar().currentMessage()
    assert "next starts" in win.events.lines()[0]
    again = QSettings(str(tmp_path / "hmi.ini"), QSettings.Format.IniFormat)
    assert i18n.saved_language(again) == "zh_CN"
    assert i18n.startup_language(None, "en", again) == "zh_CN"
    # the next window shows the saved choice ticked
    other = MainWindow(fake_session, control_for(fake_session), settings=again)
    qtbot.addWidget(other)
    ticked = [a.objectName() for a in other.language_menu.actions() if a.isChecked()]
    assert ticked == ["language:zh_CN"]
