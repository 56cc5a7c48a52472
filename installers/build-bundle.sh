#!/usr/bin/env bash
# The platform-neutral part of every bundle build (Linux, macOS, Windows under Git Bash):
# PyInstaller from the "build" extra, KidneyTalk staged as a plain install, then installers/kidneytalk.spec.
#   PY=.venv/bin/python bash installers/build-bundle.sh     # -> dist/KidneyTalk/ (and dist/KidneyTalk.app on macOS)
# PY is a Python that already has KidneyTalk's dependencies (installers/setup.sh, or the CI workflow's steps).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CONSTRAINT="$PWD/installers/constraints.txt"  # the tested versions (installers/setup.sh)

# The build tools: the "build" extra of pyproject.toml (PyInstaller, pinned), without touching the app's packages.
build_reqs=$("$PY" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["build"]))')
"$PY" -m pip install -q $build_reqs

# KidneyTalk as a plain (non-editable) install, so the bundle holds exactly the declared package files.
rm -rf build/stage && mkdir -p build
"$PY" -m pip install -q --no-deps --no-build-isolation --target build/stage . > build/stage.log 2>&1 \
  || { cat build/stage.log >&2; exit 1; }
export KIDNEYTALK_STAGE="$PWD/build/stage"

echo "Building the bundle with PyInstaller (10-20 minutes on 2 cores)..."
nice -n "${KIDNEYTALK_BUILD_NICE:-15}" "$PY" -m PyInstaller --noconfirm --log-level "${PYINSTALLER_LOG:-WARN}" \
  --distpath dist --workpath build/pyinstaller installers/kidneytalk.spec
