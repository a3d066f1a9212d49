"""`MemoryStore.create_many` and the multi-row inserts under it write exactly what the
one-at-a-time path writes."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from core.base import clock
from core.base.errors import EngramError
from core.services.engine import Engram
from core.store import memories as memory_store
from core.store.db import bulk_writes, insert_values
from core.store.memories import NewMemory, SourceRef

TABLES = {
    "memories": "SELECT rowid, * FROM memories ORDER BY rowid",
    "memory_sources": "SELECT * FROM memory_sources ORDER BY id",
    "memory_events": "SELECT * FROM memory_events ORDER BY id",
}


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids and times from counters, so that two runs can be compared row by row."""
    ids = itertools.count(1)
    times = itertools.count(1_700_000_000)
    monkeypatch.setattr(memory_store, "new_id", lambda: f"mem-{next(ids):04d}")
    monkeypatch.setattr(clock, "now", lambda: float(next(times)))


def dump(eng: Engram) -> dict[str, list[tuple]]:
    out = {name: eng.db.execute(sql).fetchall() for name, sql in TABLES.items()}
    # what the full-text index answers, word by word (its segment layout may differ)
    out["fts"] = [(w, eng.db.execute(
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rowid",
        [w]).fetchall()) for w in ("lisbon", "tea", "cats", "grey", "nothing")]
    return out


def seed(eng: Engram) -> tuple[str, list[str]]:
    conv = eng.conversations.create("c", id="conv-1", created_at=1.0)
    msgs = [eng.conversations.add_message(conv.id, "user", f"message {i}", id=f"msg-{i}",
                                          created_at=float(i + 2)).id for i in range(3)]
    return conv.id, msgs


def items(conv: str, msgs: list[str]) -> list[NewMemory]:
    src = [SourceRef(message_id=m, conversation_id=conv, source_ref=f"orig-{m}") for m in msgs]
    return [
        NewMemory("episodic", "User: I moved to Lisbon", conversation_id=conv,
                  occurred_at=5.0, granularity="turn", sources=src[:1],
                  meta={"message_id": msgs[0]}),
        NewMemory("episodic", "User: I moved to Lisbon\nAssistant: Lovely, grey cats there",
                  conversation_id=conv, granularity="window", sources=src,
                  meta={"anchor": "mem-0001"}, id="window-given-id"),
        NewMemory("fact", "Likes tea", scope="conversation", conversation_id=conv,
                  pinned=True, strength=2.5, subject="user", note="from a test"),
        NewMemory("summary", "Talked about cats and tea", created_at=42.0,
                  sources=[SourceRef(conversation_id=conv)]),
        NewMemory("thought", "No sources at all"),
    ]


def test_create_many_writes_the_rows_of_one_create_per_item(tmp_path: Path,
                                                            monkeypatch) -> None:
    one_by_one, batched = Engram.open(tmp_path / "a"), Engram.open(tmp_path / "b")
    try:
        deterministic(monkeypatch)
        conv, msgs = seed(one_by_one)
        expected_ids = []
        for it in items(conv, msgs):
            expected_ids.append(one_by_one.memories.create(
                it.kind, it.text, actor="import", scope=it.scope,
                conversation_id=it.conversation_id, sources=it.sources, pinned=it.pinned,
                strength=it.strength, occurred_at=it.occurred_at, subject=it.subject,
                granularity=it.granularity, meta=it.meta, id=it.id,
                created_at=it.created_at, note=it.note).id)
        deterministic(monkeypatch)
        conv, msgs = seed(batched)
        ids = batched.memories.create_many(items(conv, msgs), actor="import")
        assert ids == expected_ids
        want, got = dump(one_by_one), dump(batched)
        assert got == want
        assert len(got["memories"]) == 5 and len(got["memory_sources"]) == 5
        assert [e.event for e in batched.memories.events(ids[2])] == ["created"]
        assert batched.memories.events(ids[2])[0].note == "from a test"
        assert batched.memories.get(ids[1]).meta == {"anchor": "mem-0001"}
        batched.db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
    finally:
        one_by_one.close()
        batched.close()


def test_one_bad_item_writes_nothing(tmp_path: Path) -> None:
    eng = Engram.open(tmp_path / "h")
    try:
        good = NewMemory("fact", "fine")
        with pytest.raises(EngramError, match="kind"):
            eng.memories.create_many([good, NewMemory("dream", "no such kind")], actor="user")
        with pytest.raises(EngramError, match="conversation id"):
            eng.memories.create_many([good, NewMemory("fact", "x", scope="conversation")],
                                     actor="user")
        with pytest.raises(EngramError, match="actor"):
            eng.memories.create_many([good], actor="somebody")
        assert eng.memories.create_many([], actor="user") == []
        counts = [eng.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES]
        assert counts == [0, 0, 0]
    finally:
        eng.close()


@pytest.mark.parametrize(("rows_per_statement", "chars_per_statement", "statements"),
                         [(7, 1 << 20, 2 + 5),      # 7 rows a statement
                          (200, 40, 6 + 15)])       # rows of ~28 characters: 2 a statement
def test_multi_row_inserts_match_one_statement_per_row(
        tmp_path: Path, monkeypatch, rows_per_statement: int, chars_per_statement: int,
        statements: int) -> None:
    """More rows than one statement holds (by count, then by text size), and OR IGNORE
    skipping rows one by one."""
    import core.store.db as db_module

    monkeypatch.setattr(db_module, "_ROWS_PER_STATEMENT", rows_per_statement)
    monkeypatch.setattr(db_module, "_CHARS_PER_STATEMENT", chars_per_statement)
    eng = Engram.open(tmp_path / "h")
    try:
        conv = eng.conversations.create("c", id="conv")
        rows = [(f"m{i}", conv.id, None, 0, "user", f"text number {i}", float(i), None, 0,
                 f"s{i}", None, "{}") for i in range(30)]
        cols = ("id", "conversation_id", "parent_id", "branch", "role", "text", "created_at",
                "model", "hidden", "source_id", "import_id", "meta")
        executed: list[int] = []
        run = db_module._run_values

        def counted(db, statements_, head, one, count, values):
            executed.append(count)
            run(db, statements_, head, one, count, values)

        monkeypatch.setattr(db_module, "_run_values", counted)
        insert_values(eng.db, "INSERT OR IGNORE INTO messages", cols, rows[:12])
        insert_values(eng.db, "INSERT OR IGNORE INTO messages", cols, rows)   # 12 repeats
        assert len(executed) == statements and sum(executed) == 42
        stored = eng.db.execute(
            f"SELECT rowid, {', '.join(cols)} FROM messages ORDER BY rowid").fetchall()
        assert stored == [(i + 1, *row) for i, row in enumerate(rows)]
        hits = eng.db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH"
                              " '\"29\"'").fetchall()
        assert hits == [(30,)]
        insert_values(eng.db, "INSERT INTO messages", cols, [])               # no-op
    finally:
        eng.close()


def test_bulk_writes_puts_the_connection_settings_back(tmp_path: Path) -> None:
    eng = Engram.open(tmp_path / "h")

    def settings() -> tuple[int, int]:
        return (eng.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                eng.db.execute("PRAGMA cache_size").fetchone()[0])

    try:
        before = settings()
        with bulk_writes(eng.db, checkpoint_pages=5000, cache_kib=8192):
            assert settings() == (5000, -8192)
            eng.memories.create("fact", "written during bulk writes", actor="user")
        assert settings() == before
        with pytest.raises(RuntimeError), bulk_writes(eng.db):
            raise RuntimeError("boom")
        assert settings() == before
        assert eng.memories.count() == 1
    finally:
        eng.close()
