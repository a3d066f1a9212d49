"""Stand-ins for `Embedder` and `VectorIndex` whose work runs in the index worker process.

Same public interface and semantics as `core.index.embedder.Embedder` and
`core.index.vector_index.VectorIndex` (scores are cosine similarities in [-1, 1], higher is closer;
vectors are L2-normalised float32), so `IndexSync`, retrieval, purge and the memory worker use
them unchanged. Thread-safe: `IndexWorker` sends one request at a time. Importing this module
imports neither torch nor chromadb.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.base.settings import Settings
from core.index.embedder import DEFAULT_MODEL_NAME
from core.index.vector_index import IndexEntry
from core.index.worker import IndexWorker, IndexWorkerSpec


class EmbedderProxy:
    """`Embedder` over the index worker. The model loads in the child on first use."""

    def __init__(self, worker: IndexWorker, *, batch_size: int = 64) -> None:
        self._worker = worker
        self._model_spec = worker.spec.embedding_model
        self.batch_size = batch_size
        self._dimension: int | None = None
        self._runtime: str | None = None

    @property
    def name(self) -> str:
        return Path(self._model_spec).name if self._model_spec else DEFAULT_MODEL_NAME

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._worker.call("dimension"))
        return self._dimension

    def max_tokens(self) -> int:
        return int(self._worker.call("max_tokens"))

    @property
    def runtime(self) -> str:
        if self._runtime is None:
            self._runtime = str(self._worker.call("runtime"))
        return self._runtime

    @property
    def vector_family(self) -> str:
        from core.index.embedder import family_of

        return family_of(self.runtime)

    def describe(self) -> dict[str, str]:
        return dict(self._worker.call("describe"))

    def token_counts(self, texts: list[str]) -> list[int]:
        return list(self._worker.call("token_counts", list(texts)))

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._worker.call("encode", texts), dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class VectorIndexProxy:
    """`VectorIndex` over the index worker. The collection opens in the child on first use."""

    def __init__(self, worker: IndexWorker) -> None:
        self._worker = worker
        self._collection_name: str | None = None
        self.location = worker.spec.server_url or worker.spec.chroma_path
        self.chroma_dir = None if worker.spec.server_url else Path(worker.spec.chroma_path)

    @property
    def collection_name(self) -> str:
        """Chosen in the child from the embedder's vector family (collection_for)."""
        if self._collection_name is None:
            self._collection_name = str(self._worker.call("collection_name"))
        return self._collection_name

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._worker.call(f"index.{method}", *args, **kwargs)

    # -- writes -------------------------------------------------------------------------
    def upsert(self, entries: Sequence[IndexEntry], embeddings: np.ndarray) -> None:
        if not entries:
            return
        if len(entries) != len(embeddings):
            raise ValueError("one embedding per entry")
        self._call("upsert", list(entries), np.asarray(embeddings, dtype=np.float32))

    def update_metadata(self, entries: Sequence[IndexEntry]) -> None:
        """Change status/scope without re-embedding. Ids not in the index are skipped."""
        if entries:
            self._call("update_metadata", list(entries))

    def delete(self, memory_ids: Iterable[str]) -> None:
        ids = list(memory_ids)
        if ids:
            self._call("delete", ids)

    def reset(self) -> None:
        """Drop and recreate the collection (used by a full reindex)."""
        self._call("reset")

    def erase(self, memory_ids: Iterable[str], *, force: bool = False) -> dict[str, Any]:
        """Delete and leave no copy of the vectors in the index's files (see
        core.index.erasure)."""
        return self._call("erase", sorted(set(memory_ids)), force=force)

    # -- reads --------------------------------------------------------------------------
    def query(self, embedding: np.ndarray, k: int, *,
              where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Top-k memory ids with cosine similarity, best first."""
        if k <= 0:
            return []
        return self._call("query", np.asarray(embedding, dtype=np.float32), k, where=where)

    def count(self) -> int:
        return int(self._call("count"))

    def existing_ids(self, memory_ids: Sequence[str]) -> list[str]:
        return self._call("existing_ids", list(memory_ids))

    def all_ids(self, batch: int = 5000) -> list[str]:
        return self._call("all_ids", batch)

    def get_metadata(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._call("get_metadata", list(memory_ids))

    def get_embeddings(self, memory_ids: Sequence[str]) -> dict[str, np.ndarray]:
        return self._call("get_embeddings", list(memory_ids)) if memory_ids else {}

    def find_by_hash(self, content_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        return self._call("find_by_hash", list(content_hashes)) if content_hashes else {}


def index_worker_for(settings: Settings, chroma_dir: Path) -> IndexWorker:
    """The worker for a data folder's settings: its embedding model and its Chroma (the
    server when `chroma.server_url` is set, else the embedded folder)."""
    chroma = settings.chroma
    return IndexWorker(IndexWorkerSpec(
        embedding_model=str(settings.memory.embedding_model or ""),
        chroma_path=str(chroma_dir), server_url=chroma.server_url or "",
        collection=chroma.collection, embedding_runtime=settings.memory.embedding_runtime))
