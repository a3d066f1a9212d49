"""The index worker: a child process (multiprocessing, spawn) that owns the embedding model
and the Chroma client.

Why a process: sentence-transformers (torch) and Chroma's embedded client hold Python's GIL in
long C calls (importing torch, each Chroma upsert: about 30 ms plus 1.5 ms per vector). On a
thread of the desktop app that freezes the window; in another process it costs nothing there.
The desktop app therefore never imports torch, sentence_transformers or chromadb itself; the
CLI, the benchmarks and the tests keep both in-process (see `Engram(index_process=...)`).

It is a `core.base.worker_client` worker with two lanes: the *embed* lane (encoding) and the
*index* lane (Chroma); numpy arrays travel pickled. Two lanes let the index sync write one
batch to Chroma while the next is encoded (both are native code that leaves the GIL to the
other for most of the time), so the child keeps the cores it is given busy. `IndexWorker` is
the parent's side; a dead child becomes an `IndexWorkerError` on the call under way and a
fresh child starts on the next one.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from core.base.errors import EngramError
from core.base.worker_client import WorkerClient, run_child

log = logging.getLogger(__name__)

# VectorIndex methods the child serves; anything else is refused.
INDEX_METHODS = frozenset({"upsert", "update_metadata", "delete", "erase", "reset", "query",
                           "count", "existing_ids", "all_ids", "get_metadata", "get_embeddings",
                           "find_by_hash"})


class IndexWorkerError(EngramError):
    """The index worker died, did not start, or failed in a way the parent cannot rebuild."""


@dataclass(frozen=True)
class IndexWorkerSpec:
    """What the child opens: the embedding model folder ("" = the bundled MiniLM) and either
    an embedded Chroma folder or a server URL."""

    embedding_model: str = ""
    chroma_path: str = ""
    server_url: str = ""
    collection: str = "memories"       # the configured base name (see collection_for)
    embedding_runtime: str = "auto"


EMBED_OPS = frozenset({"encode", "dimension", "max_tokens", "runtime", "describe",
                       "token_counts", "ping"})


# -- the child -------------------------------------------------------------------------------
class _Server:
    def __init__(self, spec: IndexWorkerSpec) -> None:
        self.spec = spec
        self._embedder: Any = None
        self._index: Any = None
        self._lock = threading.RLock()      # both lanes may ask for these first

    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from core.index.embedder import Embedder

                self._embedder = Embedder(self.spec.embedding_model,
                                          runtime=self.spec.embedding_runtime)
            return self._embedder

    @property
    def index(self) -> Any:
        with self._lock:
            if self._index is None:
                from pathlib import Path

                from core.index.vector_index import VectorIndex, collection_for

                name = collection_for(self.spec.collection, self.embedder.vector_family)
                if self.spec.server_url:
                    self._index = VectorIndex.server(self.spec.server_url, name)
                else:
                    self._index = VectorIndex.embedded(Path(self.spec.chroma_path), name)
            return self._index

    def handle(self, op: str, args: tuple, kwargs: dict, _emit: Any) -> Any:
        if op == "encode":
            return self.embedder.encode(*args)
        if op == "dimension":
            return self.embedder.dimension
        if op == "max_tokens":
            return self.embedder.max_tokens()
        if op == "runtime":
            return self.embedder.runtime
        if op == "describe":
            return self.embedder.describe()
        if op == "token_counts":
            return self.embedder.token_counts(*args)
        if op == "collection_name":
            return self.index.collection_name
        if op == "ping":
            return os.getpid()
        if op.startswith("index.") and op[6:] in INDEX_METHODS:
            return getattr(self.index, op[6:])(*args, **kwargs)
        raise EngramError(f"unknown index worker request {op!r}")


def worker_main(lanes: tuple, spec: IndexWorkerSpec) -> None:
    run_child(lanes, _Server(spec).handle)


# -- the parent ------------------------------------------------------------------------------
class IndexWorker(WorkerClient):
    """The parent's handle on the child. Thread-safe; starts the child on first use."""

    def __init__(self, spec: IndexWorkerSpec) -> None:
        super().__init__(worker_main, "engram-index-worker", spec, lanes=("index", "embed"),
                         what="The index worker (embeddings and vector index)",
                         died=IndexWorkerError, unknown=_unknown_error)
        self.spec = spec

    def call(self, op: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().call(op, *args, lane="embed" if op in EMBED_OPS else "index", **kwargs)


def _unknown_error(name: str, message: str) -> Exception:
    return IndexWorkerError(f"The vector index failed ({name}): {message}")
