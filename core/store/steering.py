"""How a person steers memory, in SQLite: feedback on memories used in answers, and projects.

`memory_feedback` holds ids only (which memory, which answer, which verdict): the question
the answer replied to is read from the conversation when it is needed, so a purge of the
message leaves no copy of its words here. `projects` are memory scopes of their own: a
conversation may belong to one, and a memory with a `project_id` is read only there.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from core.base import clock
from core.base.errors import EngramError, NotFoundError
from core.base.ids import new_id
from core.store.db import chunks, transaction

VERDICTS = ("not_relevant", "wrong")


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    source: str = "engram"
    source_id: str | None = None
    description: str = ""
    created_at: float = 0.0


class SteeringStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # -- feedback ------------------------------------------------------------------------
    def add_feedback(self, memory_id: str, message_id: str | None, verdict: str) -> int:
        if verdict not in VERDICTS:
            raise EngramError(f"Unknown feedback {verdict!r} (expected {', '.join(VERDICTS)})")
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT INTO memory_feedback (memory_id, message_id, verdict, at)"
                " VALUES (?, ?, ?, ?)", [memory_id, message_id, verdict, clock.now()])
            return int(cur.lastrowid)

    def feedback_of(self, memory_id: str) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT * FROM memory_feedback WHERE memory_id = ? ORDER BY at", [memory_id]))

    def not_relevant_questions(self, memory_ids: Sequence[str]) -> dict[str, list[str]]:
        """memory id -> the questions whose answers it was marked "not relevant" for (the
        person's message the answer replied to, as it is now: a purged one is blank)."""
        out: dict[str, list[str]] = {}
        for chunk, marks in chunks(list(memory_ids)):
            for mid, text in self.db.execute(
                    "SELECT f.memory_id, q.text FROM memory_feedback f"
                    " JOIN messages a ON a.id = f.message_id"
                    " JOIN messages q ON q.id = a.parent_id"
                    f" WHERE f.verdict = 'not_relevant' AND f.memory_id IN ({marks})", chunk):
                if text:
                    out.setdefault(mid, []).append(text)
        return out

    def drop_feedback(self, memory_ids: Sequence[str]) -> None:
        for chunk, marks in chunks(list(memory_ids)):
            self.db.execute(f"DELETE FROM memory_feedback WHERE memory_id IN ({marks})", chunk)

    # -- projects ------------------------------------------------------------------------
    def create_project(self, name: str, *, source: str = "engram", source_id: str | None = None,
                       description: str = "") -> Project:
        if not name.strip():
            raise EngramError("A project needs a name")
        if source_id:
            found = self.project_by_source(source, source_id)
            if found:
                return found
        pid = new_id()
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO projects (id, name, source, source_id, description, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [pid, name.strip(), source, source_id, description, clock.now()])
        return self.project(pid)

    def project(self, project_id: str) -> Project:
        rows = list(self.db.query("SELECT * FROM projects WHERE id = ?", [project_id]))
        if not rows:
            raise NotFoundError(f"No project with id {project_id}")
        return Project(**rows[0])

    def project_by_source(self, source: str, source_id: str) -> Project | None:
        rows = list(self.db.query("SELECT * FROM projects WHERE source = ? AND source_id = ?",
                                  [source, source_id]))
        return Project(**rows[0]) if rows else None

    def projects(self) -> list[Project]:
        return [Project(**r) for r in self.db.query("SELECT * FROM projects ORDER BY name")]

    def set_conversation_project(self, conversation_id: str, project_id: str | None) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE conversations SET project_id = ? WHERE id = ?",
                            [project_id, conversation_id])

    def project_of(self, conversation_id: str | None) -> str | None:
        if not conversation_id:
            return None
        row = self.db.execute("SELECT project_id FROM conversations WHERE id = ?",
                              [conversation_id]).fetchone()
        return row[0] if row else None

    def conversations_of_import(self, import_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(conversation id, meta) of one import's conversations."""
        import json

        return [(r[0], json.loads(r[1] or "{}")) for r in self.db.execute(
            "SELECT id, meta FROM conversations WHERE import_id = ?", [import_id])]

    def scope_conversation_memories(self, conversation_id: str, project_id: str) -> int:
        """The conversation's new memories into its project's scope (those
        `project_memories` names; the rest stay where `core.services.project_ops` put them)."""
        ids = self.project_memories(conversation_id, project_id)
        with transaction(self.db):
            for chunk, marks in chunks(ids):
                self.db.execute(f"UPDATE memories SET project_id = ? WHERE id IN ({marks})",
                                [project_id, *chunk])
        return len(ids)

    def project_memories(self, conversation_id: str, project_id: str) -> list[str]:
        """The memories of a conversation that belong in `project_id`'s scope and are not
        there yet: not purged, not "always include" (the person chose to send those with
        every message), and known from no conversation outside the project."""
        return [r[0] for r in self.db.execute(
            "SELECT m.id FROM memories m WHERE m.conversation_id = ? AND m.status != 'purged'"
            " AND m.always_include = 0 AND m.project_id IS NOT ? AND NOT EXISTS ("
            "  SELECT 1 FROM memory_sources s JOIN conversations c ON c.id = s.conversation_id"
            "  WHERE s.memory_id = m.id AND c.project_id IS NOT ?)"
            " ORDER BY m.created_at", [conversation_id, project_id, project_id])]

    def memories_in_project(self, project_id: str,
                            conversation_id: str | None = None) -> list[str]:
        """Memories in a project's scope (only one conversation's, when given)."""
        sql, args = "SELECT id FROM memories WHERE project_id = ?", [project_id]
        if conversation_id:
            sql, args = sql + " AND conversation_id = ?", [*args, conversation_id]
        return [r[0] for r in self.db.execute(sql + " ORDER BY created_at", args)]

    def rename_project(self, project_id: str, name: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE projects SET name = ? WHERE id = ?", [name, project_id])

    def delete_project(self, project_id: str) -> list[str]:
        """The project row; its conversations back to no project. Returns their ids."""
        with transaction(self.db):
            convs = self.conversations_in(project_id)
            self.db.execute("UPDATE conversations SET project_id = NULL WHERE project_id = ?",
                            [project_id])
            self.db.execute("DELETE FROM projects WHERE id = ?", [project_id])
        return convs

    def conversations_in(self, project_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM conversations WHERE project_id = ? ORDER BY updated_at DESC",
            [project_id])]

    def conversation_projects(self) -> dict[str, str]:
        """conversation id -> its project's id, for every conversation in a project."""
        return dict(self.db.execute(
            "SELECT id, project_id FROM conversations WHERE project_id IS NOT NULL").fetchall())

    def conversation_count(self, project_id: str) -> int:
        return self.db.execute("SELECT count(*) FROM conversations WHERE project_id = ?",
                               [project_id]).fetchone()[0]
