"""The file steps of a purge that belong to no store: the log files, and the scrub of the
database's files (core.store.db.scrub_files) as a step that must complete.

Backups are replaced by core.store.backup, saved KV states deleted by core.runtime.kv_store,
vectors erased by the vector index (core.index.erasure).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from core.base.errors import EngramError
from core.store.db import scrub_files

log = logging.getLogger(__name__)

MIN_LOG_NEEDLE = 6          # shorter texts ("ok", "Thanks") are not looked for in logs
PURGED_MARK = b"[purged]"


class PurgeIncompleteError(EngramError):
    """The rows are purged, but a file still holds a copy; the purge journal finishes it."""


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


def scrub_database(db: sqlite_utils.Database) -> None:
    """The database's files after a purge (core.store.db.scrub_files), or PurgeIncompleteError
    when another reader kept the write-ahead log from being emptied."""
    if not scrub_files(db):
        raise PurgeIncompleteError(
            "The database's write-ahead log could not be emptied (another reader kept it "
            "open); the purge is finished at the next start or by `engram doctor --repair`.")
