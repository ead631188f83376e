"""The bundled CJK font: it loads, comes first, has every character needed, and draws.

Chinese must render on a machine with no CJK font at all: a subprocess starts
the application under an empty fontconfig and finds the bundled font in use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFont, QFontDatabase, QImage, QPainter, QRawFont
from PySide6.QtWidgets import QApplication

from app.config import load_line
from app.paths import resource_dir
from ui import style

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]
FONTS = ROOT / "resources" / "fonts"
TS = ROOT / "resources" / "translations" / "dispatcher_hmi_zh_CN.ts"


def bundled_fonts() -> list[Path]:
    return sorted(FONTS.glob("*.otf"))


def test_the_bundled_font_loads_and_comes_first(qapp: QApplication) -> None:
    files = bundled_fonts()
    assert {f.name for f in files} == {
        "NotoSansCJKsc-Regular.subset.otf",
        "NotoSansCJKsc-Bold.subset.otf",
    }
    assert (FONTS / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") >= 1
    assert sum(f.stat().st_size for f in files) < 6_000_000
    for f in files:
        fid = QFontDatabase.addApplicationFont(str(f))
        assert fid >= 0, f
        assert QFontDatabase.applicationFontFamilies(fid) == ["Noto Sans CJK SC"]
    assert style.FONT_FAMILIES[0] == "Noto Sans CJK SC"
    assert resource_dir() / "fonts" == FONTS  # where ui.runtime loads fonts from


def needed_text() -> str:
    """Every station and zone name of the shipped lines, and every translation."""
    chars: set[str] = set()
    for path in (ROOT / "resources" / "lines").glob("*.yaml"):
        line = load_line(path)
        for name in [line.name_zh, *(s.name_zh for s in line.stations)]:
            chars.update(name)
        chars.update("".join(z.name_zh for z in line.zones))
    if TS.exists():
        for m in ET.parse(TS).getroot().iter("message"):
            chars.update(m.findtext("translation") or "")
    return "".join(sorted(c for c in chars if not c.isspace()))


def test_the_bundled_font_has_every_character_needed(qapp: QApplication) -> None:
    text = needed_text()
    assert "站" in text and len(text) > 300
    for f in bundled_fonts():
        raw = QRawFont(str(f), 16)
        assert raw.isValid(), f
        # by code point: PySide turns a non-Latin-1 str into no QChar at all
        lacking = [c for c in text if not raw.supportsCharacter(ord(c))]
        assert not lacking, f"{f.name} lacks {''.join(lacking)}: run resources/fonts/make_subset.py"


def test_chinese_is_drawn_with_the_bundled_font(qapp: QApplication) -> None:
    """Chinese text paints pixels with the bundled font (what a bare machine would use)."""
    for f in bundled_fonts():
        QFontDatabase.addApplicationFont(str(f))
    image = QImage(200, 40, QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    painter = QPainter(image)
    font = QFont("Noto Sans CJK SC")
    font.setPixelSize(24)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(4, 30, "道岔信号机")
    painter.end()
    assert QRawFont.fromFont(font).familyName() == "Noto Sans CJK SC"
    black = QColor("black").rgb()
    lit = sum(
        1 for x in range(image.width()) for y in range(image.height()) if image.pixel(x, y) != black
    )
    assert lit > 300


NO_FONTS_SCRIPT = """
import sys
from PySide6.QtGui import QFontInfo, QRawFont
from PySide6.QtWidgets import QLabel
from ui.runtime import setup_application

app = setup_application("zh_CN", "offscreen")
label = QLabel("道岔 信号机 尖石村")
raw = QRawFont.fromFont(label.font())
print(QFontInfo(label.font()).family(), raw.familyName(), raw.supportsCharacter(ord("岔")))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fontconfig")
def test_chinese_on_a_machine_without_fonts(tmp_path: Path) -> None:
    """With no system font at all (an empty fontconfig), the bundled one draws Chinese."""
    empty = tmp_path / "fonts"
    empty.mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><dir>{empty}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), QT_QPA_PLATFORM="offscreen")
    env.pop("DISPATCHER_RESOURCES", None)
    result = subprocess.run(
        [sys.executable, "-c", NO_FONTS_SCRIPT],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Noto Sans CJK SC Noto Sans CJK SC True", result.stdout
