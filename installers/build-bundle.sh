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
# llama.cpp for any CPU of the family instead of the one PY has (compiled for this machine's CPU by
# installers/setup.sh): the portable wheel (installers/build-llama-wheel.sh, cached under build/llama-cpp),
# staged beside KidneyTalk, where the spec takes it from. By default on x86-64, where CPUs differ in
# AVX2/AVX512; KIDNEYTALK_PORTABLE_LLAMA=0 bundles PY's own build (fine for this machine only), =1 forces it.
portable="${KIDNEYTALK_PORTABLE_LLAMA:-}"
if [ -z "$portable" ]; then
  case "$(uname -m)" in x86_64|amd64|AMD64) portable=1 ;; *) portable=0 ;; esac
fi
if [ "$portable" = 1 ]; then
  wheel=$(PY="$PY" bash installers/build-llama-wheel.sh)
  "$PY" -m pip install -q --no-deps --target build/stage "$wheel" >> build/stage.log 2>&1 \
    || { cat build/stage.log >&2; exit 1; }
  echo "Bundling the portable llama.cpp: $wheel"
fi
export KIDNEYTALK_STAGE="$PWD/build/stage"

echo "Building the bundle with PyInstaller (10-20 minutes on 2 cores)..."
nice -n "${KIDNEYTALK_BUILD_NICE:-15}" "$PY" -m PyInstaller --noconfirm --log-level "${PYINSTALLER_LOG:-WARN}" \
  --distpath dist --workpath build/pyinstaller installers/kidneytalk.spec
