#!/usr/bin/env bash
# README command 1: set up, then open the desktop app (or, without a display,
# run the terminal demo on the bundled sample document and models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installers/setup.sh
exec .venv/bin/kidneytalk start "$@"
