#!/usr/bin/env bash
# Launch the built app under Xvfb with a fresh data folder, wait for its main window, save a
# screenshot, check that a second launch hands over to the first, and run the bundle's
# self-test (embeddings, Chroma, llama.cpp worker process). Exits non-zero if anything fails.
#
# Usage: packaging/smoke.sh [path/to/dist/engram/engram]
# Environment: TIMEOUT (seconds to wait for the window, default 120), QUIT_TIMEOUT (default 60),
# OUT (screenshot folder, default build/smoke), SKIP_SELFTEST=1, KEEP=1 (keep the temp folder).
# Needs: Xvfb, xdotool, ImageMagick's `import` (apt-get install xvfb xdotool imagemagick,
# plus the xcb libraries listed in packaging/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
app="$(realpath "${1:-$root/dist/engram/engram}")"
timeout_s="${TIMEOUT:-120}"
out="${OUT:-$root/build/smoke}"
log() { printf '[smoke] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

[ -x "$app" ] || fail "no app at $app (run packaging/build.sh first)"
for tool in Xvfb xdotool import; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install xvfb xdotool imagemagick)"
done
mkdir -p "$out"
tmp="$(mktemp -d)"
xvfb_pid="" app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill -9 "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  if [ "${KEEP:-0}" = "1" ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# A free display number, and a virtual screen of a common laptop size.
display=99
while [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1366x850x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || fail "Xvfb did not start: $(cat "$tmp/xvfb.log")"

# A clean environment: no Python, no venv, a fresh HOME and data folder, only the display.
mkdir -p "$tmp/home" "$tmp/data"
run_env=(env -i "HOME=$tmp/home" "PATH=/usr/bin:/bin" "DISPLAY=:$display"
         "ENGRAM_HOME=$tmp/data" "QT_QPA_PLATFORM=xcb" "LANG=${LANG:-C.UTF-8}")

log "launching $app on :$display"
t0=$(date +%s.%N)
"${run_env[@]}" "$app" >"$tmp/app.log" 2>&1 &
app_pid=$!
wid=""
deadline=$(( $(date +%s) + timeout_s ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    tail -n 40 "$tmp/app.log" >&2
    fail "the app exited before showing its window"
  fi
  wid="$(DISPLAY=":$display" xdotool search --onlyvisible --name '^Engram' 2>/dev/null | head -n1 || true)"
  [ -n "$wid" ] && break
  sleep 0.2
done
if [ -z "$wid" ]; then
  tail -n 40 "$tmp/app.log" >&2
  fail "no window named Engram within ${timeout_s}s"
fi
start_s=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
log "window $wid shown after ${start_s}s: $(DISPLAY=":$display" xdotool getwindowname "$wid")"
if command -v xprop >/dev/null; then
  log "WM_CLASS: $(DISPLAY=":$display" xprop -id "$wid" WM_CLASS | cut -d= -f2)"
fi
sleep 3   # let the first frame and the conversation list paint
DISPLAY=":$display" import -window root "$out/engram-smoke.png"
log "screenshot: $out/engram-smoke.png"

# Single instance: a second launch on the same data folder must hand over and exit quickly.
t1=$(date +%s)
"${run_env[@]}" timeout 60 "$app" >"$tmp/second.log" 2>&1 || fail "second launch failed: $(cat "$tmp/second.log")"
windows=$(DISPLAY=":$display" xdotool search --onlyvisible --name '^Engram' | wc -l)
[ "$windows" -eq 1 ] || fail "expected one Engram window after a second launch, found $windows"
kill -0 "$app_pid" 2>/dev/null || fail "the first instance died when the second was launched"
log "second launch handed over in $(( $(date +%s) - t1 ))s; still one window"

# Quit like a user would: click into the window (no window manager gives it focus) and press
# Ctrl+Q. Quitting waits for background work (e.g. the embedder's warm-up), so a slow quit is
# reported, not failed; processes left behind after the app is gone are a failure.
DISPLAY=":$display" xdotool mousemove --window "$wid" 130 400 click 1
sleep 0.5
t2=$(date +%s.%N)
DISPLAY=":$display" xdotool key ctrl+q
quit_limit="${QUIT_TIMEOUT:-60}"
for _ in $(seq $((quit_limit * 10))); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
quit_s=$(awk -v a="$(date +%s.%N)" -v b="$t2" 'BEGIN { printf "%.1f", a - b }')
if kill -0 "$app_pid" 2>/dev/null; then
  log "WARNING: the app had not quit ${quit_s}s after Ctrl+Q; killing it"
  kill -9 "$app_pid"
else
  log "quit on Ctrl+Q in ${quit_s}s"
fi
wait "$app_pid" 2>/dev/null || true
app_pid=""
sleep 1
if pgrep -f "^$app( |$)" >/dev/null; then fail "app processes still running: $(pgrep -af "^$app( |$)")"; fi

if [ "${SKIP_SELFTEST:-0}" != "1" ]; then
  log "self-test inside the bundle (embeddings, Chroma, llama.cpp worker)"
  "${run_env[@]}" "$app" --selftest | tee "$out/selftest.jsonl" >&2 \
    || fail "the bundle's self-test failed"
fi
printf '%s\n' "$start_s" >"$out/start-seconds.txt"
log "PASS (window after ${start_s}s)"
