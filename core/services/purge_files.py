"""The file steps of a purge, after the rows are purged in SQLite: the database's own files
(full-text index segments, the WAL), saved KV states and log files.

Backups are replaced by core.store.backup; vectors are erased by the vector index
(core.index.erasure).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from core.base.errors import EngramError

log = logging.getLogger(__name__)

MIN_LOG_NEEDLE = 6          # shorter texts ("ok", "Thanks") are not looked for in logs
PURGED_MARK = b"[purged]"


class PurgeIncompleteError(EngramError):
    """The rows are purged, but a file still holds a copy; the purge journal finishes it."""


def scrub_database_files(db: sqlite_utils.Database, *, wait_seconds: float = 15.0) -> None:
    """Rewrite the FTS indexes (dropping the segments that still list deleted text), then
    copy the WAL into the main file and truncate it. secure_delete (core.store.db) has zeroed the
    freed pages. A checkpoint that another connection's open read blocks is retried; if it
    never completes, the WAL may still hold old pages and the purge is not done."""
    for table in ("memories_fts", "messages_fts"):
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    deadline = time.monotonic() + wait_seconds
    while True:
        busy, _log_frames, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        if time.monotonic() > deadline:
            raise PurgeIncompleteError(
                "The database's write-ahead log could not be emptied (another reader kept it "
                "open); the purge is finished at the next start or by `engram doctor --repair`.")
        time.sleep(0.2)


def kv_state_files(kv_state_dir: Path, conversation_id: str) -> list[Path]:
    """Saved KV states are named `<conversation_id>.*` (see core.runtime's state store)."""
    if not kv_state_dir.exists():
        return []
    return sorted(kv_state_dir.glob(f"{conversation_id}.*"))


def delete_kv_states(kv_state_dir: Path, conversation_ids: Iterable[str]) -> int:
    n = 0
    for cid in conversation_ids:
        for path in kv_state_files(kv_state_dir, cid):
            path.unlink(missing_ok=True)
            n += 1
    return n


def scrub_logs(logs_dir: Path, texts: Iterable[str]) -> int:
    """Replace every occurrence of the texts in the log files (current and rotated) by
    "[purged]". Logs are not meant to hold text at all (ids and counts only); this covers
    what slipped in anyway, e.g. a debug line. The file is rewritten in place, so a handler
    that has it open keeps appending to it. Returns how many files changed."""
    needles = sorted({t.encode("utf-8") for t in texts if len(t) >= MIN_LOG_NEEDLE},
                     key=len, reverse=True)
    if not needles or not logs_dir.exists():
        return 0
    changed = 0
    for path in sorted(logs_dir.glob("*.log*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        scrubbed = data
        for needle in needles:
            if needle in scrubbed:
                scrubbed = scrubbed.replace(needle, PURGED_MARK)
        if scrubbed != data:
            with path.open("r+b") as f:
                f.write(scrubbed)
                f.truncate()
            changed += 1
    if changed:
        log.info("purge: cleaned %d log file(s)", changed)
    return changed
