"""Memory in a person's words: kind names, who said it, plain states, dates, history lines.

The store speaks of "episodic", "superseded", `last_recalled_at`; a person reads "What you
said", "Replaced by a newer memory", "used in an answer". Every panel that shows a memory
(the inspector's table and detail pane, the chat's memory chips) takes its words from here.
"""
from __future__ import annotations

import time
from typing import Any

KIND_NAMES = {"fact": "Fact", "thought": "Thought", "portrait": "Portrait",
              "summary": "Summary", "compact": "Chat summary", "episodic": "Turn"}
KIND_FILTER = [("Facts", ("fact",)), ("Thoughts", ("thought",)), ("Portrait", ("portrait",)),
               ("Summaries", ("summary", "compact"))]

STATUS_WORDS = {"active": "In use", "forgotten": "Forgotten", "superseded": "Replaced",
                "purged": "Erased"}
STATUS_SENTENCES = {
    "active": "In use: Engram may bring it into answers.",
    "forgotten": "Forgotten: never used in answers until you restore it.",
    "superseded": "Replaced by a newer or merged memory: not used; restore brings it back.",
    "purged": "Erased for good: its text is gone from every file.",
}
IMPORT_NAMES = {"chatgpt": "ChatGPT", "claude": "Claude", "openwebui": "Open WebUI",
                "claude-memory": "Claude memory", "pasted": "pasted list"}


def kind_name(mem: Any) -> str:
    if mem.kind == "episodic" and mem.granularity == "window":
        return "Index entry"
    return KIND_NAMES.get(mem.kind, mem.kind.capitalize())


def who_said(mem: Any, info: dict[str, Any] | None) -> str:
    """Who the memory's words come from: "You", "Assistant", "Claude memory", "Engram"."""
    info = info or {}
    refs = info.get("refs") or []
    if any(r == "claude-memory" or r.startswith("claude-memory:") for r in refs):
        return "Imported from Claude memory"
    if any(r == "pasted" or r.startswith("pasted:") for r in refs):
        return "Pasted by you"
    roles = info.get("roles") or []
    if mem.kind == "episodic":
        role = mem.meta.get("role") or (roles[0] if roles else "")
        if not role:
            role = "assistant" if mem.text.startswith("Assistant: ") else "user"
        speaker = mem.meta.get("speaker")
        return speaker or ("Assistant" if role == "assistant" else "You")
    if mem.kind == "fact":
        speaker = mem.meta.get("speaker")
        if roles == ["assistant"]:
            return "Assistant"
        return f"{speaker} said" if speaker and speaker not in ("User", "You") else "You said"
    if mem.kind == "portrait" or mem.kind in ("summary", "compact", "thought"):
        chats = info.get("chats") or 0
        return "Engram, from " + ("1 chat" if chats == 1 else f"{chats} chats") if chats \
            else "Engram"
    return "You"


def status_text(mem: Any) -> str:
    """The short state for a table cell."""
    words = STATUS_WORDS.get(mem.status, mem.status)
    if mem.status == "superseded" and mem.superseded_by:
        words = "Replaced"
    marks = []
    if mem.always_include and mem.status == "active":
        marks.append("in every answer")
    if mem.pinned:
        marks.append("kept")
    return words + (f" · {', '.join(marks)}" if marks else "")


def status_sentence(mem: Any) -> str:
    out = STATUS_SENTENCES.get(mem.status, mem.status)
    if mem.status != "purged":
        if mem.pinned:
            out += " Kept for good: it never fades."
        if mem.always_include:
            out += " Sent with every message."
    return out


def day(ts: float | None) -> str:
    return time.strftime("%d %b %Y", time.localtime(ts)) if ts else "—"


def moment(ts: float | None) -> str:
    return time.strftime("%d %b %Y, %H:%M", time.localtime(ts)) if ts else "—"


def happened(mem: Any, info: dict[str, Any] | None = None) -> float | None:
    """When the remembered thing happened: the memory's own date, else its message's."""
    return mem.occurred_at or (info or {}).get("said_at")


def unprefixed(text: str) -> str:
    for prefix in ("User: ", "Assistant: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _short(text: Any, n: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


EVENT_WORDS = {"created": "Remembered", "edited": "Text changed", "recalled": "Used in an answer",
               "forgotten": "Forgotten", "restored": "Restored", "merged": "Merged into another",
               "superseded": "Replaced", "pinned": "Kept for good", "unpinned": "No longer kept",
               "rescoped": "Scope changed", "purged": "Erased"}
ACTOR_WORDS = {"user": "you", "assistant": "Engram", "import": "import", "policy": "Engram",
               "system": "Engram"}


def event_name(event: Any) -> str:
    new = event.new_value or {}
    if "always_include" in new:
        return "Sent with every message" if new["always_include"] else "No longer sent always"
    return EVENT_WORDS.get(event.event, event.event)


def describe_change(event: Any) -> str:
    """One line for the History tab, in words (never raw field names or timestamps)."""
    old, new = event.old_value or {}, event.new_value or {}
    if event.event == "purged":
        return "text erased for good"
    if event.event == "recalled":
        s = new.get("strength")
        return f"strength now {s:.0f}" if isinstance(s, int | float) else ""
    parts = []
    if "text" in new:
        parts.append(f"“{_short(old.get('text'), 40)}” → “{_short(new['text'], 40)}”"
                     if old.get("text") is not None else f"“{_short(new['text'], 60)}”")
    if "scope" in new:
        parts.append("only in its own chat" if new["scope"] == "conversation"
                     else "in every chat")
    if "status" in new and event.event not in ("forgotten", "restored", "merged", "superseded"):
        parts.append(STATUS_WORDS.get(new["status"], new["status"]).lower())
    if event.note and not parts:
        parts.append(event.note)
    return "; ".join(parts)



def tally_text(t: dict[str, int]) -> str:
    """"Engram knows 12 facts, 3 thoughts, a portrait and 4 summaries · 40 turns from 6
    chats · 120 index entries for search (not listed)"."""
    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    known = [n(t[k], one, many) for k, one, many in (
        ("fact", "fact", "facts"), ("thought", "thought", "thoughts"),
        ("portrait", "portrait", "portraits"), ("summary", "summary", "summaries")) if t.get(k)]
    head = ("Engram knows " + ", ".join(known)) if known else "Engram knows no facts yet"
    parts = [head]
    if t.get("turn"):
        parts.append(n(t["turn"], "turn", "turns") + " from " + n(t.get("chats", 0), "chat",
                                                                  "chats"))
    if t.get("window"):
        parts.append(n(t["window"], "index entry", "index entries") + " for search (not listed)")
    return " · ".join(parts)

