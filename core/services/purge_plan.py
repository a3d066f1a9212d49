"""What a purge must erase: every id, found before anything is erased.

A memory's text lives on in what was made from it, so the plan is a closure:
- an episodic memory's source messages are blanked (its text is theirs), and every other
  memory taken from those messages (turn windows, thoughts, summaries) is purged with it;
- a purged conversation takes every memory sourced from it or scoped to it;
- a memory made from purged memories (a summary of summaries: `source_ref = memory:<id>`)
  is purged too, since it may quote them.

The plan holds ids only (it is written to the purge journal). The texts, needed once to clean
log files, are read separately (`texts_to_scrub`) and never stored.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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
    memory_ids = [r[0] for r in eng.db.execute(
        "SELECT DISTINCT memory_id FROM memory_sources WHERE conversation_id = ?"
        " UNION SELECT id FROM memories WHERE conversation_id = ?",
        [conversation_id, conversation_id])]
    their_messages = {r[0] for r in eng.db.execute(
        "SELECT id FROM messages WHERE conversation_id = ?", [conversation_id])}
    plan = _close(eng, memory_ids, set(), [conversation_id], also_from=their_messages)
    plan.source_ids = [conv.source_id] if conv.source_id else []
    return plan


def _close(eng: Engram, memory_ids: list[str], message_ids: set[str],
           conversations: list[str], also_from: set[str] | None = None) -> PurgePlan:
    """The plan for these memories and messages plus all that was made from them
    (`also_from`: messages that go without being blanked, i.e. deleted with their
    conversation)."""
    memories = dict.fromkeys(memory_ids)
    frontier_messages = set(message_ids) | (also_from or set())
    frontier_memories = list(memories)
    while frontier_messages or frontier_memories:
        found: list[str] = []
        if frontier_messages:
            found += _column(eng, "SELECT DISTINCT memory_id FROM memory_sources"
                                  " WHERE message_id IN ({})", sorted(frontier_messages))
        if frontier_memories:
            found += _column(eng, "SELECT DISTINCT memory_id FROM memory_sources"
                                  " WHERE source_ref IN ({})",
                             [f"memory:{m}" for m in frontier_memories])
        frontier_messages = set()
        frontier_memories = [m for m in found if m not in memories]
        memories.update(dict.fromkeys(frontier_memories))
    ids = list(memories)
    live = set(_column(eng, "SELECT id FROM memories WHERE status != 'purged' AND id IN ({})",
                       ids))
    indexed = bool(_column(eng, "SELECT id FROM memories WHERE indexed_version IS NOT NULL"
                                " AND status != 'purged' AND id IN ({})", ids))
    kv = _affected_conversations(eng, ids) | set(conversations)
    return PurgePlan(memory_ids=[m for m in ids if m in live],
                     message_ids=sorted(message_ids), conversation_ids=list(conversations),
                     kv_conversations=sorted(kv), indexed=indexed)


def _affected_conversations(eng: Engram, memory_ids: list[str]) -> set[str]:
    """Conversations whose prompts or sources involve these memories (their saved KV states
    may hold the text)."""
    out: set[str] = set()
    for sql in ("SELECT conversation_id FROM memories WHERE id IN ({})",
                "SELECT conversation_id FROM memory_sources WHERE memory_id IN ({})",
                ("SELECT m.conversation_id FROM retrievals r"
                 " JOIN messages m ON m.id = r.message_id WHERE r.memory_id IN ({})")):
        out.update(c for c in _column(eng, sql, memory_ids) if c)
    return out


def texts_to_scrub(eng: Engram, plan: PurgePlan) -> list[str]:
    """Every text the plan erases, as it is now (current and earlier versions of memories,
    message texts, conversation titles), to clean out of log files. Read before the database
    step; kept in memory only."""
    texts: set[str] = set()
    texts.update(_column(eng, "SELECT text FROM memories WHERE id IN ({})", plan.memory_ids))
    for raw in _column(eng, "SELECT old_value FROM memory_events WHERE memory_id IN ({})"
                            " UNION SELECT new_value FROM memory_events WHERE memory_id IN ({})",
                       plan.memory_ids, repeat=2):
        texts.update(_strings(raw))
    texts.update(_column(eng, "SELECT text FROM messages WHERE id IN ({})", plan.message_ids))
    texts.update(_column(eng, "SELECT text FROM messages WHERE conversation_id IN ({})",
                         plan.conversation_ids))
    texts.update(_column(eng, "SELECT title FROM conversations WHERE id IN ({})",
                         plan.conversation_ids))
    return sorted(t for t in texts if t)


def _strings(raw: str | None) -> Iterator[str]:
    if not raw:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        return
    values = value.values() if isinstance(value, dict) else [value]
    yield from (v for v in values if isinstance(v, str))


def _column(eng: Engram, sql: str, ids: Iterable[str], *, repeat: int = 1) -> list[Any]:
    """Run `sql` (with one `{}` per repeat for the id list) over `ids` in chunks."""
    ids = list(ids)
    out: list[Any] = []
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = ",".join("?" * len(chunk))
        out += [r[0] for r in eng.db.execute(sql.format(*([marks] * repeat)), chunk * repeat)]
    return out
