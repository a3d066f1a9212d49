#!/usr/bin/env bash
# Set up (first time: a few minutes) and run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
