"""The vector index: a Chroma collection of memory embeddings.

SQLite is the source of truth; this index only holds, per memory id, its embedding and a few
filterable fields (kind, scope, status, conversation). No memory text is stored in Chroma, so
purging a memory leaves no text behind here. The whole index can be rebuilt from SQLite
(`engram reindex`).

Scores returned by `query` are cosine similarities in [-1, 1], higher is closer.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from core.base.errors import EngramError
from core.index.erasure import (
    ErasureReport,
    adopt_interrupted_rebuild,
    erase_everywhere,
    remove_stale_segments,
    vacuum,
)

log = logging.getLogger(__name__)

# Chroma must never phone home. Set before chromadb is imported anywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class IndexDamaged(EngramError):
    """Chroma cannot read its own files for this collection: a process killed while Chroma
    wrote them (a known Chroma weakness) or a disk error. SQLite holds everything the index
    holds, so the cure is to drop the collection and embed again (`IndexSync.sync` does it)."""


# Words of the InternalErrors Chroma raises when a collection's HNSW files or its write-ahead
# log cannot be applied (seen here after a SIGKILL during an upsert, and with a torn header).
_DAMAGE_WORDS = ("hnsw", "segment reader", "segment writer", "apply logs", "compactor")


def is_damage(exc: BaseException) -> bool:
    """Whether a Chroma error says the collection's files are damaged (not a bad request)."""
    text = str(exc).lower()
    return type(exc).__name__ == "InternalError" and any(w in text for w in _DAMAGE_WORDS)


@dataclass(frozen=True)
class IndexEntry:
    memory_id: str
    kind: str
    scope: str
    status: str
    conversation_id: str | None
    # Set by the index sync: a hash of the embedded text (the cache key, see core.index.sync)
    # and the runtime that made the vector ("torch", "onnx", "onnx-int8", "derived").
    content_hash: str = ""
    runtime: str = ""

    def metadata(self) -> dict[str, str]:
        meta = {
            "kind": self.kind,
            "scope": self.scope,
            "status": self.status,
            "conversation_id": self.conversation_id or "",
        }
        if self.content_hash:
            meta["content_hash"] = self.content_hash
        if self.runtime:
            meta["runtime"] = self.runtime
        return meta


def collection_for(base: str, vector_family: str) -> str:
    """The collection for vectors of one family (`core.index.embedder.family_of`). fp32 vectors
    (torch, or ONNX checked equal to torch at export) keep the configured name, so existing
    indexes stay valid; int8 vectors are not interchangeable with them and get
    `<base>-onnx-int8`. Switching family therefore means a new collection filled by a reindex,
    never a mix (see core.index.sync's sync state)."""
    if vector_family == "fp32":
        return base
    suffix = "-onnx-" + "".join(c if c.isalnum() else "-" for c in vector_family.lower())
    return (base[: 63 - len(suffix)] + suffix).strip("-")


