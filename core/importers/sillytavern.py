"""SillyTavern chat (`.jsonl`): line 1 is a header (`user_name`, `character_name`,
`chat_metadata`), then one message per line (`name`, `is_user`, `is_system`, `send_date`,
`mes`, `swipes`, `swipe_id`). Swipes are alternative replies: kept as sibling branches, the
chosen one (`swipe_id`) carries the thread on. One file is one conversation."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from core.importers.jsonio import iter_json_lines
from core.importers.model import (
    ArchiveError,
    ParsedConversation,
    ParsedMessage,
    Skipped,
    as_text,
    as_time,
)
from core.importers.stream import SafeReader
from core.importers.text import clean

FORMAT = "sillytavern"
HEADER_KEYS = {"user_name", "character_name", "chat_metadata"}
_HUMAN_FORMATS = ("%B %d, %Y %I:%M%p", "%B %d, %Y %I:%M %p", "%b %d, %Y %I:%M%p",
                  "%Y-%m-%d @%Hh %Mm %Ss %fms", "%Y-%m-%d@%Hh%Mm%Ss")


def st_time(value: Any) -> float | None:
    ts = as_time(value)
    if ts is None and isinstance(value, str):
        for fmt in _HUMAN_FORMATS:
            try:
                return datetime.strptime(value.strip(), fmt).replace(
                    tzinfo=UTC).timestamp()
            except ValueError:
                continue
    return ts


def parse(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    header: dict[str, Any] = {}
    messages: list[ParsedMessage] = []
    skipped: list[Skipped] = []
    parent: str | None = None
    label = reader.name
    for number, record in iter_json_lines(reader):
        if isinstance(record, ArchiveError):
            skipped.append(Skipped("line is not JSON", label, f"line {number}"))
            continue
        if not isinstance(record, dict):
            skipped.append(Skipped("line is not an object", label, f"line {number}"))
            continue
        if number == 1 and HEADER_KEYS & set(record) and "mes" not in record:
            header = record
            continue
        is_system = bool(record.get("is_system"))
        role = "system" if is_system else ("user" if record.get("is_user") else "assistant")
        when = st_time(record.get("send_date"))
        swipes = record.get("swipes")
        texts = [as_text(s) for s in swipes] if isinstance(swipes, list) and swipes else []
        if not texts:
            texts = [as_text(record.get("mes"))]
        chosen = record.get("swipe_id")
        chosen = chosen if isinstance(chosen, int) and 0 <= chosen < len(texts) else 0
        if len(texts) == 1:
            texts = [as_text(record.get("mes")) or texts[0]]
        name = clean(as_text(record.get("name")))[:200]
        next_parent = parent
        for k, text in enumerate(texts):
            sid = f"{number}:{k}"
            messages.append(ParsedMessage(
                sid, parent, role, clean(text), when, branch=k, hidden=is_system,
                model=(clean(as_text((record.get("extra") or {}).get("model")))[:200] or None)
                if isinstance(record.get("extra"), dict) else None,
                meta={"speaker": name} if name else {}))
            if k == chosen:
                next_parent = sid
        parent = next_parent
    if not messages:
        yield Skipped("chat without messages", conversation=label)
        return
    character = clean(as_text(header.get("character_name")))
    created = st_time(header.get("create_date")) or messages[0].created_at
    source_id = f"{character or reader.name}|{as_text(header.get('create_date')) or reader.name}"
    title = f"Chat with {character}" if character else reader.name
    yield ParsedConversation(FORMAT, clean(source_id), title, created, None, messages, parent,
                             skipped, {"user_name": clean(as_text(header.get("user_name")))})
