"""The reads behind what a person sees of memory (the inspector, `engram memories`).

Two views of one store, never showing turn windows as rows (they are index entries: each
repeats a few turns so that retrieval finds a turn by its context; a person counts them,
never reads them):
- "knows": what Engram knows, the portrait first, then facts and thoughts grouped by their
  subject, then summaries;
- "turns": the transcript, turn by turn, grouped by conversation (the newest chat first).

`sources_of` says, for each memory, who said what it came from, in which chat and when, and
from which import: the inspector's source chips.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from core.store.db import chunks, transaction
from core.store.memories import Memory, MemoryStore

VIEWS = ("knows", "turns")
KNOWN_KINDS = ("portrait", "fact", "thought", "summary", "compact")

_VIEW_WHERE = {
    "knows": "kind != 'episodic'",
    "turns": "kind = 'episodic' AND coalesce(granularity, 'turn') = 'turn'",
}
_VIEW_ORDER = {
    "knows": ("CASE kind WHEN 'portrait' THEN 0 WHEN 'fact' THEN 1 WHEN 'thought' THEN 1"
              " ELSE 2 END, lower(coalesce(nullif(subject, ''), '~')),"
              " coalesce(occurred_at, created_at) DESC, rowid"),
    "turns": ("(SELECT c.updated_at FROM conversations c"
              " WHERE c.id = memories.conversation_id) DESC, memories.conversation_id,"
              " coalesce(occurred_at, created_at), rowid"),
}


class MemoryViews:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def _sql(self, select: str, view: str, filters: dict[str, Any]) -> tuple[str, list[Any]]:
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r} (expected one of {', '.join(VIEWS)})")
        f = dict(filters)
        sql, params = MemoryStore._filter_sql(
            select, f.get("kinds"), f.get("statuses", ("active",)), f.get("scope"),
            f.get("conversation_id"), f.get("pinned"), f.get("text", ""), f.get("since"),
            f.get("until"), f.get("import_id"))
        sql += (" AND " if " WHERE " in sql else " WHERE ") + _VIEW_WHERE[view]
        return sql, params

    def page(self, view: str, *, limit: int = 200, offset: int = 0,
             **filters: Any) -> list[Memory]:
        """One page of a view, in its order (filters as MemoryStore.list takes them)."""
        sql, params = self._sql("SELECT memories.*", view, filters)
        sql += f" ORDER BY {_VIEW_ORDER[view]} LIMIT ? OFFSET ?"
        return [Memory.from_row(r) for r in self.db.query(sql, [*params, limit, offset])]

    def count(self, view: str, **filters: Any) -> int:
        sql, params = self._sql("SELECT count(*)", view, filters)
        return self.db.execute(sql, params).fetchone()[0]

    def tally(self) -> dict[str, int]:
        """Active memories by what a person calls them: portrait, fact, thought, summary,
        turn, window (index entries), and how many chats the turns come from."""
        out: dict[str, int] = {}
        for kind, gran, n in self.db.execute(
                "SELECT kind, granularity, count(*) FROM memories WHERE status = 'active'"
                " GROUP BY kind, granularity"):
            # windows and passages of long messages are index entries, not turns
            key = ("turn" if gran in (None, "turn") else "window") if kind == "episodic" \
                else ("summary" if kind == "compact" else kind)
            out[key] = out.get(key, 0) + n
        out["chats"] = self.db.execute(
            "SELECT count(DISTINCT conversation_id) FROM memories WHERE status = 'active'"
            " AND kind = 'episodic' AND conversation_id IS NOT NULL").fetchone()[0]
        return out

    def sources_of(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """memory id -> {roles, conversation_id, title, chats, said_at, import_format,
        refs}: what its sources say about who said it, where and when."""
        out: dict[str, dict[str, Any]] = {}
        for chunk, marks in chunks(list(memory_ids)):
            for r in self.db.query(
                    "SELECT s.memory_id, s.conversation_id, s.source_ref, msg.role, msg.meta,"
                    " msg.created_at AS said_at, c.title, i.format FROM memory_sources s"
                    " LEFT JOIN messages msg ON msg.id = s.message_id"
                    " LEFT JOIN conversations c ON c.id = s.conversation_id"
                    " LEFT JOIN imports i ON i.id = s.import_id"
                    f" WHERE s.memory_id IN ({marks}) ORDER BY s.id", chunk):
                info = out.setdefault(r["memory_id"], {
                    "roles": [], "conversation_id": None, "title": None, "chats": set(),
                    "said_at": None, "import_format": None, "refs": []})
                if r["role"] and r["role"] not in info["roles"]:
                    info["roles"].append(r["role"])
                if r["conversation_id"]:
                    info["chats"].add(r["conversation_id"])
                    if info["conversation_id"] is None:
                        info["conversation_id"] = r["conversation_id"]
                        info["title"] = r["title"]
                if r["said_at"] and info["said_at"] is None:
                    info["said_at"] = r["said_at"]
                if r["format"] and not info["import_format"]:
                    info["import_format"] = r["format"]
                if r["source_ref"] and len(info["refs"]) < 3:
                    info["refs"].append(r["source_ref"])
        for info in out.values():
            info["chats"] = len(info["chats"])
        return out

    def titles(self, conversation_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk, marks in chunks(list(dict.fromkeys(conversation_ids))):
            out.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT id, title FROM conversations WHERE id IN ({marks})", chunk))
        return out

    def always_included(self, kinds: Sequence[str], limit: int = 50) -> list[Memory]:
        """Active memories to send with every message (indexed: costs nothing when none)."""
        marks = ",".join("?" * len(kinds))
        return [Memory.from_row(r) for r in self.db.query(
            "SELECT * FROM memories WHERE always_include = 1 AND status = 'active'"
            f" AND kind IN ({marks}) ORDER BY rowid LIMIT ?", [*kinds, limit])]

    def set_projects(self, projects: dict[str, str]) -> None:
        """memory id -> the project whose scope it belongs to (read only there)."""
        with transaction(self.db):
            for mid, pid in projects.items():
                self.db.execute("UPDATE memories SET project_id = ? WHERE id = ?", [pid, mid])

    def person_authored(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these messages an importer marked as a person's although their role is
        "assistant" (the second speaker of a dialogue between two people, e.g. LoCoMo)."""
        out: set[str] = set()
        for chunk, marks in chunks(list(message_ids)):
            out.update(r[0] for r in self.db.execute(
                f"SELECT id FROM messages WHERE id IN ({marks})"
                " AND json_extract(meta, '$.author') = 'person'", chunk))
        return out

    # -- what a purge reaches beyond sources ---------------------------------------------
    def conversation_summaries(self, conversation_ids: Sequence[str]) -> list[str]:
        """Summaries made from a whole conversation (sourced from it, from no one message):
        they may quote any of its messages."""
        out: list[str] = []
        for chunk, marks in chunks(list(conversation_ids)):
            out += [r[0] for r in self.db.execute(
                "SELECT DISTINCT m.id FROM memory_sources s JOIN memories m"
                " ON m.id = s.memory_id WHERE s.message_id IS NULL"
                f" AND s.conversation_id IN ({marks}) AND m.kind IN ('summary', 'compact')"
                " AND m.status != 'purged'", chunk)]
        return out

    def conversations_of_messages(self, message_ids: Sequence[str]) -> dict[str, str]:
        """message id -> its conversation id."""
        out: dict[str, str] = {}
        for chunk, marks in chunks(list(message_ids)):
            out.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT id, conversation_id FROM messages WHERE id IN ({marks})", chunk))
        return out
