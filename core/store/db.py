"""Opening the SQLite database: the source of truth for everything Engram knows.

The connection is configured once here (WAL, foreign keys, secure_delete, a busy timeout)
and migrated to the code's schema before anyone uses it.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from core.base.private_files import create_private_file
from core.store.migrations import migrate

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
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    create_private_file(path)   # owner-only; SQLite gives its -wal and -shm the same mode
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


@contextmanager
def bulk_writes(db: sqlite_utils.Database, *, checkpoint_pages: int = 16384,
                cache_kib: int = 65536) -> Iterator[None]:
    """For many write transactions in a row (an import), two settings of this connection
    change until the block ends:

    - the WAL is copied back into the database every `checkpoint_pages` pages (64 MB) instead
      of SQLite's default 1,000: each checkpoint waits for the disk twice, and with one small
      transaction per conversation that was about a third of an import's time here;
    - the page cache holds `cache_kib` (64 MB) instead of 2 MB: ids are random, so each
      transaction touches index pages all over the file; with a small cache they were read
      again and again, and spilled to the WAL before the commit rewrote them (a 64 MB export:
      55 s to 39 s).

    Durability is unchanged: commits go to the WAL as before. Afterwards the settings are put
    back and the WAL is checkpointed once, without waiting for readers.
    """
    conn = db.conn
    checkpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
    conn.execute(f"PRAGMA cache_size={-int(cache_kib)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint)}")
        conn.execute(f"PRAGMA cache_size={int(cache)}")
        if not conn.in_transaction:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Plain INSERT of dict rows (all with the same keys), without sqlite-utils' per-call
    table introspection: this is the hot path of imports and chat turns."""
    if not rows:
        return
    cols = list(rows[0])
    insert_values(db, f"INSERT INTO {table}", cols, [tuple(r[c] for c in cols) for r in rows])


def insert_values(db: sqlite_utils.Database, insert: str, columns: Sequence[str],
                  rows: Sequence[Sequence[Any]]) -> None:
    """Run `insert` ("INSERT INTO t" or "INSERT OR IGNORE INTO t") for tuple rows, many rows
    per statement (`VALUES (...), (...)`), in order: the rows and their rowids are exactly
    those of one statement per row.

    Why not executemany: SQLite's FTS5 (3.40 here) writes its pending terms to disk at every
    statement savepoint, and a table whose full-text index a trigger keeps (messages,
    memories) opens one per statement, so one row per statement made a tiny FTS segment per
    row to merge later: about 2.5 times the cost of the same rows 50 at a time. A statement
    stops at `_ROWS_PER_STATEMENT` rows or `_CHARS_PER_STATEMENT` characters of text (SQLite
    copies every bound value: a few huge messages must not be copied all at once).
    """
    if not rows:
        return
    limit = max(1, min(_ROWS_PER_STATEMENT, _variable_limit(db.conn) // len(columns)))
    head = f"{insert} ({', '.join(columns)}) VALUES "
    one = f"({', '.join('?' * len(columns))})"
    statements: dict[int, str] = {}
    values: list[Any] = []
    count = chars = 0
    for row in rows:
        values.extend(row)
        count += 1
        chars += sum(len(v) for v in row if isinstance(v, str))
        if count == limit or chars >= _CHARS_PER_STATEMENT:
            _run_values(db, statements, head, one, count, values)
            values, count, chars = [], 0, 0
    if count:
        _run_values(db, statements, head, one, count, values)


_ROWS_PER_STATEMENT = 200
_CHARS_PER_STATEMENT = 1 << 20


def _run_values(db: sqlite_utils.Database, statements: dict[int, str], head: str, one: str,
                count: int, values: list[Any]) -> None:
    sql = statements.get(count)
    if sql is None:
        sql = statements[count] = head + ", ".join([one] * count)
    db.conn.execute(sql, values)


def _variable_limit(conn: sqlite3.Connection) -> int:
    """How many `?` one statement may hold (999 in SQLite before 3.32, 32766 since)."""
    return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def chunks(ids: Sequence[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """`ids` in pieces a statement can bind, each with its `?, ?, ...` placeholders."""
    ids = list(ids)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


# -- the whole file: checks, erasure, export -------------------------------------------------
FTS_TABLES = ("memories_fts", "messages_fts")


def integrity_check(db: sqlite_utils.Database) -> str:
    """SQLite's own check of the file: "ok", or what is wrong."""
    return db.execute("PRAGMA integrity_check").fetchone()[0]


def fts_out_of_step(db: sqlite_utils.Database) -> list[str]:
    """The full-text indexes that disagree with their tables (e.g. an entry for deleted text)."""
    out = []
    for table in FTS_TABLES:
        try:
            db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError:
            out.append(table)
    return out


def rebuild_fts(db: sqlite_utils.Database) -> None:
    for table in FTS_TABLES:
        db.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")


def checkpoint(db: sqlite_utils.Database) -> bool:
    """Copy the WAL into the main file and truncate it; False when a reader kept it busy."""
    busy, _frames, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


def scrub_files(db: sqlite_utils.Database, *, wait_seconds: float = 15.0) -> bool:
    """After rows were erased: rewrite the full-text indexes (dropping the segments that still
    list deleted text), then checkpoint and truncate the WAL (secure_delete has zeroed the
    freed pages). A checkpoint that another connection's open read blocks is retried for
    `wait_seconds`; returns False if it never completes (the WAL may still hold old pages)."""
    for table in FTS_TABLES:
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    deadline = time.monotonic() + wait_seconds
    while not checkpoint(db):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def export_rows(db: sqlite_utils.Database, table: str, *, columns: str = "*",
                where: str = "", order: str = "rowid") -> Iterator[dict[str, Any]]:
    """Every row of one table, for an export (its store names the table)."""
    sql = f"SELECT {columns} FROM {table}" + (f" WHERE {where}" if where else "")
    yield from db.query(f"{sql} ORDER BY {order}")


def table_columns(db: sqlite_utils.Database, table: str) -> set[str]:
    return {c.name for c in db[table].columns}


def insert_missing(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose id is not there yet (a restore); returns how many were added."""
    if not rows:
        return 0
    before = db[table].count
    db[table].insert_all(rows, pk="id", ignore=True)
    return db[table].count - before


def defer_foreign_keys(db: sqlite_utils.Database) -> None:
    """Check foreign keys at commit (a restore inserts rows before the rows they name)."""
    db.execute("PRAGMA defer_foreign_keys = ON")
