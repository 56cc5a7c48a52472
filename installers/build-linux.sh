#!/usr/bin/env bash
# Build the self-contained KidneyTalk bundle for Linux (PyInstaller, one folder):
#   bash installers/build-linux.sh            # -> dist/KidneyTalk/ (+ dist/KidneyTalk-linux-<arch>.tar.gz with --archive)
# Needs the project's .venv (installers/setup.sh runs first; KIDNEYTALK_SKIP_SETUP=1 skips it).
# The result runs on a machine without the .venv: dist/KidneyTalk/kidneytalk-gui opens the app,
# dist/KidneyTalk/kidneytalk is the command line, install-desktop-entry.sh adds it to the menu.
set -euo pipefail
cd "$(dirname "$0")/.."
archive=0
for arg in "$@"; do
  case "$arg" in
    --archive) archive=1 ;;
    *) echo "usage: bash installers/build-linux.sh [--archive]" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
[ "${KIDNEYTALK_SKIP_SETUP:-0}" = 1 ] || bash installers/setup.sh
PY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

# The build tools: the "build" extra of pyproject.toml (PyInstaller, pinned), without touching the app's packages.
build_reqs=$("$PY" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["build"]))')
"$PY" -m pip install -q $build_reqs

# KidneyTalk as a plain (non-editable) install, so the bundle holds exactly the declared package files.
rm -rf build/stage
"$PY" -m pip install -q --no-deps --no-build-isolation --target build/stage . 2>&1 \
  | grep -v -i "warning\|deprecat\|!!\|\*\*\*\*\|^ *$\|See https\|License\|setuptools\|Please\|By 20" || true
export KIDNEYTALK_STAGE="$PWD/build/stage"

echo "Building the bundle with PyInstaller (about 10 minutes on 2 cores)..."
nice -n "${KIDNEYTALK_BUILD_NICE:-15}" "$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller installers/kidneytalk.spec

out=dist/KidneyTalk
cp installers/linux/kidneytalk.desktop installers/kidneytalk.png installers/kidneytalk.svg "$out/"
install -m 755 installers/linux/install-desktop-entry.sh "$out/install-desktop-entry.sh"
cp installers/linux/README-bundle.txt "$out/README.txt"
echo "Bundle: $out ($(du -sh "$out" | cut -f1)), built in $(( $(date +%s) - start )) s"
if [ "$archive" = 1 ]; then
  tarball="dist/KidneyTalk-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$tarball" KidneyTalk
  echo "Archive: $tarball ($(du -sh "$tarball" | cut -f1))"
fi
