"""Claude export: `conversations.json` (or inside the zip), an array of conversations with
`chat_messages`. Messages may be out of time order; text lives in `text` or in content blocks
(text, thinking, tool_use, tool_result); attachments carry their extracted text.

One Claude message becomes one message here: its readable text (text blocks, plus the text of
attached files, which the person sent) is remembered; thinking and tool traffic are kept in
the message's meta, out of memory. Newer exports link messages with `parent_message_uuid`,
which is followed (giving branches); older ones are chained in time order.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from core.base.ids import stable_id
from core.importers.jsonio import conversation_objects
from core.importers.model import (
    ParsedConversation,
    ParsedMessage,
    Skipped,
    as_list,
    as_text,
    as_time,
    assign_branches,
)
from core.importers.stream import SafeReader
from core.importers.text import clean
from core.importers.tree import walk

FORMAT = "claude"
_ROLE = {"human": "user", "user": "user", "assistant": "assistant", "system": "system"}
_META_TEXT_LIMIT = 20_000


def parse(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    for record in conversation_objects(reader):
        yield record if isinstance(record, Skipped) else convert(record)


def convert(conv: dict[str, Any]) -> ParsedConversation | Skipped:
    title = clean(as_text(conv.get("name"))).strip()
    created = as_time(conv.get("created_at"))
    source_id = clean(as_text(conv.get("uuid"))) or stable_id("untitled", title, str(created))
    label = title or source_id
    raw = conv.get("chat_messages")
    if not isinstance(raw, list):
        return Skipped("conversation without chat_messages", conversation=label)
    skipped: list[Skipped] = []
    parsed: list[tuple[float, int, ParsedMessage, Any]] = []
    seen: set[str] = set()
    for index, msg in enumerate(raw):
        if not isinstance(msg, dict):
            skipped.append(Skipped("malformed message", label, f"#{index}"))
            continue
        pm = _message(msg, index)
        if pm.source_id in seen:
            skipped.append(Skipped("duplicate message id", label, pm.source_id))
            continue
        seen.add(pm.source_id)
        when = pm.created_at if pm.created_at is not None else float("inf")
        parsed.append((when, index, pm, msg.get("parent_message_uuid")))
    if not parsed:
        return Skipped("conversation without any message", conversation=label)
    parsed.sort(key=lambda item: (item[0], item[1]))
    linked = any(isinstance(p[3], str) for p in parsed)
    previous: str | None = None
    by_id: dict[str, ParsedMessage] = {}
    for _, _, pm, parent in parsed:
        if linked:
            pm.parent_source_id = parent if isinstance(parent, str) and parent in seen else None
        else:
            pm.parent_source_id = previous
        previous = pm.source_id
        by_id[pm.source_id] = pm
    order, _, unreachable = walk(
        by_id, lambda i: by_id[i].parent_source_id, lambda i: [])
    skipped += [Skipped("message unreachable from the root (cycle)", label, u)
                for u in unreachable]
    messages = [by_id[i] for i in order]
    assign_branches(messages)
    current = conv.get("current_leaf_message_uuid")
    current_id = current if isinstance(current, str) and current in by_id else previous
    return ParsedConversation(FORMAT, source_id, title or "Untitled", created,
                              as_time(conv.get("updated_at")), messages, current_id, skipped,
                              _project_meta(conv))


def _project_meta(conv: dict[str, Any]) -> dict[str, Any]:
    """A conversation of a Claude project carries `project` ({uuid, name}) or a
    `project_uuid` (core.importers.projects maps it to a memory scope)."""
    project = conv.get("project")
    if isinstance(project, dict) and isinstance(project.get("uuid"), str):
        name = project.get("name")
        return {"project": {"id": project["uuid"],
                            "name": name if isinstance(name, str) and name else ""}}
    if isinstance(conv.get("project_uuid"), str) and conv["project_uuid"]:
        return {"project": {"id": conv["project_uuid"], "name": ""}}
    return {}


def _message(msg: dict[str, Any], index: int) -> ParsedMessage:
    sender = as_text(msg.get("sender"))
    role = _ROLE.get(sender, "tool")
    texts: list[str] = []
    meta: dict[str, Any] = {}
    blocks = msg.get("content")
    if isinstance(blocks, list):
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = as_text(block.get("type"))
            if kind == "text":
                value = as_text(block.get("text"))
                if value:
                    texts.append(value)
            elif kind == "thinking":
                _append(meta, "thinking", as_text(block.get("thinking")))
            elif kind == "tool_use":
                _append(meta, "tool_use", f"{as_text(block.get('name'))}: "
                        f"{_compact(block.get('input'))}")
            elif kind == "tool_result":
                _append(meta, "tool_result", _block_text(block.get("content")))
            elif kind:
                meta.setdefault("other_blocks", []).append(kind[:64])
    text = "\n\n".join(texts) if texts else as_text(msg.get("text"))
    for att in as_list(msg.get("attachments")):
        if isinstance(att, dict):
            extracted = as_text(att.get("extracted_content"))
            name = as_text(att.get("file_name")) or "attachment"
            if extracted.strip():
                text = f"{text}\n\n[Attachment: {name}]\n{extracted}".strip()
            meta.setdefault("attachments", []).append(clean(name)[:300])
    for f in as_list(msg.get("files")):
        if isinstance(f, dict) and as_text(f.get("file_name")):
            meta.setdefault("files", []).append(clean(as_text(f["file_name"]))[:300])
    source_id = clean(as_text(msg.get("uuid"))) or f"#{index}"
    hidden = role not in ("user", "assistant")
    if sender not in _ROLE:
        meta["original_role"] = sender[:64]
    return ParsedMessage(source_id, None, role, clean(text).strip(),
                         as_time(msg.get("created_at")), hidden=hidden, meta=meta)


def _append(meta: dict[str, Any], key: str, value: str) -> None:
    if value:
        current = meta.get(key, "")
        meta[key] = clean((current + "\n\n" + value).strip(), _META_TEXT_LIMIT)


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(as_text(c.get("text")) for c in content if isinstance(c, dict))
    return ""


def _compact(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:2000]
    except (ValueError, TypeError, RecursionError):
        return ""
