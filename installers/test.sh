#!/usr/bin/env bash
# README command 2: set up, then lint and run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installers/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .  # ruff is pinned in the test extra, so the format is the same everywhere
.venv/bin/python scripts/typecheck.py  # mypy on the package as installed (see the script)
# The self-contained bundle is built too, and tests/test_bundle.py runs it from a clean environment
# (installers/README.md: ~6 min on a quiet 2-core machine, 14 on a busy one, plus ~12 min for the portable
# llama.cpp wheel on x86-64, cached in build/llama-cpp/ after the first time). KIDNEYTALK_BUILD_BUNDLE=0
# skips the build for a quicker local run (the bundle test is then skipped).
case "${KIDNEYTALK_BUILD_BUNDLE:-1}" in
  1|true) KIDNEYTALK_SKIP_SETUP=1 bash installers/build-linux.sh ;;
esac
.venv/bin/python -m pytest "$@"
