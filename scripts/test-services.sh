#!/usr/bin/env bash
# System packages some tests need (a real X server for window tests). Installs only when
# missing and when we may (root with apt); otherwise those tests skip with a reason.
set -uo pipefail
if command -v Xvfb >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing Xvfb and X11 libraries for window tests" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-randr0 \
      libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 \
      libfontconfig1 libdbus-1-3 >/dev/null) || echo "[setup] could not install Xvfb; window tests will skip" >&2
fi
exit 0
