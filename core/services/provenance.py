"""Where a memory comes from and where it went, for the inspector's provenance tab: its
sources (conversation title, message excerpt, import) and the answers that used it. (The
answers' own traces are `Engram.retrievals.traces`; the imports, `Engram.imports.list`.)
"""
from __future__ import annotations

import json
from typing import Any

from core.base.errors import NotFoundError
from core.services.engine import Engram


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
            found = eng.imports.get(src["import_id"])
            if found:
                item["import"] = found
        sources.append(item)
    used = []
    for r in _uses(eng, memory_id):
        entry = dict(r)
        try:
            msg = eng.conversations.get_message(r["message_id"])
            entry["text"] = msg.text
            entry["conversation_title"] = eng.conversations.get(msg.conversation_id).title
        except NotFoundError:
            entry["text"] = ""
        used.append(entry)
    return {"sources": sources, "used_by": used}


def _uses(eng: Engram, memory_id: str) -> list[dict[str, Any]]:
    """The answers that used this memory: itself, or (a fact) the turn it was taken from
    when the fact is what led retrieval there (its trace names a `*_fact` signal)."""
    own = [dict(r) for r in eng.retrievals.uses_of(memory_id)]
    mem = eng.memories.get(memory_id)
    turn = mem.meta.get("turn") if mem.kind == "fact" else None
    if not turn:
        return own
    seen = {r["message_id"] for r in own}
    for r in eng.retrievals.uses_of(turn):
        ranks = (json.loads(r.get("detail") or "{}") or {}).get("ranks") or {}
        if r["message_id"] not in seen and any(k.endswith("_fact") for k in ranks):
            own.append({**dict(r), "via": "turn"})
    return own
