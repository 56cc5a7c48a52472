#!/usr/bin/env bash
# README command 2: set up, then lint and run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installers/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/python scripts/typecheck.py  # mypy on the package as installed (see the script)
.venv/bin/python -m pytest "$@"
