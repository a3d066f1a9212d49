"""Conversations and their message trees.

Messages form a tree: an edit or a regeneration is a new sibling under the same parent, and
`conversations.current_message_id` names the leaf of the branch on screen. The visible thread
is the path from that leaf up to the root.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from core.base import clock
from core.base.errors import NotFoundError
from core.base.ids import new_id
from core.store.db import (
    chunks,
    export_rows,
    insert_missing,
    insert_rows,
    insert_values,
    transaction,
)


@dataclass
class Message:
    id: str
    conversation_id: str
    parent_id: str | None
    branch: int
    role: str
    text: str
    created_at: float
    model: str | None = None
    hidden: bool = False
    source_id: str | None = None
    import_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            parent_id=row["parent_id"],
            branch=row["branch"],
            role=row["role"],
            text=row["text"],
            created_at=row["created_at"],
            model=row["model"],
            hidden=bool(row["hidden"]),
            source_id=row["source_id"],
            import_id=row["import_id"],
            meta=json.loads(row["meta"] or "{}"),
        )


@dataclass
class Conversation:
    id: str
    title: str
    created_at: float
    updated_at: float
    pinned: bool = False
    incognito: bool = False
    source: str = "engram"
    source_id: str | None = None
    import_id: str | None = None
    current_message_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Conversation:
        return cls(
            id=row["id"],
            title=row["title"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            pinned=bool(row["pinned"]),
            incognito=bool(row["incognito"]),
            source=row["source"],
            source_id=row["source_id"],
            import_id=row["import_id"],
            current_message_id=row["current_message_id"],
            meta=json.loads(row["meta"] or "{}"),
        )


MESSAGE_COLUMNS = ("id", "conversation_id", "parent_id", "branch", "role", "text", "created_at",
                   "model", "hidden", "source_id", "import_id", "meta")


class ConversationStore:
    """Owns `conversations`, `messages` and the messages' full-text index."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # -- conversations ------------------------------------------------------------------
    def create(self, title: str = "", *, incognito: bool = False, id: str | None = None,
               created_at: float | None = None, source: str = "engram",
               source_id: str | None = None, import_id: str | None = None,
               meta: dict[str, Any] | None = None) -> Conversation:
        ts = clock.now() if created_at is None else created_at
        row = {
            "id": id or new_id(), "title": title, "created_at": ts, "updated_at": ts,
            "pinned": 0, "incognito": int(incognito), "source": source,
            "source_id": source_id, "import_id": import_id, "current_message_id": None,
            "meta": json.dumps(meta or {}),
        }
        insert_rows(self.db, "conversations", [row])
        return Conversation.from_row(row)

    def get(self, conversation_id: str) -> Conversation:
        rows = list(self.db.query("SELECT * FROM conversations WHERE id = ?", [conversation_id]))
        if not rows:
            raise NotFoundError(f"No conversation with id {conversation_id}")
        return Conversation.from_row(rows[0])

    def find(self, conversation_id: str) -> Conversation | None:
        rows = list(self.db.query("SELECT * FROM conversations WHERE id = ?", [conversation_id]))
        return Conversation.from_row(rows[0]) if rows else None

    def is_incognito(self, conversation_id: str) -> bool:
        row = self.db.execute("SELECT incognito FROM conversations WHERE id = ?",
                              [conversation_id]).fetchone()
        return bool(row and row[0])

    def find_by_source(self, source: str, source_id: str) -> Conversation | None:
        rows = list(self.db.query(
            "SELECT * FROM conversations WHERE source = ? AND source_id = ?", [source, source_id]))
        return Conversation.from_row(rows[0]) if rows else None

    def list(self, *, search: str = "", limit: int = 500, offset: int = 0) -> list[Conversation]:
        sql = "SELECT * FROM conversations"
        params: list[Any] = []
        if search:
            sql += (" WHERE title LIKE ? OR id IN (SELECT conversation_id FROM messages"
                    " WHERE rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))")
            params += [f"%{search}%", fts_query(search)]
        sql += " ORDER BY pinned DESC, updated_at DESC LIMIT ? OFFSET ?"
        params += [limit, offset]
        return [Conversation.from_row(r) for r in self.db.query(sql, params)]

    def count(self) -> int:
        return self.db["conversations"].count

    def update(self, conversation_id: str, **fields: Any) -> Conversation:
        allowed = {"title", "pinned", "incognito", "current_message_id", "updated_at", "meta"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "meta" in fields:
            fields["meta"] = json.dumps(fields["meta"])
        for key in ("pinned", "incognito"):
            if key in fields:
                fields[key] = int(bool(fields[key]))
        self.get(conversation_id)
        self.db["conversations"].update(conversation_id, fields)
        return self.get(conversation_id)

    def rename(self, conversation_id: str, title: str) -> Conversation:
        return self.update(conversation_id, title=title)

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation and its messages (memories keep their text; their links to the
        deleted messages become empty). Purging memories too is `core.services.purge`'s job."""
        with transaction(self.db):
            self.get(conversation_id)
            self.delete_many([conversation_id])

    def delete_many(self, conversation_ids: Sequence[str]) -> None:
        for chunk, marks in chunks(conversation_ids):
            self.db.execute(f"DELETE FROM conversations WHERE id IN ({marks})", chunk)

    def set_current(self, conversation_id: str, message_id: str | None, updated_at: float) -> None:
        """The leaf on screen and the time of the last change (an import's newest message)."""
        self.db.execute(
            "UPDATE conversations SET current_message_id = ?, updated_at = ? WHERE id = ?",
            [message_id, updated_at, conversation_id])

    def present(self, conversation_ids: Sequence[str]) -> list[str]:
        """Which of these conversations exist."""
        out: list[str] = []
        for chunk, marks in chunks(conversation_ids):
            out += [r[0] for r in self.db.execute(
                f"SELECT id FROM conversations WHERE id IN ({marks})", chunk)]
        return out

    def titles(self, conversation_ids: Sequence[str]) -> list[str]:
        out: list[str] = []
        for chunk, marks in chunks(conversation_ids):
            out += [r[0] for r in self.db.execute(
                f"SELECT title FROM conversations WHERE id IN ({marks})", chunk) if r[0]]
        return out

    # -- messages -----------------------------------------------------------------------
    def add_message(self, conversation_id: str, role: str, text: str, *,
                    parent_id: str | None | type[...] = ..., created_at: float | None = None,
                    model: str | None = None, hidden: bool = False, id: str | None = None,
                    source_id: str | None = None, import_id: str | None = None,
                    meta: dict[str, Any] | None = None, make_current: bool = True) -> Message:
        """Append a message. By default its parent is the current leaf of the conversation;
        pass parent_id explicitly to start a branch (an edit or a regeneration)."""
        ts = clock.now() if created_at is None else created_at
        with transaction(self.db):
            conv = self.get(conversation_id)
            parent = conv.current_message_id if parent_id is ... else parent_id
            siblings = self.db.execute(
                "SELECT count(*) FROM messages WHERE conversation_id = ? AND parent_id IS ?",
                [conversation_id, parent]).fetchone()[0]
            row = {
                "id": id or new_id(), "conversation_id": conversation_id, "parent_id": parent,
                "branch": siblings, "role": role, "text": text, "created_at": ts,
                "model": model, "hidden": int(hidden), "source_id": source_id,
                "import_id": import_id, "meta": json.dumps(meta or {}),
            }
            insert_rows(self.db, "messages", [row])
            if make_current:
                self.db.execute(
                    "UPDATE conversations SET updated_at = ?, current_message_id = ? WHERE id = ?",
                    [max(ts, conv.updated_at), row["id"], conversation_id])
            else:
                self.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                                [max(ts, conv.updated_at), conversation_id])
        return Message.from_row(row)

    def insert_messages(self, rows: Sequence[Sequence[Any]]) -> None:
        """Messages as tuples in MESSAGE_COLUMNS order, many per statement; ids already there
        are left as they are (an import of a newer export of the same archive)."""
        insert_values(self.db, "INSERT OR IGNORE INTO messages", MESSAGE_COLUMNS, rows)

    def get_message(self, message_id: str) -> Message:
        found = self.find_message(message_id)
        if found is None:
            raise NotFoundError(f"No message with id {message_id}")
        return found

    def find_message(self, message_id: str) -> Message | None:
        rows = list(self.db.query("SELECT * FROM messages WHERE id = ?", [message_id]))
        return Message.from_row(rows[0]) if rows else None

    def message_ids(self, conversation_id: str) -> set[str]:
        """Every message of every branch of one conversation."""
        return {r[0] for r in self.db.execute(
            "SELECT id FROM messages WHERE conversation_id = ?", [conversation_id])}

    def count_messages(self, conversation_id: str | None = None, role: str | None = None) -> int:
        sql, params = "SELECT count(*) FROM messages WHERE 1", []
        if conversation_id is not None:
            sql += " AND conversation_id = ?"
            params.append(conversation_id)
        if role is not None:
            sql += " AND role = ?"
            params.append(role)
        return self.db.execute(sql, params).fetchone()[0]

    def blank_messages(self, message_ids: Sequence[str]) -> None:
        """A purge's episodic sources: the text goes, the message stays in its tree, marked."""
        for chunk, marks in chunks(message_ids):
            self.db.execute("UPDATE messages SET text = '', meta = json_object('purged', 1)"
                            f" WHERE id IN ({marks})", chunk)

    def with_text(self, message_ids: Sequence[str]) -> int:
        """How many of these messages still hold text."""
        n = 0
        for chunk, marks in chunks(message_ids):
            n += self.db.execute(f"SELECT count(*) FROM messages WHERE text != '' AND id IN"
                                 f" ({marks})", chunk).fetchone()[0]
        return n

    def texts(self, message_ids: Sequence[str] = (), conversation_ids: Sequence[str] = ()
              ) -> set[str]:
        """The texts of these messages and of every message of these conversations."""
        out: set[str] = set()
        for column, ids in (("id", message_ids), ("conversation_id", conversation_ids)):
            for chunk, marks in chunks(ids):
                out.update(r[0] for r in self.db.execute(
                    f"SELECT text FROM messages WHERE {column} IN ({marks})", chunk))
        return out

    def edit_message_text(self, message_id: str, text: str) -> None:
        self.get_message(message_id)
        self.db["messages"].update(message_id, {"text": text})

    def delete_message_text(self, message_id: str) -> None:
        """A message the person deleted: hidden from the thread, its text gone (the row stays
        as the tree's joint: its replies keep their place)."""
        self.get_message(message_id)
        self.db.execute("UPDATE messages SET hidden = 1, text = '',"
                        " meta = json_set(coalesce(meta, '{}'), '$.deleted', 1) WHERE id = ?",
                        [message_id])

    def thread(self, conversation_id: str, leaf_id: str | None = None) -> list[Message]:
        """The visible thread: root to `leaf_id` (default: the conversation's current leaf)."""
        if leaf_id is None:
            leaf_id = self.get(conversation_id).current_message_id
        if leaf_id is None:
            return []
        rows = self.db.execute(
            """
            WITH RECURSIVE path(id, depth) AS (
                SELECT id, 0 FROM messages WHERE id = ? AND conversation_id = ?
                UNION ALL
                SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id
                WHERE m.parent_id IS NOT NULL
            )
            SELECT messages.* FROM path JOIN messages ON messages.id = path.id
            ORDER BY path.depth DESC
            """,
            [leaf_id, conversation_id],
        )
        cols = [d[0] for d in rows.description]
        return [Message.from_row(dict(zip(cols, r))) for r in rows.fetchall()]

    def messages(self, conversation_id: str) -> list[Message]:
        """Every message of every branch, oldest first."""
        return [Message.from_row(r) for r in self.db.query(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid",
            [conversation_id])]

    def siblings(self, message_id: str) -> list[Message]:
        """The alternatives at one point of the tree (the message itself included)."""
        msg = self.get_message(message_id)
        return [Message.from_row(r) for r in self.db.query(
            "SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY branch",
            [msg.conversation_id, msg.parent_id])]

    def children(self, message_id: str) -> list[Message]:
        return [Message.from_row(r) for r in self.db.query(
            "SELECT * FROM messages WHERE parent_id = ? ORDER BY branch", [message_id])]

    def leaf_of(self, message_id: str) -> str:
        """Follow the newest child down to a leaf (used when switching branches)."""
        current = message_id
        while True:
            row = self.db.execute(
                "SELECT id FROM messages WHERE parent_id = ? ORDER BY created_at DESC, branch DESC"
                " LIMIT 1", [current]).fetchone()
            if row is None:
                return current
            current = row[0]

    def switch_branch(self, message_id: str) -> list[Message]:
        """Show the branch through `message_id` (down to its newest leaf)."""
        msg = self.get_message(message_id)
        leaf = self.leaf_of(message_id)
        self.update(msg.conversation_id, current_message_id=leaf)
        return self.thread(msg.conversation_id, leaf)


    # -- export and restore ---------------------------------------------------------------
    def export_conversations(self) -> Iterator[dict[str, Any]]:
        return export_rows(self.db, "conversations")

    def export_messages(self) -> Iterator[dict[str, Any]]:
        """Parents before children, so that a restore can insert in file order."""
        yield from self.db.query(
            """
            WITH RECURSIVE tree(id, depth) AS (
                SELECT id, 0 FROM messages WHERE parent_id IS NULL
                UNION ALL
                SELECT m.id, tree.depth + 1 FROM messages m JOIN tree ON m.parent_id = tree.id
            )
            SELECT messages.* FROM tree JOIN messages ON messages.id = tree.id
            ORDER BY tree.depth, messages.rowid
            """)

    def insert_missing(self, table: str, rows: list[dict[str, Any]]) -> int:
        """A restore's rows of `conversations` or `messages` that are not here yet."""
        if table not in ("conversations", "messages"):
            raise ValueError(table)
        return insert_missing(self.db, table, rows)


def fts_query(text: str) -> str:
    """Turn free text into a safe FTS5 query: each word quoted, all required."""
    words = [w.replace('"', '""') for w in text.split() if w.strip()]
    return " ".join(f'"{w}"' for w in words) or '""'
