"""LM Studio conversation file (`*.conversation.json`): `{name, createdAt (ms), systemPrompt,
messages: [{versions: [...], currentlySelected}]}`. A user version holds `content` blocks; an
assistant version holds `steps` of content blocks and `senderInfo.senderName` (the model).
Versions are alternatives (edits, regenerations): kept as sibling branches; the selected
one carries the thread on."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from core.importers.jsonio import conversation_objects
from core.importers.model import ParsedConversation, ParsedMessage, Skipped, as_text, as_time
from core.importers.stream import SafeReader
from core.importers.text import clean

FORMAT = "lmstudio"
_ROLE = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}


def parse(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    for record in conversation_objects(reader):
        yield record if isinstance(record, Skipped) else convert(record, reader.name)


def convert(conv: dict[str, Any], entry_name: str) -> ParsedConversation | Skipped:
    title = clean(as_text(conv.get("name"))).strip()
    created = as_time(conv.get("createdAt"))
    stem = PurePosixPath(entry_name).name.removesuffix(".json").removesuffix(".conversation")
    source_id = clean(as_text(conv.get("createdAt")) or stem)
    label = title or stem
    raw = conv.get("messages")
    if not isinstance(raw, list):
        return Skipped("conversation without messages", conversation=label)
    messages: list[ParsedMessage] = []
    skipped: list[Skipped] = []
    parent: str | None = None
    system = clean(as_text(conv.get("systemPrompt"))).strip()
    if system:
        messages.append(ParsedMessage("system", None, "system", system, created, hidden=True))
        parent = "system"
    for index, slot in enumerate(raw):
        versions = slot.get("versions") if isinstance(slot, dict) else None
        if not isinstance(versions, list) or not versions:
            skipped.append(Skipped("message without versions", label, f"#{index}"))
            continue
        chosen = slot.get("currentlySelected")
        chosen = chosen if isinstance(chosen, int) and 0 <= chosen < len(versions) else 0
        next_parent = parent
        for k, version in enumerate(versions):
            if not isinstance(version, dict):
                skipped.append(Skipped("malformed message version", label, f"#{index}.{k}"))
                continue
            role = _ROLE.get(as_text(version.get("role")), "tool")
            sender = version.get("senderInfo")
            model = as_text(sender.get("senderName")) if isinstance(sender, dict) else ""
            sid = f"{index}:{k}"
            messages.append(ParsedMessage(
                sid, parent, role, clean(_version_text(version)), None, branch=k,
                hidden=role not in ("user", "assistant"), model=clean(model)[:200] or None))
            if k == chosen:
                next_parent = sid
        parent = next_parent
    if not messages:
        return Skipped("conversation without messages", conversation=label)
    return ParsedConversation(FORMAT, source_id, title or "Untitled", created, None, messages,
                              parent, skipped)


def _version_text(version: dict[str, Any]) -> str:
    blocks: list[Any] = []
    if isinstance(version.get("content"), list):
        blocks += version["content"]
    for step in version.get("steps") or []:
        if (isinstance(step, dict) and step.get("type") == "contentBlock"
                and isinstance(step.get("content"), list)):
            blocks += step["content"]
    texts = [as_text(b.get("text")) for b in blocks
             if isinstance(b, dict) and b.get("type") in ("text", None)]
    if not texts and isinstance(version.get("content"), str):
        return version["content"]
    return "\n".join(t for t in texts if t)
