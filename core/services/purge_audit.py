"""Is every purge complete? The checks behind `engram doctor` (and what --repair fixes).

Without the purged text (it is gone) a purge cannot be proven by searching for it, so the
audit checks what a complete purge leaves, by id:

text: purged memories hold no text, subject or metadata and their audit rows no values;
blanked messages are empty; purged conversations and their messages are gone; the full-text
indexes agree with their tables (no entry for deleted text); no backup holds a purged row
with text; no temporary backup file is left; no saved KV state of a purged conversation
exists; no import report names a purged conversation's archive id.

vectors: no purged id in the index (the API); embedded only: no row of Chroma's write-ahead
queue names one, no segment folder is left from a dropped collection, and no file under the
Chroma folder holds a purged id at all (the HNSW id maps, the metadata segment). Old vectors
carry no id, so this last check stands on the erasure's rebuild: a dropped segment's folder is
where they would be, and it is checked. On a server, only the API check is possible.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from core.index.erasure import queue_rows_for, stale_segment_dirs
from core.index.vector_index import IndexDamaged
from core.runtime.kv_store import delete_states, state_files
from core.services.engine import Engram
from core.services.purge import finish_pending, purge_conversation, scrub_import_reports
from core.services.purge_files import scrub_database
from core.store import purge_journal as journal
from core.store.backup import (
    holds_purged,
    leftovers,
    list_backups,
    remove_leftovers,
    replace_all_backups,
)
from core.store.db import fts_out_of_step, rebuild_fts

_ID = re.compile(rb"[0-9a-f]{32}")


@dataclass
class PurgeAudit:
    finished: int = 0
    unfinished: list[str] = field(default_factory=list)       # "id (stage): error"
    text_problems: dict[str, int] = field(default_factory=dict)
    vector_problems: dict[str, int] = field(default_factory=dict)
    backups_checked: int = 0
    holding_backups: list[Path] = field(default_factory=list)
    vector_checks: str = ""

    @property
    def complete(self) -> bool:
        return not (self.unfinished or self.text_problems or self.vector_problems)


def audit(eng: Engram, *, check_vectors: bool = True) -> PurgeAudit:
    out = PurgeAudit(finished=len(journal.finished(eng.db)))
    out.unfinished = [f"{e.id} ({e.kind}, stage {e.stage})" + (f": {e.error}" if e.error else "")
                      for e in journal.pending(eng.db)]
    _text(eng, out)
    if check_vectors:
        _vectors(eng, out)
    return out


def _text(eng: Engram, out: PurgeAudit) -> None:
    gone = journal.tombstone_ids(eng.db, "conversation")
    checks = {
        "purged memories with text": eng.memories.purged_with_text(),
        "audit rows of purged memories with values":
            eng.memories.purged_history_with_values(),
        "blanked messages with text":
            eng.conversations.with_text(journal.tombstone_ids(eng.db, "message")),
        "purged conversations still present": len(eng.conversations.present(gone)),
    }
    out.text_problems.update({name: n for name, n in checks.items() if n})
    for table in fts_out_of_step(eng.db):
        out.text_problems[f"{table} out of step with its table"] = 1
    for backup in list_backups(eng.layout.backups_dir):
        out.backups_checked += 1
        if _backup_holds_purged(eng, backup):
            out.holding_backups.append(backup)
    if out.holding_backups:
        out.text_problems["backups holding purged rows"] = len(out.holding_backups)
    if n := len(leftovers(eng.layout.backups_dir)):
        out.text_problems["temporary backup files left"] = n
    if n := sum(len(state_files(eng.layout.kv_state_dir, c)) for c in gone):
        out.text_problems["saved KV states of purged conversations"] = n
    if n := _reports_naming(eng):
        out.text_problems["import reports naming a purged conversation"] = n


def _backup_holds_purged(eng: Engram, backup: Path) -> bool:
    gone = [(t["id"], t["kind"]) for t in journal.tombstones(eng.db) if t["kind"] != "memory"]
    return holds_purged(backup, eng.memories.purged_ids(), gone)


def _reports_naming(eng: Engram) -> int:
    source_ids: set[str] = set()
    for entry in journal.finished(eng.db) + journal.pending(eng.db):
        source_ids.update(entry.plan.get("source_ids") or [])
    return eng.imports.reports_naming(source_ids)


def _vectors(eng: Engram, out: PurgeAudit) -> None:
    purged = eng.memories.purged_ids()
    index = eng.index
    try:
        if n := len(index.existing_ids(purged)):
            out.vector_problems["purged ids in the vector index"] = n
    except IndexDamaged:            # its files are still read below; --repair drops it whole
        out.vector_problems["a damaged vector index that may hold purged ids"] = 1
    chroma_dir = getattr(index, "chroma_dir", None)
    if chroma_dir is None:
        out.vector_checks = "index API only (a Chroma server's own files are out of reach)"
        return
    chroma_dir = Path(chroma_dir)
    out.vector_checks = "index, Chroma's write-ahead queue, segment folders, every Chroma file"
    if n := queue_rows_for(chroma_dir, purged):
        out.vector_problems["rows of Chroma's write-ahead queue naming purged ids"] = n
    if n := len(stale_segment_dirs(chroma_dir)):
        out.vector_problems["segment folders left by dropped collections"] = n
    if n := _files_naming(chroma_dir, set(purged)):
        out.vector_problems["Chroma files holding purged ids"] = n


def _files_naming(chroma_dir: Path, ids: set[str]) -> int:
    if not ids or not chroma_dir.exists():
        return 0
    wanted = {i.encode() for i in ids}
    n = 0
    for path in chroma_dir.rglob("*"):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(m.group(0) in wanted for m in _ID.finditer(data)):
            n += 1
    return n


def repair(eng: Engram, found: PurgeAudit) -> list[str]:
    """Finish what the audit found unfinished. Returns what was done, one line each."""
    done: list[str] = []
    if found.unfinished:
        done.append(f"finished {len(finish_pending(eng))} unfinished purge(s)")
    problems = found.text_problems
    if problems.get("purged memories with text") or problems.get(
            "audit rows of purged memories with values"):
        for mid in eng.memories.purged_ids():
            eng.memories.purge_rows(mid, actor="system")
        done.append("blanked purged memories again")
    if problems.get("blanked messages with text"):
        eng.conversations.blank_messages(journal.tombstone_ids(eng.db, "message"))
        done.append("blanked purged messages again")
    gone = journal.tombstone_ids(eng.db, "conversation")
    if problems.get("purged conversations still present"):
        for cid in eng.conversations.present(gone):
            journal.remove_tombstone(eng.db, cid)
            purge_conversation(eng, cid, actor="system")
        done.append("purged conversations that had come back")
    if any(k.endswith("out of step with its table") for k in problems):
        rebuild_fts(eng.db)
        done.append("rebuilt the full-text indexes")
    if problems.get("saved KV states of purged conversations"):
        done.append(f"deleted {delete_states(eng.layout.kv_state_dir, gone)} KV state(s)")
    if problems.get("import reports naming a purged conversation"):
        _scrub_reports(eng)
        done.append("cleaned import reports")
    if found.vector_problems:
        report = eng.index.erase(eng.memories.purged_ids(), force=True)
        if report.get("dropped"):
            eng.memories.mark_unindexed()
            done.append("dropped the damaged vector index (it is embedded again)")
        else:
            done.append(f"rebuilt the vector index without purged ids ({report['kept']} kept)")
    if problems or done:
        scrub_database(eng.db)
    if found.holding_backups or problems.get("temporary backup files left") or (
            problems and list_backups(eng.layout.backups_dir)):
        result = replace_all_backups(eng.db, eng.layout.backups_dir)
        remove_leftovers(eng.layout.backups_dir)
        done.append(f"replaced the backups ({result.removed} removed)"
                    + (f"; {result.warning}" if result.warning else ""))
    return done


def _scrub_reports(eng: Engram) -> None:
    source_ids: set[str] = set()
    for entry in journal.finished(eng.db):
        source_ids.update(entry.plan.get("source_ids") or [])
    scrub_import_reports(eng, source_ids)
