#!/usr/bin/env bash
# README command 2: set up, then lint and run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installers/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/mypy
# CI also builds the self-contained bundle, which tests/test_bundle.py then runs from a clean
# environment (installers/README.md: ~15 min on a busy 2-core machine). KIDNEYTALK_BUILD_BUNDLE=1|0 overrides.
case "${KIDNEYTALK_BUILD_BUNDLE:-${CI:-0}}" in
  1|true) KIDNEYTALK_SKIP_SETUP=1 bash installers/build-linux.sh ;;
esac
.venv/bin/python -m pytest "$@"
