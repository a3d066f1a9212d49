"""`engram --selftest`: prove, inside the built bundle, that every heavy part loads and works.

The smoke test only sees a window; this runs the parts a window does not touch at start-up:
SQLite + the offline MiniLM embeddings + Chroma's Rust bindings in the spawned index worker (a
memory is stored, indexed and found again), llama.cpp in the spawned worker process (a generated tiny GGUF generates tokens,
which proves `freeze_support` and the bundled llama_cpp/lib), and the starter model (its
chunks joined into a GGUF that llama.cpp loads and generates from, as on a first launch).
Prints one line per check and exits non-zero if any fails. Everything happens in a temp folder.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path


def check_memory_roundtrip(tmp: Path) -> str:
    """As the desktop app does it: embeddings and Chroma in the index worker process."""
    from core.base.paths import DataLayout
    from core.services.engine import Engram

    eng = Engram(DataLayout.single(tmp / "home"), index_process=True)
    try:
        mem = eng.memories.create("fact", "The user's cat is called Miso.", actor="user")
        eng.index_sync.sync()
        hits = eng.index.query(eng.embedder.encode_one("What is my cat's name?"), 1)
        if not hits or hits[0][0] != mem.id:
            raise AssertionError(f"the stored memory was not found again: {hits}")
        return (f"stored, embedded ({eng.embedder.name}) in the index worker and found "
                f"(similarity {hits[0][1]:.2f})")
    finally:
        eng.close()


def check_model_worker(tmp: Path) -> str:
    from app.benchmarks.synthetic_gguf import write_tiny_gguf
    from core.base.llm import GenerationParams
    from core.runtime.local_llm import LocalLLM

    path = write_tiny_gguf(tmp / "tiny.gguf")
    with LocalLLM(path) as llm:
        _, stats = llm.complete("Hello", GenerationParams(max_tokens=4, ignore_eos=True, seed=1))
        pid = llm.pid
    if stats.completion_tokens < 1 or pid in (None, os.getpid()):
        raise AssertionError(f"no tokens from a separate worker (pid {pid}, {stats})")
    return f"worker process {pid} generated {stats.completion_tokens} tokens"


def check_starter_model(tmp: Path) -> str:
    """What "Start with the starter model" does on first launch: join the chunks into a GGUF
    (sha256 checked), then load it in the worker and generate a few tokens."""
    from core.base.llm import GenerationParams
    from core.runtime.local_llm import LocalLLM
    from core.runtime.starter_model import ensure_starter_model, starter_model_status

    if not starter_model_status(tmp / "models").installed:
        return "not bundled (ENGRAM_BUNDLE_STARTER=0)"
    path = ensure_starter_model(tmp / "models")
    with LocalLLM(path) as llm:
        _, stats = llm.complete("The capital of France is",
                                GenerationParams(max_tokens=4, temperature=0.0, seed=1))
    if stats.completion_tokens < 1:
        raise AssertionError(f"the starter model generated nothing: {stats}")
    return (f"bundled: assembled {path.stat().st_size >> 20} MB GGUF, "
            f"generated {stats.completion_tokens} tokens")


CHECKS: list[tuple[str, Callable[[Path], str]]] = [
    ("memory", check_memory_roundtrip),
    ("model-worker", check_model_worker),
    ("starter-model", check_starter_model),
]


def main() -> int:
    failed = 0
    with tempfile.TemporaryDirectory(prefix="engram-selftest-") as tmp:
        for name, check in CHECKS:
            t0 = time.perf_counter()
            try:
                detail, ok = check(Path(tmp)), True
            except Exception as exc:  # noqa: BLE001 (report every check, then fail)
                detail, ok = f"{type(exc).__name__}: {exc}", False
                traceback.print_exc(file=sys.stderr)
            failed += not ok
            print(json.dumps({"check": name, "ok": ok, "seconds": round(time.perf_counter() - t0, 2),
                              "detail": detail}), flush=True)
    return 1 if failed else 0
