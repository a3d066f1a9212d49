"""ChatGPT data export: `conversations.json` (an array, or one object), the split
`conversations-000.json`... files, inside the zip or not.

A conversation's `mapping` is a tree of nodes `{id, parent, children, message|null}`; the
visible thread runs from `current_node` up to the root, and other children are edits or
regenerations, kept as branches. Nodes without a message are skipped and their children
attached to the nearest ancestor that has one.
"""
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

FORMAT = "chatgpt"
# Context the model was given, its private reasoning, memory plumbing: stored, not remembered.
HIDDEN_TYPES = {"user_editable_context", "model_editable_context", "thoughts",
                "reasoning_recap", "system_message"}
_ROLE = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool",
         "developer": "system", "critic": "tool"}
_ASSET = {"image_asset_pointer": "[image]", "audio_asset_pointer": "[audio]",
          "video_container_asset_pointer": "[video]",
          "real_time_user_audio_video_asset_pointer": "[audio/video]"}

EMPTY_NODE = "empty node, no message in it (as ChatGPT's root)"


def parse(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    for record in conversation_objects(reader):
        yield record if isinstance(record, Skipped) else convert(record)


def convert(conv: dict[str, Any]) -> ParsedConversation | Skipped:
    title = clean(as_text(conv.get("title"))).strip()
    source_id = clean(as_text(conv.get("conversation_id") or conv.get("id")))
    created = as_time(conv.get("create_time"))
    if not source_id:
        source_id = stable_id("untitled", title, str(created))
    label = title or source_id
    mapping = conv.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        return Skipped("conversation without a mapping (no messages)", conversation=label)
    nodes, order, skipped = walk_linked(mapping, "parent", "children", label, "node")

    def parent_of(node_id: str) -> str | None:
        parent = nodes[node_id].get("parent")
        return parent if isinstance(parent, str) else None

    effective: dict[str, str | None] = {}   # node -> nearest ancestor that has a message
    messages: list[ParsedMessage] = []
    for node_id in order:
        parent = parent_of(node_id)
        anchor = effective.get(parent) if parent in nodes else None
        msg = nodes[node_id].get("message")
        parsed = _message(node_id, msg, anchor) if isinstance(msg, dict) else None
        if parsed is None:
            if msg is None:
                skipped.append(Skipped(EMPTY_NODE, label, node_id))
            else:
                skipped.append(Skipped("malformed message", label, node_id))
            effective[node_id] = anchor
            continue
        effective[node_id] = node_id
        messages.append(parsed)
    if not messages:
        return Skipped("conversation without any message", conversation=label)
    assign_branches(messages)
    current = conv.get("current_node")
    current_id = effective.get(current) if isinstance(current, str) else None
    meta = {k: conv[k] for k in ("default_model_slug", "gizmo_id", "gizmo_type", "is_archived",
                                 "is_starred", "memory_scope", "is_do_not_remember",
                                 "conversation_template_id")
            if conv.get(k) is not None and isinstance(conv.get(k), (str, bool, int, float))}
    return ParsedConversation(FORMAT, source_id, title or "Untitled", created,
                              as_time(conv.get("update_time")), messages, current_id,
                              skipped, meta)


def _message(node_id: str, msg: dict[str, Any], parent: str | None) -> ParsedMessage | None:
    author = msg.get("author") if isinstance(msg.get("author"), dict) else {}
    raw_role = as_text(author.get("role"))
    role = _ROLE.get(raw_role, "tool")
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    ctype = as_text(content.get("content_type")) or "unknown"
    metadata = msg.get("metadata") if isinstance(msg.get("metadata"), dict) else {}
    text = clean(_content_text(ctype, content))
    recipient = as_text(msg.get("recipient")) or "all"
    weight = msg.get("weight")
    hidden = (role == "system" or raw_role not in _ROLE or ctype in HIDDEN_TYPES
              or bool(metadata.get("is_visually_hidden_from_conversation"))
              or bool(metadata.get("is_user_system_message"))
              or (isinstance(weight, (int, float)) and weight == 0)
              or (role == "assistant" and recipient != "all"))
    meta: dict[str, Any] = {"content_type": ctype}
    if recipient != "all":
        meta["recipient"] = recipient
    if raw_role not in _ROLE:
        meta["original_role"] = raw_role[:64]
    if author.get("name") and isinstance(author.get("name"), str):
        meta["author_name"] = clean(author["name"])[:200]
    attachments = metadata.get("attachments")
    if isinstance(attachments, list):
        names = [clean(as_text(a.get("name")))[:300] for a in attachments if isinstance(a, dict)]
        if names:
            meta["attachments"] = names
    model = metadata.get("model_slug")
    return ParsedMessage(
        source_id=node_id, parent_source_id=parent, role=role, text=text,
        created_at=as_time(msg.get("create_time")), hidden=hidden,
        model=clean(model)[:200] if isinstance(model, str) and model else None, meta=meta)


def _content_text(ctype: str, content: dict[str, Any]) -> str:
    """What a person would read for each content type; unknown types give what text they have."""
    if ctype in ("text", "multimodal_text"):
        return _parts(content.get("parts"))
    if ctype == "code":
        return as_text(content.get("text"))
    if ctype == "execution_output":
        return as_text(content.get("text"))
    if ctype == "tether_browsing_display":
        return as_text(content.get("result")) or as_text(content.get("summary"))
    if ctype == "tether_quote":
        title, text = as_text(content.get("title")), as_text(content.get("text"))
        return f"{title}\n{text}".strip()
    if ctype == "system_error":
        name, text = as_text(content.get("name")), as_text(content.get("text"))
        return f"{name}: {text}".strip(": ")
    if ctype == "user_editable_context":
        return "\n".join(t for t in (as_text(content.get("user_profile")),
                                     as_text(content.get("user_instructions"))) if t)
    if ctype == "model_editable_context":
        return as_text(content.get("model_set_context"))
    if ctype == "thoughts":
        thoughts = content.get("thoughts")
        if isinstance(thoughts, list):
            return "\n\n".join(
                "\n".join(t for t in (as_text(th.get("summary")), as_text(th.get("content"))) if t)
                for th in thoughts if isinstance(th, dict))
        return ""
    if ctype == "reasoning_recap":
        return as_text(content.get("content"))
    for key in ("text", "parts", "result", "content", "summary"):
        value = content.get(key)
        if isinstance(value, str) and value:
            return value
        if key == "parts" and isinstance(value, list):
            return _parts(value)
    return ""


def _parts(parts: Any) -> str:
    if not isinstance(parts, list):
        return as_text(parts)
    out = []
    for part in parts:
        if isinstance(part, str):
            if part:
                out.append(part)
        elif isinstance(part, dict):
            ptype = as_text(part.get("content_type"))
            if isinstance(part.get("text"), str) and part["text"]:
                out.append(part["text"])
            elif ptype in _ASSET:
                out.append(_ASSET[ptype])
    return "\n".join(out)
