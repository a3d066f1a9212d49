"""Numbered, named schema migrations.

Each migration runs in its own transaction and is recorded in `schema_migrations` with the
time it was applied. A database whose newest migration is unknown to this code is refused,
and the file is copied aside (an online backup) before any pending migration runs.

Add a migration by appending a function to MIGRATIONS; never edit one that has shipped.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from core.base.errors import DatabaseTooNewError, MigrationError
from core.store.backup import backup_copy

Migration = Callable[[sqlite3.Connection], None]


def m0001_initial(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE imports (
            id TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            file_hash TEXT NOT NULL,
            format TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
            started_at REAL NOT NULL,
            finished_at REAL,
            counts TEXT NOT NULL DEFAULT '{}',   -- JSON: conversations, messages, branches, skipped
            report TEXT NOT NULL DEFAULT '{}'    -- JSON: skipped items with reasons, errors
        );
        CREATE INDEX imports_hash ON imports(file_hash);

        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            incognito INTEGER NOT NULL DEFAULT 0,  -- reads no memory, writes no memory
            source TEXT NOT NULL DEFAULT 'engram', -- engram, chatgpt, claude, openwebui, ...
            source_id TEXT,                        -- the id in the original archive
            import_id TEXT REFERENCES imports(id) ON DELETE SET NULL,
            current_message_id TEXT,               -- leaf of the visible branch
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE UNIQUE INDEX conversations_source ON conversations(source, source_id)
            WHERE source_id IS NOT NULL;
        CREATE INDEX conversations_updated ON conversations(updated_at);

        -- Messages form a tree: edits and regenerations are siblings under one parent.
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
            branch INTEGER NOT NULL DEFAULT 0,     -- index among siblings, 0 = first
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            text TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            model TEXT,
            hidden INTEGER NOT NULL DEFAULT 0,     -- kept for fidelity, never put into memory
            source_id TEXT,
            import_id TEXT REFERENCES imports(id) ON DELETE SET NULL,
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX messages_conversation ON messages(conversation_id, created_at);
        CREATE INDEX messages_parent ON messages(parent_id);
        CREATE UNIQUE INDEX messages_source ON messages(conversation_id, source_id)
            WHERE source_id IS NOT NULL;

        CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL
                CHECK (kind IN ('episodic', 'summary', 'compact', 'thought', 'portrait', 'fact')),
            text TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT 'global' CHECK (scope IN ('global', 'conversation')),
            conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'forgotten', 'superseded', 'purged')),
            pinned INTEGER NOT NULL DEFAULT 0,
            strength REAL NOT NULL DEFAULT 1.0,    -- MemoryBank S
            last_recalled_at REAL,                 -- MemoryBank: t is measured from here
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            occurred_at REAL,                      -- when the remembered thing happened
            version INTEGER NOT NULL DEFAULT 1,
            indexed_version INTEGER,               -- version last written to the vector index
            superseded_by TEXT REFERENCES memories(id) ON DELETE SET NULL,
            subject TEXT,                          -- TiM: what a thought is about
            granularity TEXT,                      -- episodic: turn, window, session, ...
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX memories_status_kind ON memories(status, kind);
        CREATE INDEX memories_conversation ON memories(conversation_id);
        CREATE INDEX memories_updated ON memories(updated_at);

        CREATE TABLE memory_sources (
            id INTEGER PRIMARY KEY,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            message_id TEXT REFERENCES messages(id) ON DELETE SET NULL,
            conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
            import_id TEXT REFERENCES imports(id) ON DELETE SET NULL,
            source_ref TEXT,                       -- an original id, e.g. an archive message id
            created_at REAL NOT NULL
        );
        CREATE INDEX memory_sources_memory ON memory_sources(memory_id);
        CREATE INDEX memory_sources_message ON memory_sources(message_id);
        CREATE INDEX memory_sources_conversation ON memory_sources(conversation_id);

        -- The audit log. A purged memory keeps only tombstones here: old/new values are
        -- blanked when it is purged.
        CREATE TABLE memory_events (
            id INTEGER PRIMARY KEY,
            memory_id TEXT NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('created', 'edited', 'recalled', 'forgotten',
                'restored', 'merged', 'superseded', 'pinned', 'unpinned', 'rescoped', 'purged')),
            actor TEXT NOT NULL CHECK (actor IN ('user', 'assistant', 'import', 'policy', 'system')),
            at REAL NOT NULL,
            old_value TEXT,                        -- JSON of the changed fields before
            new_value TEXT,                        -- JSON of the changed fields after
            note TEXT
        );
        CREATE INDEX memory_events_memory ON memory_events(memory_id, at);

        -- Which memories, with which scores and why, went into which assistant message.
        CREATE TABLE retrievals (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            score REAL NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}'      -- JSON: dense/lexical/retention components
        );
        CREATE INDEX retrievals_message ON retrievals(message_id);
        CREATE INDEX retrievals_memory ON retrievals(memory_id);

        -- Durable background work (summaries, thoughts, embeddings) that survives restarts.
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            needs_model INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            error TEXT
        );
        CREATE INDEX jobs_status ON jobs(status, created_at);
        """
    )


