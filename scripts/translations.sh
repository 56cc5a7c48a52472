#!/usr/bin/env bash
# Refresh the Chinese UI catalogue after changing interface text, then compile it.
#   bash scripts/translations.sh
# New strings appear in ui/translations/kidneytalk_zh_CN.ts as "unfinished": translate
# them (pyside6-linguist, or any text editor) and run this again. Untranslated strings
# are shown in English.
set -euo pipefail
cd "$(dirname "$0")/.."
ts=ui/translations/kidneytalk_zh_CN.ts
.venv/bin/pyside6-lupdate ui/*.py -ts "$ts" -target-language zh_CN -no-obsolete
.venv/bin/pyside6-lrelease "$ts" -qm "${ts%.ts}.qm"
