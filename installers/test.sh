#!/usr/bin/env bash
# README command 2: set up, then lint and run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installers/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