def _fts_for(table: str) -> str:
    """An external-content FTS5 index over `table.text`, kept in step by triggers."""
    fts = f"{table}_fts"
    return f"""
        CREATE VIRTUAL TABLE {fts} USING fts5(
            text, content='{table}', content_rowid='rowid', tokenize='porter unicode61');
        CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN
            INSERT INTO {fts}(rowid, text) VALUES (new.rowid, new.text);
        END;
        CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, text) VALUES ('delete', old.rowid, old.text);
        END;
        CREATE TRIGGER {fts}_au AFTER UPDATE OF text ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, text) VALUES ('delete', old.rowid, old.text);
            INSERT INTO {fts}(rowid, text) VALUES (new.rowid, new.text);
        END;
        INSERT INTO {fts}({fts}) VALUES ('rebuild');
        """


def m0002_full_text_search(conn: sqlite3.Connection) -> None:
    """FTS5 indexes (BM25) over memory and message text."""
    conn.executescript(_fts_for("memories") + _fts_for("messages"))


def m0003_inspector_indexes(conn: sqlite3.Connection) -> None:
    """The inspector pages memories by status (and kind) newest first, and every retrieval
    looks up the pinned memories: with 100k memories these took about 400 ms and 45 ms
    without the indexes, about 1 ms and 0.3 ms with them."""
    conn.executescript(
        """
        CREATE INDEX memories_status_updated ON memories(status, updated_at);
        CREATE INDEX memories_kind_status_updated ON memories(kind, status, updated_at);
        CREATE INDEX memories_pinned_status_updated ON memories(pinned, status, updated_at);
        """
    )


def m0004_job_dedupe_index(conn: sqlite3.Connection) -> None:
    """Enqueueing a job first looks for an identical queued one; without an index that read
    every queued job, so an import (one summary job per conversation) grew with the square
    of its size: 22,000 conversations spent about 40 s there, 0.1 s with the index."""
    conn.executescript("CREATE INDEX jobs_kind_payload ON jobs(kind, payload);")


def m0005_purge_journal(conn: sqlite3.Connection) -> None:
    """Purge as a journalled operation (core.services.purge): what must be erased is written here
    before anything is erased, so an interrupted purge is finished at the next start. Only
    ids, never text. Tombstones name what was purged, so a restore or a re-import does not
    bring it back."""
    conn.executescript(
        """
        CREATE TABLE purge_journal (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('memory', 'conversation')),
            target_id TEXT NOT NULL,
            actor TEXT NOT NULL,
            requested_at REAL NOT NULL,
            stage TEXT NOT NULL DEFAULT 'planned'
                CHECK (stage IN ('planned', 'database', 'done')),
            plan TEXT NOT NULL DEFAULT '{}',     -- JSON: the ids to erase and what was done
            finished_at REAL,
            error TEXT
        );
        CREATE INDEX purge_journal_stage ON purge_journal(stage);
        CREATE TABLE tombstones (
            id TEXT PRIMARY KEY,                 -- a conversation, message or memory id
            kind TEXT NOT NULL CHECK (kind IN ('conversation', 'message', 'memory')),
            purged_at REAL NOT NULL,
            actor TEXT NOT NULL
        );
        """
    )


