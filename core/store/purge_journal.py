"""The purge journal and the tombstones: a purge is written down before anything is erased,
and what it erased is named (by id) for good.

One row per purge in `purge_journal` (migration 5), holding ids only, never text. Its stage
says how far the purge got:

- `planned`: the plan (every id to erase) is committed; nothing is erased yet;
- `database`: the rows are purged in SQLite (in the same transaction that moved the stage);
  the files (vector index, KV states, WAL, backups, logs) still have to be cleaned;
- `done`: every step finished; `finished_at` is set.

A purge that stops before `done` (a crash, a full disk, a failing index) is finished by
`core.services.purge.finish_pending` at the next start and by `engram doctor --repair`; `engram doctor`
reports it until then.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from core.base import clock
from core.store.db import transaction

log = logging.getLogger(__name__)


@dataclass
class JournalEntry:
    id: int
    kind: str                     # "memory" or "conversation"
    target_id: str
    actor: str
    requested_at: float
    stage: str
    plan: dict[str, Any] = field(default_factory=dict)
    finished_at: float | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.stage == "done"


def _entry(row: dict[str, Any]) -> JournalEntry:
    return JournalEntry(row["id"], row["kind"], row["target_id"], row["actor"],
                        row["requested_at"], row["stage"], json.loads(row["plan"] or "{}"),
                        row["finished_at"], row["error"])


def open_entry(db: sqlite_utils.Database, kind: str, target_id: str, actor: str,
               plan: dict[str, Any]) -> JournalEntry:
    """Write the plan down (its own committed transaction) before any erasing starts."""
    now = clock.now()
    with transaction(db):
        cur = db.execute(
            "INSERT INTO purge_journal (kind, target_id, actor, requested_at, stage, plan)"
            " VALUES (?, ?, ?, ?, 'planned', ?)", [kind, target_id, actor, now, json.dumps(plan)])
    return JournalEntry(int(cur.lastrowid), kind, target_id, actor, now, "planned", plan)


def set_stage(db: sqlite_utils.Database, entry: JournalEntry, stage: str) -> None:
    """Inside the caller's transaction when the stage must commit with the work it names."""
    entry.stage = stage
    finished = clock.now() if stage == "done" else None
    entry.finished_at = finished
    db.execute("UPDATE purge_journal SET stage = ?, plan = ?, finished_at = ?, error = NULL"
               " WHERE id = ?", [stage, json.dumps(entry.plan), finished, entry.id])
    entry.error = None


def record_error(db: sqlite_utils.Database, entry: JournalEntry, error: str) -> None:
    """Best effort: a full disk may refuse even this; the stage already says what is left."""
    entry.error = error[:500]
    try:
        db.execute("UPDATE purge_journal SET error = ? WHERE id = ?", [entry.error, entry.id])
    except sqlite3.Error:
        log.warning("could not record the purge's error in the journal (entry %d)", entry.id)


def pending(db: sqlite_utils.Database) -> list[JournalEntry]:
    """Purges that have not finished, oldest first."""
    return [_entry(r) for r in db.query(
        "SELECT * FROM purge_journal WHERE stage != 'done' ORDER BY id")]


def finished(db: sqlite_utils.Database) -> list[JournalEntry]:
    return [_entry(r) for r in db.query(
        "SELECT * FROM purge_journal WHERE stage = 'done' ORDER BY id")]


def get(db: sqlite_utils.Database, entry_id: int) -> JournalEntry:
    rows = list(db.query("SELECT * FROM purge_journal WHERE id = ?", [entry_id]))
    return _entry(rows[0])


def add_tombstones(db: sqlite_utils.Database, kind: str, ids: list[str], actor: str) -> None:
    now = clock.now()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.conn.executemany(
            "INSERT OR IGNORE INTO tombstones (id, kind, purged_at, actor) VALUES (?, ?, ?, ?)",
            [(i, kind, now, actor) for i in chunk])


def tombstoned(db: sqlite_utils.Database, ids: list[str]) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update(r[0] for r in db.execute(
            f"SELECT id FROM tombstones WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def tombstone_ids(db: sqlite_utils.Database, kind: str | None = None) -> list[str]:
    """Every id purged (of one kind: "conversation", "message" or "memory")."""
    if kind is None:
        return [r[0] for r in db.execute("SELECT id FROM tombstones")]
    return [r[0] for r in db.execute("SELECT id FROM tombstones WHERE kind = ?", [kind])]


def tombstones(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every tombstone (an export carries them)."""
    return [dict(r) for r in db.query("SELECT * FROM tombstones ORDER BY rowid")]


def restore_tombstones(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> None:
    """An export's tombstones (ids nothing may bring back), kept as they were."""
    valid = [(r["id"], r["kind"], r.get("purged_at") or clock.now(), r.get("actor") or "user")
             for r in rows if r.get("kind") in ("conversation", "message", "memory")]
    db.conn.executemany("INSERT OR IGNORE INTO tombstones (id, kind, purged_at, actor)"
                        " VALUES (?, ?, ?, ?)", valid)


def remove_tombstone(db: sqlite_utils.Database, target_id: str) -> None:
    """(doctor --repair) A purged conversation came back: its tombstone goes, the purge runs
    again."""
    db.execute("DELETE FROM tombstones WHERE id = ?", [target_id])