class VectorIndex:
    """One Chroma collection, embedded (PersistentClient) or on a server (HttpClient).

    Calls are serialised: Chroma's embedded client read a collection's HNSW files while an
    upsert on another thread was rewriting them and failed ("Error creating hnsw segment
    reader: Nothing found on disk"). The desktop app's index worker serialises them anyway
    (one request at a time on its index lane); the lock makes the CLI and scripts the same.
    A damaged collection raises `IndexDamaged`."""

    def __init__(self, client: Any, collection_name: str, *, location: str,
                 chroma_dir: Path | None = None) -> None:
        self._client = client
        self.collection_name = collection_name
        self.location = location
        self.chroma_dir = chroma_dir          # the embedded folder; None on a server
        self._lock = threading.RLock()
        with self._chroma():
            self._collection = self._open_collection()

    @contextmanager
    def _chroma(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except Exception as exc:
                if is_damage(exc):
                    raise IndexDamaged(
                        f"The vector index's files are damaged ({exc}); Engram rebuilds it "
                        "from its database.") from exc
                raise

    # -- construction -------------------------------------------------------------------
    @classmethod
    def embedded(cls, path: Path, collection_name: str = "memories") -> VectorIndex:
        import chromadb

        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        return cls(client, collection_name, location=str(path), chroma_dir=path)

    @classmethod
    def server(cls, url: str, collection_name: str = "memories") -> VectorIndex:
        import chromadb

        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise EngramError(f"Not a Chroma server address: {url!r}")
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=_chroma_settings(),
            )
        except Exception as exc:  # chromadb raises several types for an unreachable server
            raise EngramError(f"Cannot reach the Chroma server at {url}: {exc}") from exc
        return cls(client, collection_name, location=url)

    def _open_collection(self) -> Any:
        adopt_interrupted_rebuild(self._client, self.collection_name)
        return self._client.get_or_create_collection(
            name=self.collection_name,
            embedding_function=None,  # we always pass our own embeddings
            metadata={"hnsw:space": "cosine"},
        )

    # -- writes -------------------------------------------------------------------------
    def upsert(self, entries: Sequence[IndexEntry], embeddings: np.ndarray) -> None:
        if not entries:
            return
        if len(entries) != len(embeddings):
            raise ValueError("one embedding per entry")
        with self._chroma():
            for start in range(0, len(entries), 1000):
                chunk = entries[start : start + 1000]
                self._collection.upsert(
                    ids=[e.memory_id for e in chunk],
                    embeddings=np.asarray(embeddings[start : start + 1000], dtype=np.float32),
                    metadatas=[e.metadata() for e in chunk],
                )

    def update_metadata(self, entries: Sequence[IndexEntry]) -> None:
        """Change status/scope without re-embedding. Ids not in the index are skipped."""
        with self._chroma():
            present = set(self.existing_ids([e.memory_id for e in entries]))
            chunk = [e for e in entries if e.memory_id in present]
            if chunk:
                self._collection.update(
                    ids=[e.memory_id for e in chunk], metadatas=[e.metadata() for e in chunk]
                )

    def delete(self, memory_ids: Iterable[str]) -> None:
        ids = list(memory_ids)
        with self._chroma():
            for start in range(0, len(ids), 1000):
                self._collection.delete(ids=ids[start : start + 1000])

    def reset(self) -> None:
        """Drop and recreate the collection (a full reindex, a damaged collection). The
        dropped segment's folder, which Chroma leaves behind with every vector, is removed
        too. Dropping works on a damaged collection: Chroma does not read its files."""
        with self._chroma():
            try:
                self._client.delete_collection(self.collection_name)
            except Exception:  # noqa: BLE001, S110 - absent already
                pass
            self._collection = self._open_collection()
            if self.chroma_dir is not None:
                remove_stale_segments(self.chroma_dir)

    def erase(self, memory_ids: Iterable[str], *, force: bool = False) -> dict[str, Any]:
        """Delete these ids and leave no copy of their vectors (or earlier versions of them)
        in the index's files: see core.index.erasure. `force` rebuilds even when none of
        the ids is in the collection now (finishing an interrupted purge). Returns an
        ErasureReport as a dict.

        A damaged collection cannot be copied without the erased ids, so it is dropped
        whole (its folder removed, chroma.sqlite3 vacuumed) and the report says `dropped`:
        every other memory then needs its vector again (the caller marks them)."""
        ids = sorted(set(memory_ids))
        try:
            with self._chroma():
                self._collection, report = erase_everywhere(
                    self._client, self._collection, ids, force=force, chroma_dir=self.chroma_dir)
        except IndexDamaged as exc:
            log.warning("erasing from a damaged index: dropping it whole (%s)", exc)
            self.reset()
            report = ErasureReport("embedded" if self.chroma_dir is not None else "server",
                                   requested=len(ids), rebuilt=True, dropped=True)
            report.vacuumed = self.chroma_dir is not None and vacuum(self.chroma_dir)
        log.info("erased %d vectors (%d present; rebuilt: %s, %d kept)", report.requested,
                 report.present, report.rebuilt, report.kept)
        return report.to_dict()

    # -- reads --------------------------------------------------------------------------
    def query(
        self,
        embedding: np.ndarray,
        k: int,
        *,
        where: dict[str, Any] | None = None,
    ) -> list[tuple[str, float]]:
        """Top-k memory ids with cosine similarity, best first."""
        if k <= 0:
            return []
        with self._chroma():
            result = self._collection.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)],
                n_results=k,
                where=where or None,
                include=["distances"],
            )
        ids = result["ids"][0] if result["ids"] else []
        distances = result["distances"][0] if result.get("distances") else []
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances)]

    def count(self) -> int:
        with self._chroma():
            return int(self._collection.count())

    def existing_ids(self, memory_ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        with self._chroma():
            for start in range(0, len(memory_ids), 1000):
                got = self._collection.get(ids=list(memory_ids[start : start + 1000]),
                                           include=[])
                found.extend(got["ids"])
        return found

    def all_ids(self, batch: int = 5000) -> list[str]:
        out: list[str] = []
        offset = 0
        with self._chroma():
            while True:
                got = self._collection.get(include=[], limit=batch, offset=offset)
                if not got["ids"]:
                    return out
                out.extend(got["ids"])
                offset += len(got["ids"])

    def get_embeddings(self, memory_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by memory id (ids not in the index are left out)."""
        out: dict[str, np.ndarray] = {}
        with self._chroma():
            for start in range(0, len(memory_ids), 1000):
                got = self._collection.get(ids=list(memory_ids[start : start + 1000]),
                                           include=["embeddings"])
                for mid, vec in zip(got["ids"], got["embeddings"]):
                    out[mid] = np.asarray(vec, dtype=np.float32)
        return out

    def find_by_hash(self, content_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """A stored vector for each content hash that has one (the embedding cache)."""
        out: dict[str, np.ndarray] = {}
        hashes = list(dict.fromkeys(content_hashes))
        with self._chroma():
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                got = self._collection.get(where={"content_hash": {"$in": chunk}},
                                           include=["embeddings", "metadatas"])
                for meta, vec in zip(got["metadatas"], got["embeddings"]):
                    out[(meta or {}).get("content_hash", "")] = np.asarray(vec, np.float32)
        out.pop("", None)
        return out

    def get_metadata(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._chroma():
            for start in range(0, len(memory_ids), 1000):
                got = self._collection.get(
                    ids=list(memory_ids[start : start + 1000]), include=["metadatas"]
                )
                out.update(dict(zip(got["ids"], got["metadatas"])))
        return out


def _chroma_settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=True)
