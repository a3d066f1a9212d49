"""The memory store's bookkeeping: which memories the vector index lags behind (`version` vs
`indexed_version`, see core.index.sync), what a purge must take and erase (the closure of
what was made from a memory or a message, core.services.purge_plan), what a complete purge
leaves (core.services.purge_audit), and the rows of an export.

A mixin of `core.store.memories.MemoryStore`, kept apart only to keep each module small.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlite_utils

from core.store.db import chunks, export_rows, insert_missing

MEMORY_TABLES = ("memories", "memory_sources", "memory_events")


class MemoryUpkeep:
    db: sqlite_utils.Database

    # -- the vector index -------------------------------------------------------------------
    def index_pending_count(self) -> int:
        """Memories whose indexed version is not their version (purged ones included: their
        vectors are owed a delete)."""
        return self.db.execute(
            "SELECT count(*) FROM memories WHERE indexed_version IS NOT version").fetchone()[0]

    def waiting_for_vectors(self) -> int:
        """Live memories whose vectors are not (or not yet again) in the index."""
        return self.db.execute(
            "SELECT count(*) FROM memories WHERE indexed_version IS NOT version"
            " AND status != 'purged'").fetchone()[0]

    def index_pending(self, after_rowid: int, limit: int) -> list[dict[str, Any]]:
        """The next out-of-date memories after `after_rowid`, in rowid order."""
        return list(self.db.query(
            "SELECT rowid, id, kind, scope, status, conversation_id, text, version, granularity"
            " FROM memories WHERE indexed_version IS NOT version AND rowid > ? ORDER BY rowid"
            " LIMIT ?", [after_rowid, limit]))

    def index_rows(self) -> dict[str, dict[str, Any]]:
        """Every live memory's indexed fields and versions (the index doctor compares them)."""
        return {r["id"]: r for r in self.db.query(
            "SELECT id, kind, scope, status, conversation_id, version, indexed_version"
            " FROM memories WHERE status != 'purged'")}

    def leave_pending_first(self, n: int) -> None:
        """(benchmarks) Mark every memory after the first `n` (by rowid) as indexed, so that
        a sync has exactly those `n` to do."""
        row = self.db.execute("SELECT rowid FROM memories ORDER BY rowid LIMIT 1 OFFSET ?",
                              [n]).fetchone()
        if row:
            self.db.execute("UPDATE memories SET indexed_version = version WHERE rowid >= ?",
                            [row[0]])

    def count_indexable(self) -> int:
        return self.db.execute(
            "SELECT count(*) FROM memories WHERE status != 'purged'").fetchone()[0]

    def mark_unindexed(self, memory_ids: Sequence[str] | None = None) -> None:
        """Out of date in the index: these memories, or every one (a new index, a restore)."""
        if memory_ids is None:
            self.db.execute("UPDATE memories SET indexed_version = NULL")
            return
        for chunk, marks in chunks(memory_ids):
            self.db.execute(f"UPDATE memories SET indexed_version = NULL WHERE id IN ({marks})",
                            chunk)

    def mark_erasure_owed(self, memory_ids: Sequence[str]) -> None:
        """A purge owes these vectors an erasure (its journal does it): the index sync must
        not do a plain delete of them meanwhile."""
        for chunk, marks in chunks(memory_ids):
            self.db.execute(f"UPDATE memories SET indexed_version = version WHERE id IN ({marks})",
                            chunk)

    def window_pieces(self, window_ids: Sequence[str], granularities: Sequence[str]
                      ) -> list[tuple[str, str, int]]:
        """(window id, piece id, piece length) for the live episodic pieces (turns) of these
        windows: the messages they share."""
        out: list[tuple[str, str, int]] = []
        grans = ",".join("?" * len(granularities))
        for chunk, marks in chunks(window_ids):
            out += [tuple(r) for r in self.db.execute(
                "SELECT ws.memory_id, p.id, length(p.text) FROM memory_sources ws"
                " JOIN memory_sources ps ON ps.message_id = ws.message_id"
                " JOIN memories p ON p.id = ps.memory_id"
                f" WHERE ws.memory_id IN ({marks}) AND p.kind = 'episodic'"
                f" AND p.granularity IN ({grans}) AND p.status != 'purged'",
                [*chunk, *granularities])]
        return out

    # -- purge ----------------------------------------------------------------------------
    def derived_from_messages(self, message_ids: Sequence[str]) -> list[str]:
        """Memories with one of these messages among their sources."""
        return self._column("SELECT DISTINCT memory_id FROM memory_sources"
                            " WHERE message_id IN ({})", message_ids)

    def derived_from_memories(self, memory_ids: Sequence[str]) -> list[str]:
        """Memories made from these (a summary of summaries: `source_ref = memory:<id>`)."""
        return self._column("SELECT DISTINCT memory_id FROM memory_sources"
                            " WHERE source_ref IN ({})", [f"memory:{m}" for m in memory_ids])

    def live_ids(self, memory_ids: Sequence[str]) -> set[str]:
        """Which of these exist and are not purged."""
        return set(self._column("SELECT id FROM memories WHERE status != 'purged'"
                                " AND id IN ({})", memory_ids))

    def ever_indexed(self, memory_ids: Sequence[str]) -> bool:
        """Whether any of these (live) memories was ever written to the vector index."""
        return bool(self._column("SELECT id FROM memories WHERE indexed_version IS NOT NULL"
                                 " AND status != 'purged' AND id IN ({})", memory_ids))

    def texts_of(self, memory_ids: Sequence[str]) -> set[str]:
        """Every text these memories hold or held: the current one and each version in the
        audit log (a purge cleans them out of log files; nothing is stored)."""
        texts = set(self._column("SELECT text FROM memories WHERE id IN ({})", memory_ids))
        for raw in self._column("SELECT old_value FROM memory_events WHERE memory_id IN ({})"
                                " UNION SELECT new_value FROM memory_events"
                                " WHERE memory_id IN ({})", memory_ids, repeat=2):
            texts.update(_strings(raw))
        return texts

    def purged_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM memories WHERE status = 'purged'")]

    def purged_with_text(self) -> int:
        """Purged memories that still hold text, a subject or metadata (must be none)."""
        return self.db.execute(
            "SELECT count(*) FROM memories WHERE status = 'purged'"
            " AND (text != '' OR subject IS NOT NULL OR meta != '{}')").fetchone()[0]

    def purged_history_with_values(self) -> int:
        """Audit rows of purged memories that still hold values (must be none)."""
        return self.db.execute(
            "SELECT count(*) FROM memory_events e JOIN memories m ON m.id = e.memory_id"
            " WHERE m.status = 'purged' AND (e.old_value IS NOT NULL OR e.new_value IS NOT NULL"
            " OR e.note IS NOT NULL)").fetchone()[0]

    # -- export and restore ---------------------------------------------------------------
    def export_rows(self, table: str) -> Iterator[dict[str, Any]]:
        if table not in MEMORY_TABLES:
            raise ValueError(table)
        return export_rows(self.db, table)

    def insert_missing(self, table: str, rows: list[dict[str, Any]]) -> int:
        """A restore's rows not here yet; restored memories are out of date in the index."""
        if table not in MEMORY_TABLES:
            raise ValueError(table)
        added = insert_missing(self.db, table, rows)
        if table == "memories" and rows:
            self.mark_unindexed()
        return added

    def _column(self, sql: str, ids: Iterable[str], *, repeat: int = 1) -> list[Any]:
        """Run `sql` (one `{}` per repeat for the id list) over `ids` in chunks."""
        out: list[Any] = []
        for chunk, marks in chunks(list(ids), 400):
            out += [r[0] for r in self.db.execute(sql.format(*([marks] * repeat)),
                                                   chunk * repeat)]
        return out


def _strings(raw: str | None) -> Iterator[str]:
    if not raw:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        return
    values = value.values() if isinstance(value, dict) else [value]
    yield from (v for v in values if isinstance(v, str))
