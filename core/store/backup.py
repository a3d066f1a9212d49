"""Rotating automatic backups of the database (SQLite's online backup API: consistent while
the app runs, WAL included).

Backups live in `<data>/backups/`, owner-only. Purging rewrites them (see core.services.purge), because
a backup that still held purged text would defeat the purge. A copy is written to a
temporary name first (`X.db.tmp`, with SQLite's `X.db.tmp-journal` beside it while it is
written) and renamed when complete; what a killed or failed copy leaves is removed.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from core.base.private_files import PRIVATE_DIR, create_private_file

log = logging.getLogger(__name__)

PREFIX = "engram-auto-"
LEFTOVER_PATTERNS = ("*.tmp", "*.tmp-journal", "*.tmp-wal", "*.tmp-shm", "*.db-journal")


def backup_copy(conn: sqlite3.Connection, dest: Path) -> None:
    """A consistent, owner-only copy of a live database. On any failure (a full disk) the
    partial copy is removed and the error raised."""
    dest.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    _remove_copy(tmp)
    create_private_file(tmp)
    try:
        target = sqlite3.connect(str(tmp))
        try:
            conn.backup(target)
        finally:
            target.close()
        tmp.replace(dest)
    except BaseException:
        _remove_copy(tmp)
        raise


def backup_now(db: sqlite_utils.Database, backups_dir: Path, *, keep: int = 7) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = backups_dir / f"{PREFIX}{stamp}.db"
    n = 1
    while dest.exists():
        dest = backups_dir / f"{PREFIX}{stamp}-{n}.db"
        n += 1
    backup_copy(db.conn, dest)
    rotate(backups_dir, keep)
    return dest


def list_backups(backups_dir: Path) -> list[Path]:
    """Every backup file, oldest first (automatic ones and those made before migrations)."""
    if not backups_dir.exists():
        return []
    return sorted((p for p in backups_dir.glob("*.db") if p.is_file()),
                  key=lambda p: p.stat().st_mtime)


def leftovers(backups_dir: Path) -> list[Path]:
    """Temporary files a killed or failed backup left behind (they may hold old text)."""
    if not backups_dir.exists():
        return []
    return sorted({p for pattern in LEFTOVER_PATTERNS for p in backups_dir.glob(pattern)
                   if p.is_file()})


def remove_leftovers(backups_dir: Path) -> int:
    found = leftovers(backups_dir)
    for p in found:
        p.unlink(missing_ok=True)
    return len(found)


def rotate(backups_dir: Path, keep: int) -> list[Path]:
    autos = [p for p in list_backups(backups_dir) if p.name.startswith(PREFIX)]
    removed = autos[:-keep] if keep > 0 else autos
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def maybe_backup(db: sqlite_utils.Database, backups_dir: Path, *, every_hours: float = 24,
                 keep: int = 7) -> Path | None:
    """Back up when the newest automatic backup is older than `every_hours` (app start-up)."""
    autos = [p for p in list_backups(backups_dir) if p.name.startswith(PREFIX)]
    if autos and time.time() - autos[-1].stat().st_mtime < every_hours * 3600:
        return None
    return backup_now(db, backups_dir, keep=keep)


@dataclass
class BackupReplacement:
    removed: int = 0                  # old backups (and leftovers) deleted
    fresh: Path | None = None         # the new backup of the purged database
    warning: str | None = None        # set when no fresh backup could be written


def replace_all_backups(db: sqlite_utils.Database, backups_dir: Path) -> BackupReplacement:
    """After a purge: delete every backup (they may hold the purged text) and keep one fresh
    backup of the database as it is now. With no backups before, none is made. If the fresh
    copy cannot be written (a full disk), the old ones are deleted all the same, since
    keeping them would keep the text, and the result says so."""
    result = BackupReplacement(removed=remove_leftovers(backups_dir))
    old = list_backups(backups_dir)
    if not old:
        return result
    try:
        result.fresh = backup_now(db, backups_dir, keep=len(old) + 1)
    except (OSError, sqlite3.Error) as exc:
        log.warning("purge: no fresh backup could be written: %s", exc)
        result.warning = (f"{len(old)} old backup(s) held the purged text and were deleted; "
                          f"no fresh backup could be written ({exc}): run `engram backup` "
                          "once there is room")
    for p in old:
        if p != result.fresh:
            p.unlink(missing_ok=True)
            result.removed += 1
    result.removed += remove_leftovers(backups_dir)
    return result


def _remove_copy(tmp: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)


def holds_purged(backup: Path, purged_memories: list[str],
                 gone: list[tuple[str, str]]) -> bool:
    """Whether a backup file still holds a purged memory's text, a purged conversation or a
    blanked message's text (`gone`: (id, kind) tombstones of conversations and messages).
    Opened read-only and immutable (nothing is written beside it); the ids go into temporary
    tables of that connection. An unreadable file cannot be shown clean: True."""
    if not purged_memories and not gone:
        return False
    try:
        conn = sqlite3.connect(f"file:{backup}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return False
    try:
        conn.execute("CREATE TEMP TABLE purged_ids (id TEXT PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE gone (id TEXT PRIMARY KEY, kind TEXT)")
        conn.executemany("INSERT OR IGNORE INTO purged_ids VALUES (?)",
                         [(i,) for i in purged_memories])
        conn.executemany("INSERT OR IGNORE INTO gone VALUES (?, ?)", gone)
        held = conn.execute(
            "SELECT (SELECT count(*) FROM memories WHERE text != ''"
            "        AND id IN (SELECT id FROM purged_ids))"
            " + (SELECT count(*) FROM conversations WHERE id IN"
            "        (SELECT id FROM gone WHERE kind = 'conversation'))"
            " + (SELECT count(*) FROM messages WHERE text != '' AND (id IN"
            "        (SELECT id FROM gone WHERE kind = 'message') OR conversation_id IN"
            "        (SELECT id FROM gone WHERE kind = 'conversation')))").fetchone()[0]
    except sqlite3.Error:
        held = 1
    finally:
        conn.close()
    return bool(held)
