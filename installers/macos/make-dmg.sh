#!/usr/bin/env bash
# Wrap dist/KidneyTalk.app (installers/kidneytalk.spec on macOS) in a compressed disk image with an
# Applications link:  bash installers/macos/make-dmg.sh [VERSION]   -> dist/KidneyTalk-<VERSION>-macos-<arch>.dmg
# Uses hdiutil, which every Mac has. The app is not signed or notarised: the first start needs
# right-click > Open (or System Settings > Privacy & Security > Open Anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${1:-0.1.0}"
[ -d dist/KidneyTalk.app ] || { echo "dist/KidneyTalk.app not found: run installers/build-bundle.sh first" >&2; exit 1; }
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R dist/KidneyTalk.app "$staging/"
ln -s /Applications "$staging/Applications"
dmg="dist/KidneyTalk-$version-macos-$(uname -m).dmg"
rm -f "$dmg"
hdiutil create -volname "KidneyTalk" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"
echo "Disk image: $dmg ($(du -sh "$dmg" | cut -f1))"
