"""What a purge must erase: every id, found before anything is erased.

A memory's text lives on in what was made from it, so the plan is a closure:
- an episodic memory's source messages are blanked (its text is theirs), and every other
  memory taken from those messages (turn windows, thoughts, summaries) is purged with it;
- a purged conversation takes every memory sourced from it or scoped to it;
- a memory made from purged memories (a summary of summaries: `source_ref = memory:<id>`)
  is purged too, since it may quote them;
- a blanked message's conversation loses the summaries made from the whole conversation
  (they may quote it), and its title when the title was made from that message's words
  (the title becomes "Untitled chat").

The plan holds ids only (it is written to the purge journal). The texts, needed once to clean
log files, are read separately (`texts_to_scrub`) and never stored.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from core.services.engine import Engram


@dataclass
class PurgePlan:
    memory_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)        # blanked (they stay in the tree)
    conversation_ids: list[str] = field(default_factory=list)   # deleted
    kv_conversations: list[str] = field(default_factory=list)   # whose saved KV states go
    source_ids: list[str] = field(default_factory=list)         # archive ids of deleted ones
    indexed: bool = False          # any memory ever written to the vector index
    retitled: list[str] = field(default_factory=list)           # titles quoting a message
    done: dict[str, Any] = field(default_factory=dict)          # counts, filled as steps run

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PurgePlan:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def plan_memory(eng: Engram, memory_id: str, *, blank_messages: bool) -> PurgePlan:
    eng.memories.get(memory_id)   # NotFoundError for a wrong id
    messages: set[str] = set()
    if blank_messages:
        messages = {src["message_id"] for src in eng.memories.sources(memory_id)
                    if src["message_id"]}
    return _close(eng, [memory_id], messages, [])


def plan_conversation(eng: Engram, conversation_id: str) -> PurgePlan:
    conv = eng.conversations.get(conversation_id)
    plan = _close(eng, eng.memories.ids_of_conversation(conversation_id), set(),
                  [conversation_id], also_from=eng.conversations.message_ids(conversation_id))
    plan.source_ids = [conv.source_id] if conv.source_id else []
    return plan


def _close(eng: Engram, memory_ids: list[str], message_ids: set[str],
           conversations: list[str], also_from: set[str] | None = None) -> PurgePlan:
    """The plan for these memories and messages plus all that was made from them
    (`also_from`: messages that go without being blanked, i.e. deleted with their
    conversation)."""
    store = eng.memories
    memories = dict.fromkeys(memory_ids)
    frontier_messages = set(message_ids) | (also_from or set())
    retitled: list[str] = []
    if message_ids:
        of_message = eng.views.conversations_of_messages(sorted(message_ids))
        convs = sorted(set(of_message.values()) - set(conversations))
        memories.update(dict.fromkeys(eng.views.conversation_summaries(convs)))
        retitled = _titles_quoting(eng, of_message, convs)
    frontier_memories = list(memories)
    while frontier_messages or frontier_memories:
        found: list[str] = []
        if frontier_messages:
            found += store.derived_from_messages(sorted(frontier_messages))
        if frontier_memories:
            found += store.derived_from_memories(frontier_memories)
        frontier_messages = set()
        frontier_memories = [m for m in found if m not in memories]
        memories.update(dict.fromkeys(frontier_memories))
    ids = list(memories)
    live = store.live_ids(ids)
    # conversations whose prompts or sources involve these memories: their saved KV states
    # may hold the text
    kv = store.conversations_of(ids) | eng.retrievals.conversations_using(ids) | set(
        conversations)
    return PurgePlan(memory_ids=[m for m in ids if m in live],
                     message_ids=sorted(message_ids), conversation_ids=list(conversations),
                     kv_conversations=sorted(kv), indexed=store.ever_indexed(ids),
                     retitled=retitled)


TITLE_SHARE = 0.5     # a title with half its words from a message was made from it


def _titles_quoting(eng: Engram, of_message: dict[str, str], convs: list[str]) -> list[str]:
    """Conversations whose title was made from (or quotes) one of these messages."""
    titles = eng.views.titles(convs)
    texts = dict(zip(of_message, [eng.conversations.get_message(m).text
                                  for m in of_message], strict=True))
    out = []
    for cid, title in titles.items():
        words = _words(title)
        if not words or title == UNTITLED:
            continue
        for mid, conv in of_message.items():
            if conv == cid and len(words & _words(texts[mid])) >= TITLE_SHARE * len(words):
                out.append(cid)
                break
    return out


UNTITLED = "Untitled chat"


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", (text or "").lower()) if len(w) > 1}


def texts_to_scrub(eng: Engram, plan: PurgePlan) -> list[str]:
    """Every text the plan erases, as it is now (current and earlier versions of memories,
    message texts, conversation titles), to clean out of log files. Read before the database
    step; kept in memory only."""
    texts = eng.memories.texts_of(plan.memory_ids)
    texts |= eng.conversations.texts(plan.message_ids, plan.conversation_ids)
    texts.update(eng.conversations.titles(plan.conversation_ids + plan.retitled))
    return sorted(t for t in texts if t)
