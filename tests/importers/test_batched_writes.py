"""The import's fast paths (memories in one batch per conversation, many rows per INSERT,
bulk-write connection settings, the indexed job lookup) write exactly what the plain path
writes: one statement per row and one `MemoryStore.create()` per memory."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import core.store.db as db_module
from core.base import clock
from core.importers import run_import
from core.memory import episodic
from core.services.engine import Engram
from core.store import conversations as conversation_store
from core.store import imports as import_store
from core.store import memories as memory_store
from core.store.memories import MemoryStore
from tests.memory.reference_writes import one_create_per_item

from .conftest import FIXTURES

SAMPLES = ("chatgpt_conversations.json", "claude_conversations.json", "openwebui_export.json",
           "sillytavern_chat.jsonl", "transcript.md")
TABLES = {
    "conversations": "SELECT rowid, * FROM conversations ORDER BY rowid",
    "messages": "SELECT rowid, * FROM messages ORDER BY rowid",
    "memories": "SELECT rowid, * FROM memories ORDER BY rowid",
    "memory_sources": "SELECT * FROM memory_sources ORDER BY id",
    "memory_events": "SELECT * FROM memory_events ORDER BY id",
    "jobs": "SELECT * FROM jobs ORDER BY id",
    "imports": "SELECT id, file_name, file_hash, format, status, started_at, finished_at"
               " FROM imports ORDER BY rowid",
}


def one_row_per_statement(db, insert: str, columns, rows) -> None:
    if rows:
        marks = ", ".join("?" * len(columns))
        db.conn.executemany(f"{insert} ({', '.join(columns)}) VALUES ({marks})", rows)



def import_all(home: Path, monkeypatch: pytest.MonkeyPatch, *, plain: bool) -> dict:
    ids = itertools.count(1)
    times = itertools.count(1_800_000_000)

    def next_id() -> str:
        return f"id-{next(ids):05d}"

    for module in (import_store, episodic, memory_store):
        monkeypatch.setattr(module, "new_id", next_id)
    monkeypatch.setattr(clock, "now", lambda: float(next(times)))
    if plain:
        for module in (db_module, conversation_store, memory_store):
            monkeypatch.setattr(module, "insert_values", one_row_per_statement)
        monkeypatch.setattr(MemoryStore, "create_many", one_create_per_item)
    else:       # several statements per conversation, so that the chunking is exercised
        monkeypatch.setattr(db_module, "_ROWS_PER_STATEMENT", 7)
    eng = Engram.open(home)
    try:
        for name in SAMPLES:
            run_import(eng, FIXTURES / name, embed=False)
        run_import(eng, FIXTURES / SAMPLES[0], embed=False)       # a re-import adds nothing
        return {name: eng.db.execute(sql).fetchall() for name, sql in TABLES.items()}
    finally:
        eng.close()
        monkeypatch.undo()


def test_fast_import_writes_the_rows_of_the_plain_path(tmp_path: Path, monkeypatch) -> None:
    plain = import_all(tmp_path / "plain", monkeypatch, plain=True)
    fast = import_all(tmp_path / "fast", monkeypatch, plain=False)
    assert len(fast["messages"]) >= 40 and len(fast["memories"]) >= 40
    assert len(fast["imports"]) == len(SAMPLES) + 1
    for name in TABLES:
        assert fast[name] == plain[name], name


def test_an_import_puts_the_connection_settings_back(store_only) -> None:
    def settings() -> tuple[int, int]:
        return (store_only.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                store_only.db.execute("PRAGMA cache_size").fetchone()[0])

    before = settings()
    run_import(store_only, FIXTURES / SAMPLES[0], embed=False)
    assert settings() == before
    report = run_import(store_only, FIXTURES / SAMPLES[1], embed=False, should_stop=lambda: True)
    assert report.status == "cancelled" and settings() == before


def test_the_per_conversation_job_lookup_uses_an_index(store_only) -> None:
    """Each imported conversation asks whether its summary job is already queued: without an
    index that read every queued job (quadratic in the size of the import)."""
    plan = store_only.db.execute(
        "EXPLAIN QUERY PLAN SELECT 1 FROM jobs WHERE kind = ? AND payload = ?"
        " AND status = 'queued'", ["summarize_conversation", "{}"]).fetchall()
    assert "jobs_kind_payload" in " ".join(str(step[-1]) for step in plan)
