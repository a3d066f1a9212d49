#!/usr/bin/env bash
# Install the built app for the current user, the XDG way (no root needed):
#   the app folder          -> $PREFIX (default ~/.local/opt/engram)
#   the menu entry          -> $XDG_DATA_HOME/applications/app.engram.Engram.desktop
#   the icons               -> $XDG_DATA_HOME/icons/hicolor/<size>/apps/app.engram.Engram.{png,svg}
#   the AppStream metadata  -> $XDG_DATA_HOME/metainfo/app.engram.Engram.metainfo.xml
# ($XDG_DATA_HOME defaults to ~/.local/share.) Every file it writes outside $PREFIX is listed
# in $PREFIX/.engram-install, and uninstall.sh removes exactly those. Running it again upgrades
# in place. Your conversations and memories (~/.local/share/Engram) are never touched.
#
# Usage: packaging/install.sh [path/to/dist/engram]
set -euo pipefail
APP_ID="app.engram.Engram"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${1:-}" ]; then src="$1"
elif [ -x "$here/engram" ]; then src="$here"                 # install.sh shipped inside the bundle
else src="$here/../dist/engram"; fi
src="$(cd "$src" 2>/dev/null && pwd)" || { echo "install: no built app at ${1:-$src}" >&2; exit 1; }
[ -x "$src/engram" ] || { echo "install: $src/engram is missing (run packaging/build.sh)" >&2; exit 1; }
assets="$src/_internal/assets"
[ -d "$assets/linux" ] || { echo "install: $assets/linux is missing from the bundle" >&2; exit 1; }

prefix="${PREFIX:-$HOME/.local/opt/engram}"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
case "$prefix" in
  /|"$HOME"|"$HOME/"|/usr|/usr/local|/opt) echo "install: refusing PREFIX=$prefix (use a folder of its own)" >&2; exit 1 ;;
esac
if [ -e "$prefix" ] && [ ! -f "$prefix/.engram-install" ]; then
  echo "install: $prefix exists and is not an Engram install; choose another PREFIX" >&2; exit 1
fi
if [ "$(cd "$prefix" 2>/dev/null && pwd)" = "$src" ]; then
  echo "install: the app is already at $prefix" >&2
else
  # Copy next to the target, then swap, so a failed copy never leaves half an app.
  mkdir -p "$(dirname "$prefix")"
  rm -rf "$prefix.new" "$prefix.old"
  cp -a "$src" "$prefix.new"
  [ -e "$prefix" ] && mv "$prefix" "$prefix.old"
  mv "$prefix.new" "$prefix"
  rm -rf "$prefix.old"
fi

manifest="$prefix/.engram-install"
: >"$manifest"
put() {  # put SOURCE TARGET: copy one file and remember it
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
  printf '%s\n' "$2" >>"$manifest"
}

exe="$prefix/engram"
desktop="$data_home/applications/$APP_ID.desktop"
mkdir -p "$(dirname "$desktop")"
sed -e "s|^Exec=.*|Exec=\"$exe\"|" -e "s|^TryExec=.*|TryExec=$exe|" \
  "$assets/linux/$APP_ID.desktop" >"$desktop.tmp"
mv "$desktop.tmp" "$desktop"
printf '%s\n' "$desktop" >>"$manifest"
put "$assets/linux/$APP_ID.metainfo.xml" "$data_home/metainfo/$APP_ID.metainfo.xml"
for icon in "$assets"/icons/hicolor/*/apps/"$APP_ID".*; do
  size="$(basename "$(dirname "$(dirname "$icon")")")"
  put "$icon" "$data_home/icons/hicolor/$size/apps/$(basename "$icon")"
done

# Let menus notice now rather than at the next login (best effort: the tools may be absent).
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data_home/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t -f "$data_home/icons/hicolor" 2>/dev/null || true
echo "Engram installed in $prefix; it is in your applications menu as \"Engram\"."
echo "To remove it: $prefix/uninstall.sh (your data in ~/.local/share/Engram stays)."
