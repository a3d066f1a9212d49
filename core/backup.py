"""Rotating automatic backups of the database (SQLite's online backup API: consistent while
the app runs, WAL included).

Backups live in `<data>/backups/`. Purging rewrites them (see core.purge), because a backup
that still held purged text would defeat the purge.
"""
from __future__ import annotations

import time
from pathlib import Path

import sqlite_utils

from core.migrations import backup_copy

PREFIX = "engram-auto-"


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


def replace_all_backups(db: sqlite_utils.Database, backups_dir: Path) -> Path | None:
    """After a purge: delete every backup (they may hold the purged text) and keep one fresh
    backup of the database as it is now. Returns the new backup, or None if there were none."""
    old = list_backups(backups_dir)
    if not old:
        return None
    fresh = backup_now(db, backups_dir, keep=len(old) + 1)
    for p in old:
        p.unlink(missing_ok=True)
    for leftover in backups_dir.glob("*.tmp"):
        leftover.unlink(missing_ok=True)
    return fresh
