"""The memory store's reads for the memory algorithms: full-text search and BM25 (retrieval),
neighbour turns, a message's turn (episodic), LSH buckets (Think-in-Memory), the days with
turns and a day's turns (MemoryBank), old chunks worth pruning (HEMA).

A mixin of `core.store.memories.MemoryStore`: the same store owns these tables; the reads
live here only to keep each module small. Some join `messages`, read-only, for the role or
the thread of a turn.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from core.store.db import chunks

# Summaries consolidate what fades: turns the policy forgot still count, turns the user forgot
# (or that were superseded or purged) do not.
_NOT_USER_FORGOTTEN = (
    "({m}.status = 'active' OR ({m}.status = 'forgotten' AND (SELECT e.actor FROM memory_events e"
    " WHERE e.memory_id = {m}.id ORDER BY e.id DESC LIMIT 1) = 'policy'))")


class MemoryQueries:
    db: sqlite_utils.Database

    # -- retrieval ------------------------------------------------------------------------
    def fts_count(self, match: str) -> int:
        """How many memories an FTS5 query matches (any status)."""
        return self.db.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?",
                               [match]).fetchone()[0]

    def bm25(self, match: str, kinds: Sequence[str], conversation_id: str | None,
             limit: int, *, granularity: str | None = None,
             without_windows: bool = False) -> list[tuple[str, float]]:
        """Active memories of `kinds` (and `granularity`) a conversation may see, by BM25
        (higher is better)."""
        marks = ",".join("?" * len(kinds))
        extra = " AND m.granularity = ?" if granularity else ""
        if without_windows:
            extra += " AND m.granularity IS NOT 'window'"
        rows = self.db.execute(
            "SELECT m.id, bm25(memories_fts) AS score FROM memories_fts"
            " JOIN memories m ON m.rowid = memories_fts.rowid"
            f" WHERE memories_fts MATCH ? AND m.status = 'active' AND m.kind IN ({marks})"
            f" AND (m.scope = 'global' OR m.conversation_id = ?){extra} ORDER BY score LIMIT ?",
            [match, *kinds, conversation_id or "", *([granularity] if granularity else []),
             limit])
        return [(r[0], -float(r[1])) for r in rows]

    def neighbour_turns(self, turn_id: str) -> list[str]:
        """Turn memories of the message before and the messages after this turn's message."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT n.id FROM memory_sources s JOIN messages msg ON msg.id = s.message_id"
            " JOIN messages other ON other.id = msg.parent_id OR other.parent_id = msg.id"
            " JOIN memory_sources ns ON ns.message_id = other.id"
            " JOIN memories n ON n.id = ns.memory_id AND n.granularity = 'turn'"
            " WHERE s.memory_id = ? ORDER BY other.created_at", [turn_id])]

    def passages_of(self, message_ids: Sequence[str]) -> dict[str, list[str]]:
        """Message id -> the ids of its active passage memories, in their order."""
        out: dict[str, list[str]] = {}
        for chunk, marks in chunks(list(dict.fromkeys(message_ids))):
            for msg, mid in self.db.execute(
                    "SELECT s.message_id, m.id FROM memory_sources s"
                    " JOIN memories m ON m.id = s.memory_id"
                    f" WHERE s.message_id IN ({marks}) AND m.granularity = 'passage'"
                    " AND m.status = 'active' ORDER BY json_extract(m.meta, '$.part')", chunk):
                out.setdefault(msg, []).append(mid)
        return out

    def windows_of_messages(self, message_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(window id, its anchor turn id, message id) for the active windows holding any of
        these messages."""
        out: list[tuple[str, str, str]] = []
        for chunk, marks in chunks(list(dict.fromkeys(message_ids))):
            out += [tuple(r) for r in self.db.execute(
                "SELECT m.id, json_extract(m.meta, '$.anchor'), s.message_id"
                " FROM memory_sources s JOIN memories m ON m.id = s.memory_id"
                f" WHERE s.message_id IN ({marks}) AND m.granularity = 'window'"
                " AND m.status = 'active'", chunk)]
        return out

    def turn_of_message(self, message_id: str) -> str | None:
        """The episodic turn memory made from a message (the oldest, if several)."""
        row = self.db.execute(
            "SELECT m.id FROM memory_sources s JOIN memories m ON m.id = s.memory_id"
            " WHERE s.message_id = ? AND m.kind = 'episodic' AND m.granularity = 'turn'"
            " ORDER BY m.created_at LIMIT 1", [message_id]).fetchone()
        return row[0] if row else None

    def with_lsh_keys(self, kinds: Sequence[str], keys: Sequence[str]) -> list[str]:
        """Active memories of `kinds` sharing an LSH bucket key (meta `lsh`) with `keys`."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT m.id FROM memories m, json_each(m.meta, '$.lsh') j"
            f" WHERE m.kind IN ({','.join('?' * len(kinds))}) AND m.status = 'active'"
            f" AND j.value IN ({','.join('?' * len(keys))})", [*kinds, *keys])]

    # -- MemoryBank and HEMA -----------------------------------------------------------------
    def turn_days(self) -> list[str]:
        """Days (UTC, YYYY-MM-DD) with global episodic turns not forgotten by the user,
        newest first."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT strftime('%Y-%m-%d', occurred_at, 'unixepoch') AS d FROM memories"
            " WHERE kind = 'episodic' AND granularity = 'turn' AND "
            + _NOT_USER_FORGOTTEN.format(m="memories")
            + " AND scope = 'global' AND occurred_at IS NOT NULL ORDER BY d DESC") if r[0]]

    def day_turns(self, start: float, end: float, *, role: str | None = None
                  ) -> list[tuple[str, str, str]]:
        """(text, message id, conversation id) of the global turns between `start` and `end`,
        oldest first; with `role`, only turns of messages by that role."""
        sql = ("SELECT m.text, s.message_id, s.conversation_id FROM memories m"
               " JOIN memory_sources s ON s.memory_id = m.id"
               " LEFT JOIN messages msg ON msg.id = s.message_id"
               " WHERE m.kind = 'episodic' AND m.granularity = 'turn' AND "
               + _NOT_USER_FORGOTTEN.format(m="m")
               + " AND m.scope = 'global' AND m.occurred_at >= ? AND m.occurred_at < ?")
        params: list = [start, end]
        if role:
            sql += " AND msg.role = ?"
            params.append(role)
        return [tuple(r) for r in self.db.execute(sql + " ORDER BY m.occurred_at", params)]

    def prune_candidates(self, before: float, limit: int) -> list[tuple[str, str, float]]:
        """(id, text, stored at) of active, unpinned, never recalled episodic memories that
        Engram has held since before `before`, oldest first."""
        return [tuple(r) for r in self.db.execute(
            "SELECT id, text, created_at FROM memories"
            " WHERE kind = 'episodic' AND status = 'active' AND pinned = 0 AND strength <= 1"
            " AND last_recalled_at IS NULL AND created_at < ?"
            " ORDER BY created_at LIMIT ?", [before, limit])]

    # -- a conversation's memories -----------------------------------------------------------
    def ids_of_conversation(self, conversation_id: str) -> list[str]:
        """Memories sourced from a conversation or scoped to it."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT memory_id FROM memory_sources WHERE conversation_id = ?"
            " UNION SELECT id FROM memories WHERE conversation_id = ?",
            [conversation_id, conversation_id])]

    def conversations_of(self, memory_ids: Sequence[str]) -> set[str]:
        """Conversations these memories belong to or were taken from."""
        out: set[str] = set()
        for chunk, marks in chunks(memory_ids):
            for sql in (f"SELECT conversation_id FROM memories WHERE id IN ({marks})",
                        f"SELECT conversation_id FROM memory_sources WHERE memory_id IN ({marks})"):
                out.update(r[0] for r in self.db.execute(sql, chunk) if r[0])
        return out

    # -- benchmarks ---------------------------------------------------------------------------
    def ids_of(self, kind: str, granularity: str, status: str = "active") -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM memories WHERE kind = ? AND granularity = ? AND status = ?",
            [kind, granularity, status])]

    def message_source_ids(self) -> list[tuple[str, str | None]]:
        """(memory id, the archive id of a message it was made from), for every source that
        is a message: how a benchmark maps memories back to its gold turns."""
        return [tuple(r) for r in self.db.execute(
            "SELECT s.memory_id, m.source_id FROM memory_sources s"
            " JOIN messages m ON m.id = s.message_id")]
