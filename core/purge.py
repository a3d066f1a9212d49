"""Purge: irreversible removal of a memory or a conversation from every file Engram keeps.

Forgetting is reversible and lives in MemoryStore. Purging goes further, and is verifiable
(see tests/reliability): the text is blanked in SQLite (with secure_delete, so freed pages are
zeroed), full-text indexes are rewritten, the WAL is checkpointed and truncated, the vector is
deleted from Chroma (which never held the text), and saved KV states of every conversation
whose prompts may have contained the text are deleted. Database backups are replaced by one
fresh backup of the purged database. The audit log keeps a tombstone.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.db import transaction
from core.engine import Engram

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    memories: list[str] = field(default_factory=list)
    messages_blanked: int = 0
    conversations: list[str] = field(default_factory=list)
    kv_states_deleted: int = 0


def kv_state_files(kv_state_dir: Path, conversation_id: str) -> list[Path]:
    """Saved KV states are named `<conversation_id>.*` (see core.runtime's state store)."""
    if not kv_state_dir.exists():
        return []
    return sorted(kv_state_dir.glob(f"{conversation_id}.*"))


def affected_conversations(eng: Engram, memory_ids: Iterable[str]) -> set[str]:
    """Conversations whose prompts or sources involve these memories."""
    ids = list(memory_ids)
    out: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for sql in (
            f"SELECT conversation_id FROM memories WHERE id IN ({marks})",
            f"SELECT conversation_id FROM memory_sources WHERE memory_id IN ({marks})",
            f"SELECT m.conversation_id FROM retrievals r JOIN messages m ON m.id = r.message_id"
            f" WHERE r.memory_id IN ({marks})",
        ):
            out.update(r[0] for r in eng.db.execute(sql, chunk) if r[0])
    return out


def purge_memory(eng: Engram, memory_id: str, *, actor: str = "user",
                 with_source_messages: bool | None = None) -> PurgeReport:
    """Purge one memory. An episodic memory's text is the text of its source messages, so
    those are blanked too by default (the messages stay in their tree, empty and marked)."""
    mem = eng.memories.get(memory_id)
    if with_source_messages is None:
        with_source_messages = mem.kind == "episodic"
    return _purge(eng, [memory_id], actor=actor, blank_messages=with_source_messages)


def purge_conversation(eng: Engram, conversation_id: str, *, actor: str = "user") -> PurgeReport:
    """Delete a conversation, its messages, and purge every memory derived from it."""
    eng.conversations.get(conversation_id)
    memory_ids = [r[0] for r in eng.db.execute(
        "SELECT DISTINCT memory_id FROM memory_sources WHERE conversation_id = ?"
        " UNION SELECT id FROM memories WHERE conversation_id = ? AND status != 'purged'",
        [conversation_id, conversation_id])]
    report = _purge(eng, memory_ids, actor=actor, blank_messages=False,
                    extra_conversations={conversation_id})
    with transaction(eng.db):
        eng.db.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])
    report.conversations.append(conversation_id)
    scrub_files(eng)
    return report


def _purge(eng: Engram, memory_ids: list[str], *, actor: str, blank_messages: bool,
           extra_conversations: set[str] | None = None) -> PurgeReport:
    report = PurgeReport()
    memory_ids = list(dict.fromkeys(memory_ids))
    with transaction(eng.db):
        if blank_messages:
            message_ids = {src["message_id"] for mid in memory_ids
                           for src in eng.memories.sources(mid) if src["message_id"]}
            for msg_id in message_ids:
                eng.db.execute(
                    "UPDATE messages SET text = '', meta = json_set(meta, '$.purged', 1)"
                    " WHERE id = ?", [msg_id])
            report.messages_blanked = len(message_ids)
            # every other memory taken from those messages holds a copy of their text too
            # (turn windows, thoughts): purge them with it
            memory_ids += [r[0] for r in _memories_from_messages(eng, message_ids)
                           if r[0] not in memory_ids]
        conversations = affected_conversations(eng, memory_ids) | (extra_conversations or set())
        for mid in memory_ids:
            if eng.memories.get(mid).status != "purged":
                eng.memories.purge_rows(mid, actor=actor)
                report.memories.append(mid)
    if report.memories:
        eng.index.delete(report.memories)
        eng.memories.mark_indexed({mid: eng.memories.get(mid).version for mid in report.memories})
    for cid in conversations:
        for path in kv_state_files(eng.layout.kv_state_dir, cid):
            path.unlink(missing_ok=True)
            report.kv_states_deleted += 1
    scrub_files(eng)
    log.info("purged %d memories, blanked %d messages, deleted %d KV states",
             len(report.memories), report.messages_blanked, report.kv_states_deleted)
    return report


def _memories_from_messages(eng: Engram, message_ids: set[str]) -> list[tuple[str]]:
    ids = sorted(message_ids)
    out: list[tuple[str]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out += eng.db.execute(
            f"SELECT DISTINCT memory_id FROM memory_sources WHERE message_id IN ({marks})",
            chunk).fetchall()
    return out


def scrub_files(eng: Engram) -> None:
    """Make deleted text unrecoverable from the SQLite files: rewrite the FTS indexes
    (dropping deleted entries), then checkpoint the WAL into the main file and truncate it."""
    from core.backup import replace_all_backups

    for table in ("memories_fts", "messages_fts"):
        eng.db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    eng.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    replace_all_backups(eng.db, eng.layout.backups_dir)
