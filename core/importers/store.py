"""The one path that stores parsed conversations, whatever format they came from.

Each conversation commits in its own transaction: the conversation row, its new messages,
their episodic memories (`remember_messages`) and its queued model jobs (summary, facts),
together or not at all. Ids are derived from the format and the archive's own ids
(`stable_id`), so importing the same archive again adds nothing, and a newer export adds only
the messages that are new. Rows are written through their stores (core.store).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from core.base import clock
from core.base.ids import stable_id
from core.importers.model import ParsedConversation
from core.importers.report import MAX_TITLE_CHARS
from core.importers.text import clean, memory_text
from core.memory.episodic import remember_messages
from core.services.engine import Engram
from core.store import purge_journal
from core.store.conversations import Message
from core.store.db import transaction
from core.store.jobs import EXTRACT_FACTS, SUMMARIZE_CONVERSATION

SUMMARY_JOBS = (SUMMARIZE_CONVERSATION, EXTRACT_FACTS)   # model jobs per new conversation


@dataclass
class Written:
    conversation_id: str
    new_conversation: bool
    new_messages: int
    memories: int
    job_queued: bool
    purged: bool = False          # purged earlier (a tombstone): not imported again


def conversation_id(conv: ParsedConversation) -> str:
    return stable_id(conv.source, conv.source_id)


def message_id(conv: ParsedConversation, source_id: str) -> str:
    return stable_id(conv.source, conv.source_id, source_id)


class ImportWriter:
    def __init__(self, engram: Engram, import_id: str) -> None:
        self.conversations = engram.conversations
        self.memories = engram.memories
        self.jobs = engram.jobs
        self.db = engram.db
        self.import_id = import_id

    @staticmethod
    def conversation_id(conv: ParsedConversation) -> str:
        return conversation_id(conv)

    def purged_earlier(self, conv: ParsedConversation) -> bool:
        """A purge left a tombstone for this conversation: it is not imported again."""
        return bool(purge_journal.tombstoned(self.db, [conversation_id(conv)]))

    def write(self, conv: ParsedConversation) -> Written:
        cid = conversation_id(conv)
        if self.purged_earlier(conv):
            return Written(cid, False, 0, 0, False, purged=True)
        with transaction(self.db):
            found = self.conversations.find(cid)
            new_conversation = found is None
            existing: set[str] = set()
            if new_conversation:
                self.conversations.create(
                    clean(conv.title)[:MAX_TITLE_CHARS] or "Untitled", id=cid,
                    created_at=_first_time(conv), source=conv.source,
                    source_id=conv.source_id, import_id=self.import_id, meta=conv.meta)
            else:
                existing = self.conversations.message_ids(cid)
            rows, fresh = self._rows(conv, cid, existing)
            self.conversations.insert_messages(rows)
            remembered = remember_messages(self.memories, fresh, actor="import",
                                           import_id=self.import_id) if fresh else []
            job = False
            if any(not m.hidden and m.role in ("user", "assistant") for m in fresh):
                queued = [self.jobs.enqueue(kind, {"conversation_id": cid}, needs_model=True)
                          for kind in SUMMARY_JOBS]
                job = any(q is not None for q in queued)
            if rows or new_conversation:
                current = (message_id(conv, conv.current_source_id) if conv.current_source_id
                           else message_id(conv, conv.messages[-1].source_id))
                last = max([r[6] for r in rows] + [conv.updated_at or 0.0,
                                                   found.updated_at if found else 0.0])
                self.conversations.set_current(cid, current, last)
        return Written(cid, new_conversation, len(rows), len(remembered), job)

    def _rows(self, conv: ParsedConversation, cid: str,
              existing: set[str]) -> tuple[list[tuple], list[Message]]:
        """Rows for the messages not stored yet, and (for memory) their visible subset."""
        times: dict[str, float] = {}
        fallback = _first_time(conv)
        rows: list[tuple] = []
        fresh: list[Message] = []
        for msg in conv.messages:
            mid = message_id(conv, msg.source_id)
            parent = (message_id(conv, msg.parent_source_id)
                      if msg.parent_source_id is not None else None)
            when = msg.created_at
            if when is None:
                when = times.get(msg.parent_source_id or "", fallback)
            times[msg.source_id] = when
            fallback = when
            if mid in existing:
                continue
            existing.add(mid)
            meta = json.dumps(msg.meta, ensure_ascii=False) if msg.meta else "{}"
            rows.append((mid, cid, parent, msg.branch, msg.role, msg.text, when, msg.model,
                         int(msg.hidden), msg.source_id, self.import_id, meta))
            # remember_messages decides what becomes a memory (visible user/assistant turns);
            # it gets every new message, so that it finds neighbours without queries.
            fresh.append(Message(mid, cid, parent, msg.branch, msg.role, memory_text(msg.text),
                                 when, msg.model, msg.hidden, msg.source_id, self.import_id,
                                 dict(msg.meta)))
        return rows, fresh


def _first_time(conv: ParsedConversation) -> float:
    if conv.created_at is not None:
        return conv.created_at
    for msg in conv.messages:
        if msg.created_at is not None:
            return msg.created_at
    return conv.updated_at if conv.updated_at is not None else clock.now()


