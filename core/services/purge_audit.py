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
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from core.index.erasure import queue_rows_for, stale_segment_dirs
from core.services.engine import Engram
from core.services.purge import finish_pending, purge_conversation, scrub_import_reports
from core.services.purge_files import delete_kv_states, kv_state_files, scrub_database_files
from core.store import purge_journal as journal
from core.store.backup import leftovers, list_backups, remove_leftovers, replace_all_backups

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


def purged_memory_ids(eng: Engram) -> list[str]:
    return [r[0] for r in eng.db.execute("SELECT id FROM memories WHERE status = 'purged'")]


def _count(eng: Engram, sql: str) -> int:
    return int(eng.db.execute(sql).fetchone()[0])


def _text(eng: Engram, out: PurgeAudit) -> None:
    checks = {
        "purged memories with text":
            "SELECT count(*) FROM memories WHERE status = 'purged'"
            " AND (text != '' OR subject IS NOT NULL OR meta != '{}')",
        "audit rows of purged memories with values":
            "SELECT count(*) FROM memory_events e JOIN memories m ON m.id = e.memory_id"
            " WHERE m.status = 'purged' AND (e.old_value IS NOT NULL OR e.new_value IS NOT NULL"
            " OR e.note IS NOT NULL)",
        "blanked messages with text":
            "SELECT count(*) FROM messages WHERE text != '' AND id IN"
            " (SELECT id FROM tombstones WHERE kind = 'message')",
        "purged conversations still present":
            "SELECT count(*) FROM conversations WHERE id IN"
            " (SELECT id FROM tombstones WHERE kind = 'conversation')",
    }
    for name, sql in checks.items():
        if n := _count(eng, sql):
            out.text_problems[name] = n
    for table in ("memories_fts", "messages_fts"):
        try:
            eng.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError:
            out.text_problems[f"{table} out of step with its table"] = 1
    for backup in list_backups(eng.layout.backups_dir):
        out.backups_checked += 1
        if _backup_holds_purged(eng, backup):
            out.holding_backups.append(backup)
    if out.holding_backups:
        out.text_problems["backups holding purged rows"] = len(out.holding_backups)
    if n := len(leftovers(eng.layout.backups_dir)):
        out.text_problems["temporary backup files left"] = n
    gone = [r[0] for r in eng.db.execute("SELECT id FROM tombstones WHERE kind = 'conversation'")]
    if n := sum(len(kv_state_files(eng.layout.kv_state_dir, c)) for c in gone):
        out.text_problems["saved KV states of purged conversations"] = n
    if n := _reports_naming(eng):
        out.text_problems["import reports naming a purged conversation"] = n


def _backup_holds_purged(eng: Engram, backup: Path) -> bool:
    """Opened read-only and immutable (nothing is written beside it); the ids to look for go
    into temporary tables of that connection."""
    purged = [(i,) for i in purged_memory_ids(eng)]
    tomb = list(eng.db.execute("SELECT id, kind FROM tombstones WHERE kind != 'memory'"))
    if not purged and not tomb:
        return False
    try:
        conn = sqlite3.connect(f"file:{backup}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return False
    try:
        conn.execute("CREATE TEMP TABLE purged_ids (id TEXT PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE gone (id TEXT PRIMARY KEY, kind TEXT)")
        conn.executemany("INSERT OR IGNORE INTO purged_ids VALUES (?)", purged)
        conn.executemany("INSERT OR IGNORE INTO gone VALUES (?, ?)", tomb)
        held = conn.execute(
            "SELECT (SELECT count(*) FROM memories WHERE text != ''"
            "        AND id IN (SELECT id FROM purged_ids))"
            " + (SELECT count(*) FROM conversations WHERE id IN"
            "        (SELECT id FROM gone WHERE kind = 'conversation'))"
            " + (SELECT count(*) FROM messages WHERE text != '' AND (id IN"
            "        (SELECT id FROM gone WHERE kind = 'message') OR conversation_id IN"
            "        (SELECT id FROM gone WHERE kind = 'conversation')))").fetchone()[0]
    except sqlite3.Error:
        held = 1          # unreadable: it cannot be shown clean, so it is replaced
    finally:
        conn.close()
    return bool(held)


def _reports_naming(eng: Engram) -> int:
    source_ids: set[str] = set()
    for entry in journal.finished(eng.db) + journal.pending(eng.db):
        source_ids.update(entry.plan.get("source_ids") or [])
    if not source_ids:
        return 0
    return sum(1 for (raw,) in eng.db.execute("SELECT report FROM imports")
               if any(s in (raw or "") for s in source_ids))


def _vectors(eng: Engram, out: PurgeAudit) -> None:
    purged = purged_memory_ids(eng)
    index = eng.index
    if n := len(index.existing_ids(purged)):
        out.vector_problems["purged ids in the vector index"] = n
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
        for mid in purged_memory_ids(eng):
            eng.memories.purge_rows(mid, actor="system")
        done.append("blanked purged memories again")
    if problems.get("blanked messages with text"):
        eng.db.execute("UPDATE messages SET text = '', meta = json_object('purged', 1) WHERE id"
                       " IN (SELECT id FROM tombstones WHERE kind = 'message')")
        done.append("blanked purged messages again")
    if problems.get("purged conversations still present"):
        for (cid,) in list(eng.db.execute(
                "SELECT id FROM conversations WHERE id IN"
                " (SELECT id FROM tombstones WHERE kind = 'conversation')")):
            eng.db.execute("DELETE FROM tombstones WHERE id = ?", [cid])
            purge_conversation(eng, cid, actor="system")
        done.append("purged conversations that had come back")
    if any(k.endswith("out of step with its table") for k in problems):
        for table in ("memories_fts", "messages_fts"):
            eng.db.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
        done.append("rebuilt the full-text indexes")
    if problems.get("saved KV states of purged conversations"):
        gone = [r[0] for r in eng.db.execute(
            "SELECT id FROM tombstones WHERE kind = 'conversation'")]
        done.append(f"deleted {delete_kv_states(eng.layout.kv_state_dir, gone)} KV state(s)")
    if problems.get("import reports naming a purged conversation"):
        _scrub_reports(eng)
        done.append("cleaned import reports")
    if found.vector_problems:
        report = eng.index.erase(purged_memory_ids(eng), force=True)
        done.append(f"rebuilt the vector index without purged ids ({report['kept']} kept)")
    if problems or done:
        scrub_database_files(eng.db)
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
