"""Read-only view-model queries that core does not offer as a service yet.

Everything here runs on the db thread, reads only, and returns plain dicts. When core grows the
matching service (a retrieval trace reader, an import list), these delegate to it.
"""
from __future__ import annotations

from typing import Any

from core.errors import NotFoundError


def memories_used(eng: Any, message_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The retrieval trace of assistant messages: message id -> [{memory_id, rank, score,
    reason, kind, text, status}], best first."""
    out: dict[str, list[dict[str, Any]]] = {mid: [] for mid in message_ids}
    if not message_ids:
        return out
    try:
        from core.chat import ChatService
    except ImportError:
        ChatService = None
    if ChatService is not None and hasattr(ChatService, "trace"):
        service = ChatService(eng, None)
        for mid in message_ids:
            out[mid] = [{"memory_id": t.memory_id, "rank": t.rank, "score": t.score,
                         "reason": t.reason, "kind": t.kind, "text": t.text}
                        for t in service.trace(mid)]
        return out
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = eng.db.query(
            "SELECT r.message_id, r.memory_id, r.rank, r.score, r.reason, m.kind, m.text"
            " FROM retrievals r JOIN memories m ON m.id = r.memory_id"
            f" WHERE r.message_id IN ({marks}) ORDER BY r.message_id, r.rank", chunk)
        for row in rows:
            out[row["message_id"]].append(dict(row))
    return out


def list_imports(eng: Any) -> list[dict[str, Any]]:
    """Imports, newest first (for the inspector's source filter and provenance)."""
    return [dict(r) for r in eng.db.query(
        "SELECT id, file_name, format, status, started_at, finished_at FROM imports"
        " ORDER BY started_at DESC LIMIT 200")]


def provenance(eng: Any, memory_id: str) -> dict[str, Any]:
    """Sources with their conversation title and message excerpt, the import, and the
    answers that used the memory."""
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
                item["message_role"] = msg.role
                item["message_text"] = msg.text
                item["message_at"] = msg.created_at
            except NotFoundError:
                item["message_text"] = None
        if src.get("import_id"):
            rows = list(eng.db.query(
                "SELECT file_name, format, started_at FROM imports WHERE id = ?",
                [src["import_id"]]))
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
