#!/usr/bin/env bash
# Remove what install.sh put in place: the files listed in $PREFIX/.engram-install (menu entry,
# icons, metadata) and the app folder $PREFIX itself. Nothing else: your conversations,
# memories and settings (~/.local/share/Engram, ~/.config/Engram) stay; delete them yourself
# if you want them gone.
#
# Usage: uninstall.sh   (PREFIX as for install.sh; default ~/.local/opt/engram)
set -euo pipefail
APP_ID="app.engram.Engram"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${PREFIX:-}" ] && [ -f "$here/.engram-install" ]; then prefix="$here"   # run from the install
else prefix="${PREFIX:-$HOME/.local/opt/engram}"; fi
manifest="$prefix/.engram-install"
if [ ! -f "$manifest" ]; then
  echo "uninstall: no Engram install at $prefix (nothing removed)" >&2
  exit 1
fi
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
while IFS= read -r file; do
  case "$file" in
    */applications/"$APP_ID".desktop|*/metainfo/"$APP_ID".metainfo.xml|*/icons/hicolor/*/apps/"$APP_ID".*)
      rm -f -- "$file" ;;
    *) echo "uninstall: skipped unexpected manifest entry: $file" >&2 ;;
  esac
done <"$manifest"
rm -rf -- "$prefix"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data_home/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null && [ -d "$data_home/icons/hicolor" ] && gtk-update-icon-cache -q -t -f "$data_home/icons/hicolor" 2>/dev/null || true
echo "Engram removed from $prefix and from the applications menu."
echo "Your data is still in ~/.local/share/Engram and ~/.config/Engram."
