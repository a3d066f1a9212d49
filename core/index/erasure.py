"""Erasing vectors from Chroma for good, not only deleting them.

A Chroma delete hides a record but leaves its bytes on disk: the record's rows stay in the
write-ahead queue (`embeddings_queue` in chroma.sqlite3) until the HNSW segment has persisted
past them; the HNSW index only marks the point deleted, and every earlier version of an
updated record stays there as a deleted point too (Chroma gives a replaced vector a fresh
label); deleting a collection leaves its segment folder behind; and SQLite's freed pages keep
the bytes until the file is vacuumed. So erasing is a rebuild:

1. copy every live record except the erased ones into a fresh collection (`<name>__rebuild`),
2. drop the old collection (its queue rows and segment go with it) and give the fresh one
   the old name,
3. embedded only: remove segment folders that no collection owns any more and VACUUM
   chroma.sqlite3, so neither the old HNSW files nor freed pages keep a copy.

The cost grows with the index (about 1 ms per kept vector here), so it runs only when one of
the erased ids was ever written to the collection. A rebuild interrupted by a crash is put
right when the collection is next opened (`adopt_interrupted_rebuild`); the purge journal
runs the erasure again. On a server, steps 1-2 run through the API, but the server's own
files (its queue, its old segment folders) are beyond Engram's reach.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.base.progress import OnProgress, Progress

log = logging.getLogger(__name__)

REBUILD_SUFFIX = "__rebuild"
CHROMA_DB = "chroma.sqlite3"


@dataclass
class ErasureReport:
    mode: str                      # "embedded" or "server"
    requested: int = 0
    present: int = 0               # how many of the ids the collection held
    rebuilt: bool = False
    kept: int = 0                  # live vectors copied into the rebuilt collection
    stale_segments_removed: int = 0
    vacuumed: bool = False
    seconds: float = 0.0
    dropped: bool = False          # the collection was damaged and dropped whole

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def rebuild_without(client: Any, collection: Any, erase: set[str], *,
                    batch: int = 2000, progress: OnProgress | None = None) -> tuple[Any, int]:
    """Steps 1-2 above. Returns the new collection (under the old name) and how many
    records it holds."""
    name = collection.name
    temp = name + REBUILD_SUFFIX
    _drop_if_present(client, temp)
    metadata = dict(collection.metadata or {}) or {"hnsw:space": "cosine"}
    fresh = client.create_collection(name=temp, embedding_function=None, metadata=metadata)
    total = collection.count()
    kept = offset = 0
    while True:
        got = collection.get(include=["embeddings", "metadatas"], limit=batch, offset=offset)
        ids = got["ids"]
        if not ids:
            break
        offset += len(ids)
        keep = [i for i, mid in enumerate(ids) if mid not in erase]
        if keep:
            embeddings = np.asarray(got["embeddings"], dtype=np.float32)[keep]
            metadatas = got["metadatas"] or [None] * len(ids)
            fresh.add(ids=[ids[i] for i in keep], embeddings=embeddings,
                      metadatas=[metadatas[i] for i in keep])
            kept += len(keep)
        if progress:
            progress(Progress(offset, max(total, offset), "rebuilding"))
    client.delete_collection(name)
    fresh.modify(name=name)
    return fresh, kept


def erase_everywhere(client: Any, own: Any, ids: list[str], *, force: bool,
                     chroma_dir: Path | None) -> tuple[Any, ErasureReport]:
    """Erase `ids` from the index's own collection and from every sibling collection that
    holds them (the collection of another vector family, left from before a switch: see
    core.index.vector_index.collection_for). `force` rebuilds the own collection even when none of
    the ids is in it now. Returns the own collection (rebuilt or not) and the report."""
    started = time.monotonic()
    report = ErasureReport("embedded" if chroma_dir is not None else "server",
                           requested=len(ids))
    erase = set(ids)
    for name in _siblings(client, own.name, embedded=chroma_dir is not None):
        collection = own if name == own.name else client.get_collection(name)
        present = _present(collection, ids)
        report.present += present
        if not present and not (force and name == own.name):
            continue
        for start in range(0, len(ids), 1000):
            collection.delete(ids=ids[start : start + 1000])
        rebuilt, kept = rebuild_without(client, collection, erase)
        report.rebuilt = True
        if name == own.name:
            own, report.kept = rebuilt, kept
    if chroma_dir is not None and (report.rebuilt or force):
        report.stale_segments_removed += remove_stale_segments(chroma_dir)
        report.vacuumed = vacuum(chroma_dir)
    report.seconds = round(time.monotonic() - started, 3)
    return own, report


def adopt_interrupted_rebuild(client: Any, name: str) -> None:
    """A rebuild killed after dropping the old collection left only `<name>__rebuild`, which
    is complete (the old one is dropped only after the copy): give it the name. A rebuild
    killed during the copy left both: the copy is discarded (the erasure runs again)."""
    names = {_name(c) for c in client.list_collections()}
    temp = name + REBUILD_SUFFIX
    if temp not in names:
        return
    if name in names:
        client.delete_collection(temp)
        log.info("discarded an interrupted index rebuild of %s", name)
    else:
        client.get_collection(temp).modify(name=name)
        log.info("finished an interrupted index rebuild of %s", name)


def stale_segment_dirs(chroma_dir: Path) -> list[Path]:
    """Segment folders (named by a segment's UUID) that no segment in chroma.sqlite3 owns:
    what dropped collections leave behind, with every vector they held."""
    db = chroma_dir / CHROMA_DB
    if not db.exists():
        return []
    with _connect(db) as conn:
        live = {r[0] for r in conn.execute("SELECT id FROM segments")}
    return sorted(p for p in chroma_dir.iterdir()
                  if p.is_dir() and _looks_like_uuid(p.name) and p.name not in live)


def remove_stale_segments(chroma_dir: Path) -> int:
    stale = stale_segment_dirs(chroma_dir)
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


def vacuum(chroma_dir: Path) -> bool:
    """Rewrite chroma.sqlite3 without its free pages (where deleted queue rows linger)."""
    db = chroma_dir / CHROMA_DB
    if not db.exists():
        return False
    with _connect(db) as conn:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("VACUUM")
    return True


def queue_rows_for(chroma_dir: Path, ids: Iterable[str]) -> int:
    """How many of Chroma's write-ahead queue rows (with or without a vector) name these ids."""
    db = chroma_dir / CHROMA_DB
    wanted = list(ids)
    if not db.exists() or not wanted:
        return 0
    n = 0
    with _connect(db) as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            n += conn.execute(
                f"SELECT count(*) FROM embeddings_queue WHERE id IN ({','.join('?' * len(chunk))})",
                chunk).fetchone()[0]
    return n


class _connect:
    """A short-lived connection to Chroma's own SQLite file (closed on exit, unlike
    sqlite3's context manager, which only commits)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _siblings(client: Any, own: str, *, embedded: bool) -> list[str]:
    """The own collection first, then the others that may hold Engram's vectors: in an
    embedded folder (Engram's alone) every collection; on a server, which other programs may
    share, only those named after the own one (`<base>-onnx-<family>`)."""
    base = own.split("-onnx-")[0]
    names = sorted(_name(c) for c in client.list_collections())
    others = [n for n in names if n != own and not n.endswith(REBUILD_SUFFIX)
              and (embedded or n == base or n.startswith(base + "-onnx-"))]
    return [own, *others]


def _present(collection: Any, ids: list[str]) -> int:
    n = 0
    for start in range(0, len(ids), 1000):
        n += len(collection.get(ids=ids[start : start + 1000], include=[])["ids"])
    return n


def _drop_if_present(client: Any, name: str) -> None:
    if name in {_name(c) for c in client.list_collections()}:
        client.delete_collection(name)


def _name(collection: Any) -> str:
    return collection if isinstance(collection, str) else collection.name


def _looks_like_uuid(name: str) -> bool:
    parts = name.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdef" for c in name.replace("-", ""))
