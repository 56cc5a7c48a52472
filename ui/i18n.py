"""The UI language: Qt translators for KidneyTalk's own text and Qt's standard dialogs.

``Settings.language`` is ``"en"`` or ``"zh"``. :func:`set_language` installs (or
removes) the translators on the running application; Qt then sends every
widget a ``LanguageChange`` event and each page re-sets its texts in
``retranslate()``, so the switch happens without a restart.

Our catalogue is ``translations/kidneytalk_zh_CN.qm``, compiled from the
``.ts`` file next to it (``scripts/translations.sh`` updates and compiles both).
Qt's own catalogue (``qtbase_zh_CN.qm``: OK/Cancel, file dialogs) comes with PySide6.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator

log = logging.getLogger("kidneytalk.ui")

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# Settings.language -> (name in the language menu, Qt locale name)
LANGUAGES = {"en": ("English", "en_US"), "zh": ("简体中文", "zh_CN")}


def QT_TRANSLATE_NOOP(context: str, message: str) -> str:
    """Mark ``message`` for lupdate (which finds the call by this name) and return it unchanged.

    Qt's own does the same at run time, but PySide6's stub types it ``-> object``, which makes
    every marked text unusable with tr()/translate() for mypy; show it through ``tr()`` as before.
    """
    return message


class _Translators(QObject):
    """Holds the installed translators (child of the application, so they live as long as it)."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.setObjectName("kidneytalkTranslators")
        self.language = "en"
        self.installed: list[QTranslator] = []


def _holder(app: QCoreApplication) -> _Translators:
    found = app.findChild(_Translators, "kidneytalkTranslators")
    return found if isinstance(found, _Translators) else _Translators(app)


def current_language() -> str:
    app = QCoreApplication.instance()
    return _holder(app).language if app is not None else "en"


def set_language(language: str) -> bool:
    """Translate the UI into ``language`` ("en" or "zh"); False when its catalogue is missing.

    Unknown languages fall back to English. Calling it again with the current
    language does nothing (no needless LanguageChange storm).
    """
    app = QCoreApplication.instance()
    if app is None:
        return False
    language = language if language in LANGUAGES else "en"
    holder = _holder(app)
    if language == holder.language and (language == "en" or holder.installed):
        return True
    for translator in holder.installed:
        app.removeTranslator(translator)
    holder.installed.clear()
    holder.language = language
    locale = QLocale(LANGUAGES[language][1])
    QLocale.setDefault(locale)
    if language == "en":
        return True
    ours = QTranslator(holder)
    if not ours.load(locale, "kidneytalk", "_", str(TRANSLATIONS)):
        log.warning(
            "no %s translation in %s; the interface stays in English", language, TRANSLATIONS
        )
        holder.language = "en"
        QLocale.setDefault(QLocale(LANGUAGES["en"][1]))
        return False
    qt = QTranslator(holder)
    if qt.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        holder.installed.append(qt)
    app.installTranslator(ours)
    holder.installed.append(ours)
    return True
