"""The two probes of a purge test: the text (UTF-8 and UTF-16) and the vector (the purged
text embedded again with the same model, looked for in every file in float32, float64 and
float16 at every alignment: app.benchmarks.vector_probe). Some vectors are not an embedding of their
memory's text (a turn window's is the mean of its turns' vectors), so the vectors the index
held before the purge are probed for as well (`stored_vector_hits`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.benchmarks.vector_probe import files_under, find_vectors
from core.index.vector_index import IndexEntry


def files_containing(root: Path, marker: str) -> list[str]:
    needles = [marker.encode("utf-8"), marker.encode("utf-16-le")]
    hits = []
    for path in files_under(root):
        data = path.read_bytes()
        if any(n in data for n in needles):
            hits.append(str(path.relative_to(root)))
    return hits


def vector_hits(root: Path, embedder, texts: list[str]) -> dict[str, list[str]]:
    """For each text, the files (relative to `root`) holding a copy of its embedding."""
    vectors = embedder.encode(list(texts))
    found = find_vectors(files_under(root), list(vectors))
    return {text: sorted({str(h.path.relative_to(root)) for h in found[i]})
            for i, text in enumerate(texts)}


def fill_index(eng, n: int, *, seed: int = 11) -> None:
    """`n` random vectors under ids SQLite does not know. Chroma persists its HNSW segment to
    disk every 1,000 records; filling past that puts the vectors written before into the
    segment's files, not only into the write-ahead queue."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, eng.embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    entries = [IndexEntry(f"filler{i:027d}", "fact", "global", "active", None)
               for i in range(n)]
    eng.index.upsert(entries, vectors)


def in_segment_files(hits: list[str]) -> bool:
    """Whether any hit is in an HNSW segment folder (as opposed to chroma.sqlite3)."""
    return any("/" in h.removeprefix("chroma/") for h in hits if h.startswith("chroma/"))


def stored_vector_hits(root: Path, vectors: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """For each memory id, the files holding a copy of the vector the index stored for it."""
    ids = list(vectors)
    found = find_vectors(files_under(root), [vectors[i] for i in ids])
    return {mid: sorted({str(h.path.relative_to(root)) for h in found[n]})
            for n, mid in enumerate(ids)}
