"""Chinese is drawn on a desktop without a CJK font, from the font the bundle carries (issue 14,
point 1: "the CJK font handling"). A desktop without fonts is a child process whose fontconfig
knows no font folder; the bundle's font folder is a temporary one holding this machine's Noto
Sans CJK (the file installers/kidneytalk.spec bundles)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
REPO = Path(__file__).resolve().parents[1]

# Lays out a Chinese word with the default font after ensure_cjk_font(); prints what was drawn.
PROBE = """
import json, sys
from pathlib import Path
from PySide6.QtGui import QFont, QFontDatabase, QTextLayout
from PySide6.QtWidgets import QApplication
from kidneytalk.ui.fonts import ensure_cjk_font
app = QApplication([])
ws = QFontDatabase.WritingSystem.SimplifiedChinese
before = bool(QFontDatabase.families(ws))
used = ensure_cjk_font(Path(sys.argv[1]))
layout = QTextLayout("慢性肾脏病", QFont())
layout.beginLayout(); layout.createLine(); layout.endLayout()
runs = [(r.rawFont().familyName(), list(r.glyphIndexes())) for r in layout.glyphRuns()]
print(json.dumps({"before": before, "used": used, "runs": runs}))
"""


def _probe(font_dir: Path, tmp_path: Path, *, no_fonts: bool) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if no_fonts:
        conf = tmp_path / "fonts.conf"
        conf.write_text(
            '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
            f"<fontconfig><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>",
            encoding="utf-8",
        )
        env["FONTCONFIG_FILE"] = str(conf)  # a desktop with no fonts installed at all
    res = subprocess.run(
        [sys.executable, "-c", PROBE, str(font_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def _drawn(runs: list) -> bool:
    """Every character got a real glyph of a CJK font (not the empty box every missing one gets)."""
    glyphs = [g for _family, ids in runs for g in ids]
    return (
        len(glyphs) == 5 and len(set(glyphs)) == 5 and all("CJK" in family for family, _ids in runs)
    )


@pytest.mark.skipif(not NOTO.is_file(), reason="fonts-noto-cjk not installed (apt)")
def test_a_desktop_without_cjk_fonts_draws_chinese_with_the_bundled_font(tmp_path: Path) -> None:
    bundled = tmp_path / "cjk-font"
    bundled.mkdir()
    (bundled / NOTO.name).symlink_to(NOTO)
    (bundled / "copyright").write_text("SIL Open Font License\n", encoding="utf-8")

    without = _probe(tmp_path / "empty", tmp_path, no_fonts=True)  # a source install there
    assert not without["before"] and without["used"] == "" and not _drawn(without["runs"])

    fixed = _probe(bundled, tmp_path, no_fonts=True)  # the bundle there
    assert not fixed["before"] and fixed["used"] == "Noto Sans CJK SC"
    assert _drawn(fixed["runs"]), fixed["runs"]

    here = _probe(bundled, tmp_path, no_fonts=False)  # a desktop with a CJK font: left as it is
    assert here["before"] and here["used"] == "system" and _drawn(here["runs"])
