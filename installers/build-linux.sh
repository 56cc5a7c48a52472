#!/usr/bin/env bash
# Build the self-contained KidneyTalk bundle for Linux (PyInstaller, one folder):
#   bash installers/build-linux.sh              # -> dist/KidneyTalk/
#   bash installers/build-linux.sh --archive    # also dist/KidneyTalk-linux-<arch>.tar.gz
# Sets up .venv first (installers/setup.sh; KIDNEYTALK_SKIP_SETUP=1 skips it, PY=... picks another Python).
# The result runs on a machine without the .venv: KidneyTalk/kidneytalk-gui opens the app (double-click),
# KidneyTalk/kidneytalk is the command line, KidneyTalk/install-desktop-entry.sh adds it to the menu.
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
bash installers/build-bundle.sh

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
