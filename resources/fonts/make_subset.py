#!/usr/bin/env python3
"""Rebuild the bundled CJK font: a subset of Noto Sans CJK SC, Regular and Bold.

    .venv/bin/pip install fonttools          # a build tool only: the HMI never imports it
    apt-get install -y fonts-noto-cjk        # the source fonts (Debian/Ubuntu)
    .venv/bin/python resources/fonts/make_subset.py [--source-dir DIR]

The subset keeps ASCII and Latin-1, the punctuation, arrows and shapes the
schematic and the lists use, CJK punctuation and full-width forms, every
GB2312 symbol and level-1 hanzi (the 3,755 common characters), and every
character found in the translations (``resources/translations/*.ts``), the
line files (``resources/lines/*.yaml``: station and zone names) and the ui
sources. A character the subset lacks is drawn from the next family in
``ui.style.FONT_FAMILIES`` (a system font), so nothing turns into boxes where
the system has a CJK font; with no CJK font at all, only rare hanzi would.

Run it again after adding a station whose name uses a character outside
GB2312 level 1, or a translation that does; ``OFL.txt`` is rewritten from
the source font's own copyright and licence fields.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FAMILY = "Noto Sans CJK SC"
SOURCES = {"Regular": "NotoSansCJK-Regular.ttc", "Bold": "NotoSansCJK-Bold.ttc"}
DEFAULT_SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
OUTPUT = "NotoSansCJKsc-{style}.subset.otf"

RANGES = (
    (0x20, 0x7E),  # ASCII
    (0xA0, 0xFF),  # Latin-1: ° · × and friends
    (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
    (0x2030, 0x203B),
    (0x2190, 0x2199),  # arrows
    (0x2460, 0x2473),  # circled numbers
    (0x2500, 0x257F),  # box drawing
    (0x25A0, 0x25FF),  # geometric shapes: ■ ● ◆ ▲ ▶ ◀ ▼ ○
    (0x2600, 0x2613),
    (0x2713, 0x2718),  # ✓ ✗
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF01, 0xFF5E),  # full-width forms
    (0xFFE0, 0xFFE6),
)


def gb2312(rows: range) -> set[str]:
    """The characters of GB2312 rows ``rows`` (1-9: symbols, 16-55: level-1 hanzi)."""
    out: set[str] = set()
    for row in rows:
        for col in range(1, 95):
            try:
                out.add(bytes([0xA0 + row, 0xA0 + col]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def project_text() -> set[str]:
    """Every non-ASCII character of the translations, line files and ui sources."""
    files = [
        *sorted((ROOT / "resources" / "translations").glob("*.ts")),
        *sorted((ROOT / "resources" / "lines").glob("*.yaml")),
        *sorted((ROOT / "resources" / "config").glob("*.yaml")),
        *sorted((ROOT / "ui").glob("*.py")),
    ]
    chars: set[str] = set()
    for f in files:
        chars.update(c for c in f.read_text(encoding="utf-8") if ord(c) > 0x7F)
    return chars


def wanted_text() -> str:
    chars = {chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)}
    chars |= gb2312(range(1, 10)) | gb2312(range(16, 56)) | project_text()
    return "".join(sorted(chars))


def sc_face(path: Path) -> TTFont:
    """The Simplified Chinese face of a Noto CJK collection (or the font itself)."""
    if path.suffix.lower() != ".ttc":
        return TTFont(path)
    for font in TTCollection(path).fonts:
        if font["name"].getDebugName(1) == FAMILY:
            return font
    sys.exit(f"make_subset: no '{FAMILY}' face in {path}")


def make(source: Path, target: Path, text: str) -> None:
    font = sc_face(source)
    font.recalcTimestamp = False  # the same bytes from the same sources
    options = subset.Options()
    options.layout_features = ["*"]  # proportional punctuation, fractions...
    options.name_IDs = ["*"]  # keep the copyright and licence fields
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["VORG", "vhea", "vmtx"]  # no vertical text here
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.save(target)


def write_licence(source: Path) -> None:
    name = sc_face(source)["name"]
    ofl = (HERE / "OFL.txt").read_text(encoding="utf-8") if (HERE / "OFL.txt").exists() else ""
    body = ofl.split("-" * 59, 1)[-1] if ofl else ""
    if not body:
        sys.exit("make_subset: OFL.txt missing: restore it from git")
    header = (
        f"{FAMILY} (subset: see make_subset.py), from Noto CJK\n"
        f"{name.getDebugName(0)}\n"
        "with Reserved Font Name 'Source'.\n"
        f"{name.getDebugName(7)}\n\n"
        "This Font Software is licensed under the SIL Open Font License, Version 1.1.\n"
        "This license is copied below, and is also available with a FAQ at:\n"
        "https://openfontlicense.org\n\n"
    )
    (HERE / "OFL.txt").write_text(header + "-" * 59 + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    args = p.parse_args(argv)
    text = wanted_text()
    for style, filename in SOURCES.items():
        source = args.source_dir / filename
        if not source.exists():
            sys.exit(f"make_subset: {source} not found (apt-get install fonts-noto-cjk)")
        target = HERE / OUTPUT.format(style=style)
        make(source, target, text)
        print(f"{target.name}: {target.stat().st_size / 1e6:.2f} MB")
    write_licence(args.source_dir / SOURCES["Regular"])
    print(f"{len(text)} characters asked for")
    return 0


if __name__ == "__main__":
    sys.exit(main())
