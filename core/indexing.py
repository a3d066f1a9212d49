"""Keeping the Chroma index in step with SQLite.

SQLite decides; Chroma follows. A memory whose `indexed_version` differs from its `version`
is out of date in the index. `sync` embeds and upserts those (purged ones are deleted);
`reindex` rebuilds the whole collection; `doctor` compares both sides and repairs drift.
All loops check a cancel callback between batches and report progress.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from core.embedder import Embedder
from core.memory_store import MemoryStore
from core.vector_index import IndexEntry, VectorIndex

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]      # (done, total)
Cancelled = Callable[[], bool]


@dataclass
class SyncReport:
    embedded: int = 0
    deleted: int = 0
    cancelled: bool = False


@dataclass
class DoctorReport:
    sqlite_indexable: int = 0
    index_count: int = 0
    missing_in_index: list[str] = field(default_factory=list)
    orphans_in_index: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    repaired: bool = False

    @property
    def healthy(self) -> bool:
        return not (self.missing_in_index or self.orphans_in_index or self.stale)


def _entry(row: dict) -> IndexEntry:
    return IndexEntry(row["id"], row["kind"], row["scope"], row["status"], row["conversation_id"])


class IndexSync:
    def __init__(self, store: MemoryStore, index: VectorIndex, embedder: Embedder,
                 batch_size: int = 128) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.batch_size = batch_size

    def pending_count(self) -> int:
        return self.store.db.execute(
            "SELECT count(*) FROM memories WHERE indexed_version IS NOT version").fetchone()[0]

    def sync(self, progress: Progress | None = None, cancelled: Cancelled | None = None) -> SyncReport:
        """Bring every out-of-date memory into the index."""
        report = SyncReport()
        total = self.pending_count()
        done = 0
        while True:
            if cancelled and cancelled():
                report.cancelled = True
                return report
            rows = list(self.store.db.query(
                "SELECT id, kind, scope, status, conversation_id, text, version FROM memories"
                " WHERE indexed_version IS NOT version ORDER BY rowid LIMIT ?", [self.batch_size]))
            if not rows:
                return report
            purged = [r for r in rows if r["status"] == "purged"]
            live = [r for r in rows if r["status"] != "purged"]
            if purged:
                self.index.delete([r["id"] for r in purged])
                report.deleted += len(purged)
            if live:
                vectors = self.embedder.encode([r["text"] for r in live])
                self.index.upsert([_entry(r) for r in live], vectors)
                report.embedded += len(live)
            self.store.mark_indexed({r["id"]: r["version"] for r in rows})
            done += len(rows)
            if progress:
                progress(done, max(total, done))

    def reindex(self, progress: Progress | None = None, cancelled: Cancelled | None = None) -> SyncReport:
        """Drop the collection and rebuild it from SQLite."""
        self.index.reset()
        self.store.db.execute("UPDATE memories SET indexed_version = NULL")
        return self.sync(progress, cancelled)

    def doctor(self, repair: bool = False) -> DoctorReport:
        report = DoctorReport()
        rows = {r["id"]: r for r in self.store.db.query(
            "SELECT id, kind, scope, status, conversation_id, version, indexed_version"
            " FROM memories WHERE status != 'purged'")}
        report.sqlite_indexable = len(rows)
        in_index = set(self.index.all_ids())
        report.index_count = len(in_index)
        report.missing_in_index = sorted(set(rows) - in_index)
        report.orphans_in_index = sorted(in_index - set(rows))
        metadata = self.index.get_metadata(sorted(in_index & set(rows)))
        for mid, meta in metadata.items():
            row = rows[mid]
            if (row["indexed_version"] != row["version"]
                    or _entry(row).metadata() != {k: (meta or {}).get(k) for k in _entry(row).metadata()}):
                report.stale.append(mid)
        report.stale.sort()
        if repair and not report.healthy:
            if report.orphans_in_index:
                self.index.delete(report.orphans_in_index)
            redo = report.missing_in_index + report.stale
            for start in range(0, len(redo), 500):
                chunk = redo[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.store.db.execute(
                    f"UPDATE memories SET indexed_version = NULL WHERE id IN ({marks})", chunk)
            self.sync()
            report.repaired = True
        return report
