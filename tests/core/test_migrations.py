from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.base.errors import DatabaseTooNewError, MigrationError
from core.store.db import connect, open_database
from core.store.migrations import LATEST, MIGRATIONS, applied_version, migrate

EXPECTED_TABLES = {
    "conversations", "messages", "memories", "memory_sources", "memory_events", "retrievals",
    "imports", "jobs", "schema_migrations", "memories_fts", "messages_fts",
}


def test_blank_database_gets_every_migration_recorded(tmp_path: Path) -> None:
    db = open_database(tmp_path / "engram.db")
    assert EXPECTED_TABLES <= set(db.table_names())
    rows = db.execute("SELECT id, name, applied_at FROM schema_migrations ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(n, name) for n, name, _ in MIGRATIONS]
    assert all(r[2] > 1.7e9 for r in rows)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    # no backup for a brand-new file: there was nothing to lose
    assert not (tmp_path / "backups").exists()


def test_upgrade_from_first_schema_keeps_data_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "engram.db"
    conn = connect(path)
    migrate(conn, upto=1)
    assert applied_version(conn) == 1
    conn.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c1', 't', 1, 1)")
    conn.execute("INSERT INTO memories (id, kind, text, created_at, updated_at)"
                 " VALUES ('m1', 'fact', 'the owl sleeps at noon', 1, 1)")
    conn.close()

    db = open_database(path)
    assert applied_version(db.conn) == LATEST
    backups = list((tmp_path / "backups").glob("engram-schema1-*.db"))
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    assert old.execute("SELECT max(id) FROM schema_migrations").fetchone()[0] == 1
    assert old.execute("SELECT text FROM memories").fetchone()[0] == "the owl sleeps at noon"
    # migration 2 indexed the existing row for full-text search
    hits = db.execute("SELECT rowid FROM memories_fts WHERE memories_fts MATCH 'owl'").fetchall()
    assert len(hits) == 1


def test_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "engram.db"
    open_database(path).conn.execute(
        "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, 'future', 0)", [LATEST + 1])
    with pytest.raises(DatabaseTooNewError, match="newer version of Engram"):
        open_database(path)


def test_failed_migration_rolls_back_completely(tmp_path: Path, monkeypatch) -> None:
    import core.store.migrations as m

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(m, "MIGRATIONS", [*m.MIGRATIONS, (LATEST + 1, "broken", broken)])
    monkeypatch.setattr(m, "LATEST", LATEST + 1)
    conn = connect(tmp_path / "engram.db")
    with pytest.raises(MigrationError, match="broken failed: boom"):
        m.migrate(conn)
    assert applied_version(conn) == LATEST
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in names
