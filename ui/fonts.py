"""A font for Chinese text when the computer has none.

The interface has a Simplified Chinese translation, and documents and answers are often
Chinese. Qt draws with the system's fonts; a Linux desktop without a CJK font (no
``fonts-noto-cjk``) would show every Chinese character as an empty box. The self-contained
bundle therefore carries one CJK font (``kidneytalk/ui/cjk-font/``, put there by
``installers/kidneytalk.spec`` from the build machine) and registers it at start, only when
no installed font covers Chinese; a source install has no such folder and uses the system's.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QFontDatabase

log = logging.getLogger("kidneytalk.ui.fonts")

FONT_DIR = Path(__file__).resolve().parent / "cjk-font"  # not "fonts", the name of this module
FONT_SUFFIXES = (".ttc", ".otf", ".ttf")


def ensure_cjk_font(font_dir: Path = FONT_DIR) -> str:
    """Make sure Chinese can be drawn; call once a QGuiApplication exists.

    Returns "system" when an installed font covers Simplified Chinese, else the family
    of the font registered from ``font_dir``, else "" (a warning names the package to install).
    """
    if QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese):
        return "system"
    files = sorted(f for f in font_dir.glob("*") if f.suffix.lower() in FONT_SUFFIXES)
    for f in files:
        font_id = QFontDatabase.addApplicationFont(str(f))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        if families:
            family = next((name for name in families if name.endswith(" SC")), families[0])
            log.info("no installed font covers Chinese; using the bundled %s (%s)", family, f.name)
            return family
    log.warning(
        "no installed font covers Chinese, so Chinese text shows as empty boxes; install one "
        "(Debian/Ubuntu: fonts-noto-cjk)"
    )
    return ""
