#!/usr/bin/env bash
# Add KidneyTalk to this user's application menu (no root needed):
#   ./install-desktop-entry.sh            # from inside the unpacked KidneyTalk folder
#   ./install-desktop-entry.sh --remove   # take it out again
# Writes ~/.local/share/applications/kidneytalk.desktop pointing at this folder, and the icon.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$apps/kidneytalk.desktop" "$icons/kidneytalk.png"
  echo "KidneyTalk removed from the application menu (the folder $here is left as it is)."
  exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/kidneytalk.png" "$icons/kidneytalk.png"
sed -e "s|^Exec=.*|Exec=\"$here/kidneytalk-gui\"|" -e "s|^TryExec=.*|TryExec=$here/kidneytalk-gui|" \
  -e "s|^Icon=.*|Icon=$here/kidneytalk.png|" "$here/kidneytalk.desktop" > "$apps/kidneytalk.desktop"
chmod 755 "$apps/kidneytalk.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
echo "KidneyTalk is in the application menu ($apps/kidneytalk.desktop)."
