"""Open WebUI export: an array of `{id, title, chat: {history: {messages, currentId}}, ...}`,
or one chat object on its own. `history.messages` is a tree (`parentId`, `childrenIds`);
`currentId` is the leaf on screen. Chat-level times are in milliseconds."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.base.ids import stable_id
from core.importers.jsonio import conversation_objects
from core.importers.model import (
    ParsedConversation,
    ParsedMessage,
    Skipped,
    as_text,
    as_time,
    assign_branches,
)
from core.importers.stream import SafeReader
from core.importers.text import clean
from core.importers.tree import walk_linked

FORMAT = "openwebui"
_ROLE = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}


def parse(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    for record in conversation_objects(reader):
        yield record if isinstance(record, Skipped) else convert(record)


def convert(record: dict[str, Any]) -> ParsedConversation | Skipped:
    chat = record.get("chat") if isinstance(record.get("chat"), dict) else record
    title = clean(as_text(record.get("title") or chat.get("title"))).strip()
    created = as_time(record.get("created_at")) or as_time(chat.get("timestamp"))
    history = chat.get("history") if isinstance(chat.get("history"), dict) else {}
    raw = history.get("messages")
    current = history.get("currentId")
    if not isinstance(raw, dict) or not raw:
        listed = chat.get("messages")
        if not isinstance(listed, list) or not listed:
            return Skipped("chat without messages", conversation=title or "?")
        raw, previous = {}, None           # no tree: chain the flat list
        for i, m in enumerate(listed):
            if isinstance(m, dict):
                mid = as_text(m.get("id")) or f"#{i}"
                raw[mid] = {**m, "parentId": previous, "childrenIds": []}
                previous = mid
        current = previous
    first_id = next(iter(raw), "")
    source_id = clean(as_text(record.get("id") or chat.get("id"))) or stable_id(
        "openwebui-anonymous", title, str(created), str(first_id))
    label = title or source_id
    nodes, order, skipped = walk_linked(raw, "parentId", "childrenIds", label, "message")

    def parent_of(i: str) -> str | None:
        parent = nodes[i].get("parentId")
        return parent if isinstance(parent, str) else None
    messages = []
    for node_id in order:
        node = nodes[node_id]
        raw_role = as_text(node.get("role"))
        role = _ROLE.get(raw_role, "tool")
        parent = parent_of(node_id)
        model = node.get("model") if isinstance(node.get("model"), str) else None
        meta: dict[str, Any] = {}
        if isinstance(node.get("files"), list):
            names = [as_text(f.get("name")) for f in node["files"] if isinstance(f, dict)]
            if any(names):
                meta["files"] = [clean(n)[:300] for n in names if n]
        messages.append(ParsedMessage(
            node_id, parent if parent in nodes else None, role,
            clean(_content(node.get("content"))), as_time(node.get("timestamp")),
            hidden=role not in ("user", "assistant"), model=clean(model) if model else None,
            meta=meta))
    if not messages:
        return Skipped("chat without messages", conversation=label)
    assign_branches(messages)
    current_id = current if isinstance(current, str) and current in nodes else None
    return ParsedConversation(FORMAT, source_id, title or "Untitled", created,
                              as_time(record.get("updated_at")), messages, current_id, skipped)


def _content(value: Any) -> str:
    if isinstance(value, list):        # OpenAI-style multimodal content
        return "\n".join(as_text(p.get("text")) for p in value
                         if isinstance(p, dict) and p.get("type") == "text")
    return as_text(value)
