"""Plain transcripts: Markdown/text with role labels, and JSONL.

Markdown: a line that starts with a role label ("User:", "**Assistant:**", "## Human",
"### ChatGPT") begins a message that runs to the next label; a leading "# Title" names the
conversation. JSONL: either one message per line (`role`/`content`, also `speaker`/`text`),
making one conversation of the file, or one conversation per line (`{"messages": [...]}`).
Messages are identified by position, so a longer copy of the same file adds only the new ones.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import PurePosixPath
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

MARKDOWN, JSONL = "markdown", "jsonl"
_ROLE_WORDS = {"user": "user", "human": "user", "you": "user", "me": "user",
               "assistant": "assistant", "ai": "assistant", "chatgpt": "assistant",
               "claude": "assistant", "gemini": "assistant", "bot": "assistant",
               "model": "assistant", "gpt": "assistant", "system": "system"}
_LABEL = re.compile(
    r"^\s{0,3}(?:(#{1,6})\s*)?(\*\*|__)?(" + "|".join(_ROLE_WORDS) + r")\b(?:\s*\([^)]{0,80}\))?"
    r"\s*(\*\*|__)?\s*(:)?\s*(\*\*|__)?\s*(.*)$", re.IGNORECASE)
_MAX_MESSAGES = 1_000_000


def role_label(line: str) -> tuple[str, str] | None:
    """(role, rest of the line) when the line starts a message, else None."""
    m = _LABEL.match(line)
    if not m:
        return None
    heading, colon = m.group(1), m.group(5)
    if not heading and not colon:
        return None
    return _ROLE_WORDS[m.group(3).lower()], m.group(7)


def parse_markdown(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    stem = PurePosixPath(reader.name).stem
    title = ""
    messages: list[ParsedMessage] = []
    current: list[str] = []
    role: str | None = None

    def flush() -> None:
        if role is not None:
            parent = messages[-1].source_id if messages else None
            messages.append(ParsedMessage(str(len(messages)), parent, role,
                                          clean("\n".join(current).strip()), None,
                                          hidden=role == "system"))

    while True:
        raw = reader.readline()
        if not raw:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        label = role_label(line)
        if label:
            flush()
            role, first = label
            current = [first] if first else []
        elif role is None:
            if line.startswith("# ") and not title:
                title = line[2:].strip()
        else:
            current.append(line)
    flush()
    if not messages:
        yield Skipped("no role-labelled messages found", conversation=reader.name)
        return
    yield ParsedConversation(MARKDOWN, reader.name, clean(title) or stem, None, None, messages,
                             messages[-1].source_id)


def parse_jsonl(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    stem = PurePosixPath(reader.name).stem
    messages: list[ParsedMessage] = []
    skipped: list[Skipped] = []
    for number, record in iter_json_lines(reader):
        if isinstance(record, ArchiveError) or not isinstance(record, dict):
            skipped.append(Skipped("line is not a JSON object", reader.name, f"line {number}"))
            continue
        if isinstance(record.get("messages"), list):
            yield _conversation(f"{reader.name}:{number}", as_text(record.get("title"))
                                or f"{stem} #{number}", record["messages"], [])
            continue
        if len(messages) < _MAX_MESSAGES:
            messages.append(_message(record, str(number), None))
    if messages:
        for prev, msg in pairwise(messages):
            msg.parent_source_id = prev.source_id
        yield ParsedConversation(JSONL, reader.name, stem, messages[0].created_at, None,
                                 messages, messages[-1].source_id, skipped)
    else:
        yield from skipped


def _conversation(source_id: str, title: str, items: list[Any],
                  skipped: list[Skipped]) -> ParsedConversation | Skipped:
    messages: list[ParsedMessage] = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            parent = messages[-1].source_id if messages else None
            messages.append(_message(item, str(i), parent))
    if not messages:
        return Skipped("conversation without messages", conversation=source_id)
    return ParsedConversation(JSONL, source_id, clean(title), messages[0].created_at, None,
                              messages, messages[-1].source_id, skipped)


def _message(record: dict[str, Any], sid: str, parent: str | None) -> ParsedMessage:
    word = as_text(record.get("role") or record.get("speaker") or record.get("author")
                   or record.get("from")).strip().lower()
    role = _ROLE_WORDS.get(word, "tool" if word in ("tool", "function") else "user"
                           if not word else "tool")
    content = record.get("content", record.get("text", record.get("message")))
    if isinstance(content, list):
        content = "\n".join(as_text(c.get("text")) for c in content if isinstance(c, dict))
    when = as_time(record.get("timestamp") or record.get("created_at") or record.get("time"))
    return ParsedMessage(sid, parent, role, clean(as_text(content)), when,
                         hidden=role not in ("user", "assistant"))
