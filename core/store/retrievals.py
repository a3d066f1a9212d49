"""The retrieval trace: which memories, with which scores and why, went into which answer.

One row per memory used (`retrievals`), written with the answer (core.services.chat). A
`TraceItem` is what the chat's "memories used" chips, the inspector's "used by" list and
`engram chat --show-memories` all show: the same object from the turn that made it to the
panel that draws it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from core.store.db import chunks, export_rows, insert_missing, insert_values


@dataclass
class TraceItem:
    """One memory used in an answer."""
    memory_id: str
    rank: int
    score: float
    reason: str
    kind: str = ""
    text: str = ""
    status: str = "active"
    detail: dict[str, Any] = field(default_factory=dict)


_COLUMNS = ("message_id", "memory_id", "rank", "score", "reason", "detail")


class RetrievalStore:
    """Owns `retrievals` (it reads the memories it names, for their text and status)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def record(self, message_id: str, items: Sequence[TraceItem]) -> None:
        """The trace of one answer (call inside the transaction that stores the answer)."""
        insert_values(self.db, "INSERT INTO retrievals", _COLUMNS,
                      [(message_id, i.memory_id, i.rank, float(i.score), i.reason,
                        json.dumps(i.detail)) for i in items])

    def traces(self, message_ids: Iterable[str]) -> dict[str, list[TraceItem]]:
        """message id -> the memories its prompt held, best first (every id is a key)."""
        ids = list(message_ids)
        out: dict[str, list[TraceItem]] = {mid: [] for mid in ids}
        for chunk, marks in chunks(ids):
            for r in self.db.execute(
                    "SELECT r.message_id, r.memory_id, r.rank, r.score, r.reason, r.detail,"
                    " m.kind, m.text, m.status FROM retrievals r"
                    " JOIN memories m ON m.id = r.memory_id"
                    f" WHERE r.message_id IN ({marks}) ORDER BY r.message_id, r.rank", chunk):
                out[r[0]].append(TraceItem(r[1], r[2], r[3], r[4], r[6], r[7], r[8],
                                           json.loads(r[5] or "{}")))
        return out

    def uses_of(self, memory_id: str) -> list[dict[str, Any]]:
        """The answers this memory was used for, newest first (with their conversation)."""
        return list(self.db.query(
            "SELECT r.*, m.conversation_id, m.created_at FROM retrievals r"
            " JOIN messages m ON m.id = r.message_id WHERE r.memory_id = ?"
            " ORDER BY m.created_at DESC", [memory_id]))

    def conversations_using(self, memory_ids: Sequence[str]) -> set[str]:
        """Conversations with an answer whose prompt held one of these memories."""
        out: set[str] = set()
        for chunk, marks in chunks(memory_ids):
            out.update(r[0] for r in self.db.execute(
                "SELECT m.conversation_id FROM retrievals r JOIN messages m"
                f" ON m.id = r.message_id WHERE r.memory_id IN ({marks})", chunk) if r[0])
        return out

    def export_rows(self) -> Iterable[dict[str, Any]]:
        return export_rows(self.db, "retrievals")

    def insert_missing(self, rows: list[dict[str, Any]]) -> int:
        return insert_missing(self.db, "retrievals", rows)
