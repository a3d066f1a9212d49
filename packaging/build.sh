#!/usr/bin/env bash
# Build Engram as a one-folder desktop app: dist/engram/engram (+ dist/engram/_internal).
# From a fresh clone this first sets up .venv (scripts/setup.sh, about 6 minutes the first time).
#
# Environment:
#   ENGRAM_BUNDLE_STARTER=0  leave the 245 MB starter model out of the bundle
#   ENGRAM_PORTABLE=1        (set-up) build llama.cpp without -march=native, for other CPUs
#   DIST, WORK               output and scratch folders (default: dist/, build/pyinstaller/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dist="${DIST:-$root/dist}"
work="${WORK:-$root/build/pyinstaller}"
py="$root/.venv/bin/python"

bash scripts/setup.sh                     # the venv, with the dev extra (PyInstaller)
if ! "$py" -c 'import PyInstaller' 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check "pyinstaller>=6.10,<7"
fi
"$py" packaging/render_icons.py --check >/dev/null || "$py" packaging/render_icons.py

echo "[build] PyInstaller (one folder) -> $dist/engram" >&2
start=$(date +%s)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/engram.spec
seconds=$(( $(date +%s) - start ))

app="$dist/engram/engram"
[ -x "$app" ] || { echo "[build] failed: $app was not produced" >&2; exit 1; }
cp packaging/install.sh packaging/uninstall.sh "$dist/engram/"   # the folder installs itself
# The bundle must answer on the command line with no Python set-up around it.
check_home="$(mktemp -d)"
env -i HOME="$check_home" PATH=/usr/bin:/bin ENGRAM_HOME="$check_home/data" "$app" info >/dev/null \
  || { echo "[build] failed: '$app info' did not run" >&2; rm -rf "$check_home"; exit 1; }
rm -rf "$check_home"
size=$(du -sh "$dist/engram" | cut -f1)
echo "[build] done in ${seconds}s: $dist/engram ($size)" >&2
