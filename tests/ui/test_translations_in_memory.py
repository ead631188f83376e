"""A running window keeps its language when the ``.qm`` on disk is rewritten in place
(an update of the translations or the program under it). Qt maps a ``.qm`` it loads by
name; rewriting the mapped file made running windows crash in QTranslator's lookup
(segfaults seen in libQt6Core while ``update.py`` recompiled the catalogue)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from ui import i18n

SCRIPT = r"""
import os, sys
import xml.etree.ElementTree as ET
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from ui import i18n

directory = Path(sys.argv[1])
qm = directory / "dispatcher_hmi_zh_CN.qm"
ts = i18n.translations_dir() / "dispatcher_hmi_zh_CN.ts"
keys = [
    (context.findtext("name") or "", message.findtext("source") or "")
    for context in ET.parse(ts).getroot().iter("context")
    for message in context.iter("message")
]
app = QCoreApplication([])
assert i18n.install_translators(app, "zh_CN", directory), "nothing installed"
before = [QCoreApplication.translate(c, s) for c, s in keys]
assert sum(b != s for b, (_, s) in zip(before, keys)) > len(keys) // 2, "hardly translated"
size = qm.stat().st_size
with open(qm, "r+b") as f:  # rewritten in place: other bytes, then shorter
    f.write(os.urandom(size))
    f.flush()
after_rewrite = [QCoreApplication.translate(c, s) for c, s in keys]
with open(qm, "r+b") as f:
    f.truncate(100)
after_truncate = [QCoreApplication.translate(c, s) for c, s in keys]
assert after_rewrite == before, "the rewritten file changed what is shown"
assert after_truncate == before, "the truncated file changed what is shown"
print("kept", len(keys))
"""


def test_a_qm_rewritten_under_a_running_program_changes_nothing(tmp_path: Path) -> None:
    shipped = i18n.translations_dir() / "dispatcher_hmi_zh_CN.qm"
    (tmp_path / shipped.name).write_bytes(shipped.read_bytes())
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, (res.returncode, res.stderr[-2000:])
    assert res.stdout.startswith("kept ")


def test_a_qm_qt_cannot_read_shows_english(tmp_path: Path, qapp: QApplication) -> None:
    (tmp_path / "dispatcher_hmi_zh_CN.qm").write_bytes(b"not a catalogue")
    installed = i18n.install_translators(qapp, "zh_CN", tmp_path)
    try:
        assert i18n.active_language() == "en"
        assert QCoreApplication.translate("Language", "&Language") == "&Language"
    finally:
        for t in installed:  # Qt's own catalogue may have loaded
            QCoreApplication.removeTranslator(t)
        i18n.install_translators(qapp, "en")
