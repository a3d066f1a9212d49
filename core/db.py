"""Opening the SQLite database: the source of truth for everything Engram knows.

The connection is configured once here (WAL, foreign keys, secure_delete, a busy timeout)
and migrated to the code's schema before anyone uses it.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from core.migrations import migrate

DB_FILENAME = "engram.db"


def connect(path: Path | str) -> sqlite3.Connection:
    """A configured raw connection (no migration). Used by `open_database` and by tests."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Freed pages are overwritten with zeros, so purged text does not linger in the file.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def open_database(path: Path | str, *, backup_dir: Path | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database at `path`.

    Raises DatabaseTooNewError if the file was written by a newer Engram.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    migrate(conn, db_path=path, backup_dir=backup_dir or path.parent / "backups")
    return sqlite_utils.Database(conn)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """An immediate (write-locking) transaction; nested use joins the outer one.

    Everything written inside commits together or not at all: a memory change and its
    audit event, a whole imported conversation.
    """
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Plain INSERT of dict rows (all with the same keys), without sqlite-utils' per-call
    table introspection: this is the hot path of imports and chat turns."""
    if not rows:
        return
    cols = list(rows[0])
    sql = (f"INSERT INTO {table} ({', '.join(cols)}) "
           f"VALUES ({', '.join('?' * len(cols))})")
    db.conn.executemany(sql, [tuple(r[c] for c in cols) for r in rows])