def m0006_memory_operations(conn: sqlite3.Connection) -> None:
    """The operation an audit row was part of (core.store.memories.MemoryStore.operation):
    what one action of a person changed, and what `undo` takes back."""
    conn.executescript(
        """
        ALTER TABLE memory_events ADD COLUMN op TEXT;
        CREATE INDEX memory_events_op ON memory_events(op) WHERE op IS NOT NULL;
        """
    )


def m0007_memory_steering(conn: sqlite3.Connection) -> None:
    """What a person steers memory with (issue 15): `always_include` (sent with every
    message, apart from `pinned`, which only keeps a memory from fading); feedback on a
    memory used in an answer (ids only, never text, so a purge has nothing to find here
    but rows to drop); projects, each a memory scope of its own (a memory with a
    `project_id` is read only in that project's conversations)."""
    conn.executescript(
        """
        ALTER TABLE memories ADD COLUMN always_include INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE memories ADD COLUMN project_id TEXT;
        CREATE INDEX memories_always_include ON memories(always_include, status)
            WHERE always_include = 1;
        CREATE TABLE memory_feedback (
            id INTEGER PRIMARY KEY,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            message_id TEXT REFERENCES messages(id) ON DELETE CASCADE,  -- the answer
            verdict TEXT NOT NULL CHECK (verdict IN ('not_relevant', 'wrong')),
            at REAL NOT NULL
        );
        CREATE INDEX memory_feedback_memory ON memory_feedback(memory_id);
        CREATE TABLE projects (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'engram',
            source_id TEXT,
            description TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX projects_source ON projects(source, source_id)
            WHERE source_id IS NOT NULL;
        ALTER TABLE conversations ADD COLUMN project_id TEXT REFERENCES projects(id)
            ON DELETE SET NULL;
        """
    )


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial", m0001_initial),
    (2, "full_text_search", m0002_full_text_search),
    (3, "inspector_indexes", m0003_inspector_indexes),
    (4, "job_dedupe_index", m0004_job_dedupe_index),
    (5, "purge_journal", m0005_purge_journal),
    (6, "memory_operations", m0006_memory_operations),
    (7, "memory_steering", m0007_memory_steering),
]
LATEST = MIGRATIONS[-1][0]


def applied_version(conn: sqlite3.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    row = conn.execute("SELECT max(id) FROM schema_migrations").fetchone()
    return row[0] or 0


def migrate(
    conn: sqlite3.Connection,
    *,
    db_path: Path | None = None,
    backup_dir: Path | None = None,
    upto: int | None = None,
) -> list[str]:
    """Bring the schema up to date (or up to `upto`, for tests). Returns names applied."""
    current = applied_version(conn)
    if current > LATEST:
        raise DatabaseTooNewError(
            f"This database was written by a newer version of Engram (schema {current}; this "
            f"version knows up to {LATEST}). Update Engram, or open another data folder."
        )
    target = LATEST if upto is None else upto
    pending = [m for m in MIGRATIONS if current < m[0] <= target]
    if not pending:
        return []
    has_data = current > 0
    if has_data and db_path is not None and backup_dir is not None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup_copy(conn, backup_dir / f"{db_path.stem}-schema{current}-{stamp}.db")
    applied = []
    for number, name, fn in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript() commits first; run the statements inside our transaction instead.
            fn(_TransactionalScript(conn))
            conn.execute(
                "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
                (number, name, time.time()),
            )
            conn.execute("COMMIT")
        except Exception as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(f"Migration {number:04d} {name} failed: {exc}") from exc
        applied.append(f"{number:04d}_{name}")
    return applied


class _TransactionalScript:
    """Lets a migration call `executescript` without the implicit COMMIT sqlite3 adds."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def executescript(self, script: str) -> None:
        for statement in _split_statements(script):
            self._conn.execute(statement)

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)


def _split_statements(script: str) -> list[str]:
    """Split SQL into complete statements (handles trigger bodies with inner semicolons)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
