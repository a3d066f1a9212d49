"""The neutral shape every archive format is converted into before anything is stored.

A parser yields one `ParsedConversation` at a time. Its messages are in tree order (a parent
always comes before its children), carry the archive's own ids, and point to their parent by
that source id, so one shared path (`core.importers.store`) can store any format.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.base.errors import EngramError

ROLES = ("system", "user", "assistant", "tool")


class ArchiveError(EngramError):
    """The archive cannot be read or recognised. The only error an importer lets escape."""


@dataclass
class ParsedMessage:
    source_id: str
    parent_source_id: str | None
    role: str                       # one of ROLES
    text: str                       # what a person would read
    created_at: float | None
    branch: int = 0                 # index among its siblings (0 = first)
    hidden: bool = False            # system/tool plumbing, thoughts: stored, never remembered
    model: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    """Something left out, and why (shown in dry runs and import reports)."""
    reason: str
    conversation: str = ""          # the conversation's title or source id
    item: str = ""                  # a message/node id, or a line number


@dataclass
class ParsedConversation:
    source: str                     # format name: chatgpt, claude, openwebui, ...
    source_id: str
    title: str
    created_at: float | None
    updated_at: float | None
    messages: list[ParsedMessage]
    current_source_id: str | None   # leaf of the visible thread (None: the last message)
    skipped: list[Skipped] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def branches(self) -> int:
        """Alternatives beyond the first at each branch point (edits, regenerations, swipes)."""
        return sum(1 for m in self.messages if m.branch > 0)


def assign_branches(messages: list[ParsedMessage]) -> None:
    """Number siblings in the order given (their position among the parent's children)."""
    seen: dict[str | None, int] = {}
    for msg in messages:
        msg.branch = seen.get(msg.parent_source_id, 0)
        seen[msg.parent_source_id] = msg.branch + 1


def as_list(value: Any) -> list[Any]:
    """A list for things that should be a list but may be anything (null, true, an object)."""
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str:
    """A string for things that should be text but may be anything (null, a number...)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return ""


def as_time(value: Any) -> float | None:
    """Epoch seconds from epoch seconds, epoch milliseconds or an ISO-8601 string; else None."""
    from core.base import clock

    try:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
            ts = float(value)
            if not math.isfinite(ts):
                return None
            if ts > 1e14:          # microseconds
                ts /= 1e6
            elif ts > 1e11:        # milliseconds
                ts /= 1000.0
            return ts if 0 <= ts < 32503680000 else None
        if isinstance(value, str) and value.strip():
            text = value.strip()
            if text.replace(".", "", 1).isdigit():
                return as_time(float(text))
            ts = clock.from_iso(text)
            return ts if 0 <= ts < 32503680000 else None
    except (ValueError, OverflowError, OSError):
        return None
    return None
