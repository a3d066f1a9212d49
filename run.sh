#!/usr/bin/env bash
# Set up (first time: a few minutes) and open Engram. Arguments go to the app.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/setup.sh
exec .venv/bin/engram-gui "$@"
