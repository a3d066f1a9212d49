"""Purge: irreversible removal of memories or a conversation from every file Engram keeps.

Forgetting is reversible and lives in MemoryStore. Purging goes further, and is verifiable
(see tests/reliability and `engram doctor`). It is a journalled operation
(core.store.purge_journal), in this order:

1. plan: every id to erase (core.services.purge_plan), written to the journal before anything else;
2. logs: the texts, read once and kept in memory only, are replaced in the log files;
3. database, in one transaction that also moves the journal on: memories blanked to
   tombstones (text and every earlier version in the audit log), episodic source messages
   blanked, a purged conversation deleted with its messages, its title cleaned out of import
   reports, jobs about it cancelled, tombstones written (so a restore or a re-import does not
   bring it back);
4. files: vectors erased from the index (delete, then a rebuild of the collection and, when
   embedded, its leftover files: core.index.erasure), saved KV states of every conversation
   whose prompts may have held the text deleted, full-text indexes rewritten, the WAL
   checkpointed and truncated (secure_delete zeroes freed pages), every backup replaced by
   one fresh backup of the purged database.

A purge interrupted anywhere (SIGKILL, a full disk, an unreachable index) is finished by
`finish_pending` at the next start (core.services.startup) and by `engram doctor --repair`.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.base.errors import EngramError, NotFoundError
from core.runtime.kv_store import delete_states
from core.services.engine import Engram
from core.services.purge_files import PurgeIncompleteError, scrub_database, scrub_logs
from core.services.purge_plan import (
    UNTITLED,
    PurgePlan,
    plan_conversation,
    plan_memory,
    texts_to_scrub,
)
from core.store import purge_journal as journal
from core.store.backup import replace_all_backups
from core.store.db import checkpoint, transaction

log = logging.getLogger(__name__)

_LOCK = threading.Lock()      # one purge at a time in a process (the app's threads, start-up)


@dataclass
class PurgeReport:
    memories: list[str] = field(default_factory=list)
    messages_blanked: int = 0
    conversations: list[str] = field(default_factory=list)
    kv_states_deleted: int = 0
    titles_rewritten: int = 0
    vectors: dict[str, Any] = field(default_factory=dict)
    backups_removed: int = 0
    warnings: list[str] = field(default_factory=list)
    journal_id: int = 0
    resumed: bool = False       # finished a purge an earlier run had started

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def purge_memories(eng: Engram, memory_ids: Iterable[str], *, actor: str = "user",
                   with_source_messages: bool | None = None) -> PurgeReport:
    """Purge memories as one operation: one journal entry, one index rebuild, one scrub of the
    files. An episodic memory's text is the text of its source messages, so those are blanked
    too by default (the messages stay in their tree, empty and marked)."""
    ids = list(dict.fromkeys(memory_ids))
    with _LOCK:
        resumed = _finish_pending_locked(eng)
        done_before = _already_done(resumed, "memory", ids)
        todo = [m for m in ids if m not in done_before]
        plans = []
        for mid in todo:
            mem = eng.memories.get(mid)
            if mem.status == "purged":
                continue          # purged already (perhaps with another one of these)
            blank = mem.kind == "episodic" if with_source_messages is None else with_source_messages
            plans.append(plan_memory(eng, mid, blank_messages=blank))
        if not plans:
            if done_before:
                return _merge(list(done_before.values()))
            raise EngramError(f"Memory {ids[0] if len(ids) == 1 else 'selection'} was purged "
                              "already; nothing of it is left")
        plan = _union(plans)
        entry = journal.open_entry(eng.db, "memory", ",".join(todo)[:2000], actor,
                                   plan.to_json())
        report = _run(eng, entry, plan)
        return _merge([*done_before.values(), report])


def purge_conversation(eng: Engram, conversation_id: str, *, actor: str = "user") -> PurgeReport:
    """Delete a conversation, its messages, and purge every memory derived from it."""
    with _LOCK:
        resumed = _finish_pending_locked(eng)
        earlier = _already_done(resumed, "conversation", [conversation_id])
        if conversation_id in earlier:
            return earlier[conversation_id]
        try:
            plan = plan_conversation(eng, conversation_id)
        except NotFoundError:
            if journal.tombstoned(eng.db, [conversation_id]):
                raise EngramError(f"Conversation {conversation_id} was purged already") from None
            raise
        entry = journal.open_entry(eng.db, "conversation", conversation_id, actor,
                                   plan.to_json())
        return _run(eng, entry, plan)


def finish_pending(eng: Engram) -> list[PurgeReport]:
    """Finish every purge an earlier run left unfinished (start-up, doctor --repair).
    Raises the first failure after trying them all (each stays journalled)."""
    with _LOCK:
        return list(_finish_pending_locked(eng).values())


def _finish_pending_locked(eng: Engram) -> dict[int, PurgeReport]:
    out: dict[int, PurgeReport] = {}
    failure: Exception | None = None
    for entry in journal.pending(eng.db):
        try:
            report = _run(eng, entry, PurgePlan.from_json(entry.plan))
        except EngramError as exc:
            failure = failure or exc
            continue
        report.resumed = True
        out[entry.id] = report
        log.info("finished purge %d (%s), which an earlier run had left at stage %s",
                 entry.id, entry.kind, entry.stage)
    if failure is not None:
        raise failure
    return out


def _run(eng: Engram, entry: journal.JournalEntry, plan: PurgePlan) -> PurgeReport:
    try:
        if entry.stage == "planned":
            scrub_logs(eng.layout.logs_dir, texts_to_scrub(eng, plan))
            _database_step(eng, entry, plan)
        _file_step(eng, entry, plan)
    except EngramError as exc:
        journal.record_error(eng.db, entry, str(exc))
        raise
    except Exception as exc:
        journal.record_error(eng.db, entry, f"{type(exc).__name__}: {exc}")
        if entry.stage == "planned":
            raise
        raise PurgeIncompleteError(
            "The purge erased the text from the database, but a file step failed "
            f"({type(exc).__name__}: {exc}); it is finished at the next start or by "
            "`engram doctor --repair`.") from exc
    report = _report(entry, plan)
    log.info("purged %d memories, blanked %d messages, deleted %d conversations and %d KV "
             "states (journal %d)", len(report.memories), report.messages_blanked,
             len(report.conversations), report.kv_states_deleted, entry.id)
    return report


def _database_step(eng: Engram, entry: journal.JournalEntry, plan: PurgePlan) -> None:
    db = eng.db
    with eng.memories.operation():          # one operation: undo stops at a purge
        purged = []
        for mid in plan.memory_ids:
            if eng.memories.get(mid).status != "purged":
                eng.memories.purge_rows(mid, actor=entry.actor)
                purged.append(mid)
        eng.conversations.blank_messages(plan.message_ids)
        for cid in plan.retitled:               # a title made from a purged message
            if cid not in plan.conversation_ids and eng.conversations.find(cid):
                eng.conversations.rename(cid, UNTITLED)
        # the vector erasure is owed by this journal entry: the index sync must not do a
        # plain delete of these ids meanwhile
        eng.memories.mark_erasure_owed(plan.memory_ids)
        _scrub_import_reports(eng, plan)
        cancelled = eng.jobs.cancel_naming(
            set(plan.conversation_ids) | set(plan.message_ids) | set(plan.memory_ids))
        eng.conversations.delete_many(plan.conversation_ids)
        journal.add_tombstones(db, "conversation", plan.conversation_ids, entry.actor)
        journal.add_tombstones(db, "message", plan.message_ids, entry.actor)
        journal.add_tombstones(db, "memory", plan.memory_ids, entry.actor)
        plan.done.update(memories=purged, messages_blanked=len(plan.message_ids),
                         jobs_cancelled=cancelled)
        entry.plan = plan.to_json()
        journal.set_stage(db, entry, "database")


def _file_step(eng: Engram, entry: journal.JournalEntry, plan: PurgePlan) -> None:
    if plan.memory_ids:
        plan.done["vectors"] = eng.index.erase(plan.memory_ids, force=plan.indexed)
        if plan.done["vectors"].get("dropped"):    # a damaged index went whole: embed again
            eng.memories.mark_unindexed()
    plan.done["kv_states_deleted"] = plan.done.get("kv_states_deleted", 0) + delete_states(
        eng.layout.kv_state_dir, plan.kv_conversations)
    scrub_database(eng.db)
    backups = replace_all_backups(eng.db, eng.layout.backups_dir)
    plan.done["backups_removed"] = backups.removed
    plan.done["warnings"] = [backups.warning] if backups.warning else []
    entry.plan = plan.to_json()
    with transaction(eng.db):
        journal.set_stage(eng.db, entry, "done")
    # the journal's own update is the last write: checkpoint it too, so the WAL is empty
    checkpoint(eng.db)


def _scrub_import_reports(eng: Engram, plan: PurgePlan) -> None:
    """Import reports list skipped items by their conversation's title or archive id: drop
    every entry naming a purged conversation, and the title from any other string."""
    if not plan.conversation_ids:
        return
    labels = set(plan.source_ids) | set(eng.conversations.titles(plan.conversation_ids))
    scrub_import_reports(eng, labels)


def scrub_import_reports(eng: Engram, labels: set[str]) -> int:
    """Remove these conversation labels (titles, archive ids) from every import report.
    Returns how many reports changed."""
    if not labels:
        return 0
    return eng.imports.rewrite_reports(lambda report: _without_labels(report, labels))


def _without_labels(report: dict[str, Any], labels: set[str]) -> dict[str, Any]:
    out = dict(report)
    skipped = report.get("skipped") or []
    out["skipped"] = [s for s in skipped if not (isinstance(s, dict) and (
        s.get("conversation") in labels or s.get("item") in labels))]
    long_labels = sorted((lb for lb in labels if len(lb) >= 4), key=len, reverse=True)

    def clean(text: str) -> str:
        for label in long_labels:
            text = text.replace(label, "[purged]")
        return text

    out["errors"] = [clean(e) if isinstance(e, str) else e for e in report.get("errors") or []]
    out["skipped"] = [{k: clean(v) if isinstance(v, str) else v for k, v in s.items()}
                      if isinstance(s, dict) else s for s in out["skipped"]]
    return out


def _report(entry: journal.JournalEntry, plan: PurgePlan) -> PurgeReport:
    done = plan.done
    return PurgeReport(memories=list(done.get("memories", [])),
                       messages_blanked=int(done.get("messages_blanked", 0)),
                       conversations=list(plan.conversation_ids),
                       kv_states_deleted=int(done.get("kv_states_deleted", 0)),
                       titles_rewritten=len(plan.retitled),
                       vectors=dict(done.get("vectors", {})),
                       backups_removed=int(done.get("backups_removed", 0)),
                       warnings=list(done.get("warnings", [])), journal_id=entry.id)


def _union(plans: list[PurgePlan]) -> PurgePlan:
    out = PurgePlan()
    for p in plans:
        out.memory_ids += [m for m in p.memory_ids if m not in out.memory_ids]
        out.message_ids = sorted(set(out.message_ids) | set(p.message_ids))
        out.kv_conversations = sorted(set(out.kv_conversations) | set(p.kv_conversations))
        out.indexed = out.indexed or p.indexed
        out.retitled = sorted(set(out.retitled) | set(p.retitled))
    return out


def _already_done(finished: dict[int, PurgeReport], kind: str,
                  ids: list[str]) -> dict[str, PurgeReport]:
    """Reports of just-finished earlier purges that targeted these ids."""
    out: dict[str, PurgeReport] = {}
    for report in finished.values():
        targets = report.conversations if kind == "conversation" else report.memories
        for i in ids:
            if i in targets:
                out[i] = report
    return out


def _merge(reports: list[PurgeReport]) -> PurgeReport:
    if len(reports) == 1:
        return reports[0]
    out = PurgeReport(resumed=any(r.resumed for r in reports),
                      journal_id=max((r.journal_id for r in reports), default=0))
    unique = list({id(r): r for r in reports}.values())
    if len(unique) == 1:
        return unique[0]
    for r in unique:
        out.memories += [m for m in r.memories if m not in out.memories]
        out.messages_blanked += r.messages_blanked
        out.conversations += r.conversations
        out.kv_states_deleted += r.kv_states_deleted
        out.titles_rewritten += r.titles_rewritten
        out.backups_removed += r.backups_removed
        out.warnings += r.warnings
        out.vectors = r.vectors or out.vectors
    return out
