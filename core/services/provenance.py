"""Where memories come from and where they went: read-only views for the inspector and the
chat's "memories used" chips.

- `retrieval_traces`: for assistant messages, the memories put into their prompts (rank, score,
  why), best first.
- `provenance`: a memory's sources (conversation title, message excerpt, import) and the answers
  that used it.
- `list_imports`: the imports, newest first.
"""
from __future__ import annotations

from typing import Any

from core.base.errors import NotFoundError
from core.services.engine import Engram


def retrieval_traces(eng: Engram, message_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """message id -> [{memory_id, rank, score, reason, kind, text, status}], best first."""
    out: dict[str, list[dict[str, Any]]] = {mid: [] for mid in message_ids}
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = eng.db.query(
            "SELECT r.message_id, r.memory_id, r.rank, r.score, r.reason, m.kind, m.text,"
            " m.status FROM retrievals r JOIN memories m ON m.id = r.memory_id"
            f" WHERE r.message_id IN ({marks}) ORDER BY r.message_id, r.rank", chunk)
        for row in rows:
            out[row["message_id"]].append(dict(row))
    return out


def list_imports(eng: Engram, limit: int = 200) -> list[dict[str, Any]]:
    return [dict(r) for r in eng.db.query(
        "SELECT id, file_name, format, status, started_at, finished_at, counts FROM imports"
        " ORDER BY started_at DESC LIMIT ?", [limit])]


def provenance(eng: Engram, memory_id: str) -> dict[str, Any]:
    """{"sources": [...], "used_by": [...]} for one memory. Deleted conversations and messages
    are reported as such rather than failing."""
    sources = []
    for src in eng.memories.sources(memory_id):
        item = dict(src)
        if src.get("conversation_id"):
            try:
                conv = eng.conversations.get(src["conversation_id"])
                item["conversation_title"] = conv.title or "Untitled chat"
                item["conversation_source"] = conv.source
            except NotFoundError:
                item["conversation_title"] = "(deleted chat)"
        if src.get("message_id"):
            try:
                msg = eng.conversations.get_message(src["message_id"])
                item.update(message_role=msg.role, message_text=msg.text,
                            message_at=msg.created_at)
            except NotFoundError:
                item["message_text"] = None
        if src.get("import_id"):
            rows = list(eng.db.query("SELECT file_name, format, started_at FROM imports"
                                     " WHERE id = ?", [src["import_id"]]))
            if rows:
                item["import"] = dict(rows[0])
        sources.append(item)
    used = []
    for r in eng.memories.retrievals_of(memory_id):
        entry = dict(r)
        try:
            msg = eng.conversations.get_message(r["message_id"])
            entry["text"] = msg.text
            entry["conversation_title"] = eng.conversations.get(msg.conversation_id).title
        except NotFoundError:
            entry["text"] = ""
        used.append(entry)
    return {"sources": sources, "used_by": used}
