"""`remember_messages` writes its memories in one batch; the rows must be those that one
`MemoryStore.create()` per memory writes, also when predecessors come from the database."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from core.base import clock
from core.memory import episodic
from core.memory.episodic import remember_messages
from core.services.engine import Engram
from core.store import memories as memory_store
from core.store.memories import MemoryStore
from tests.memory.reference_writes import one_create_per_item

ROWS = ("SELECT rowid, * FROM memories ORDER BY rowid",
        "SELECT * FROM memory_sources ORDER BY id",
        "SELECT * FROM memory_events ORDER BY id",
        "SELECT granularity FROM memories ORDER BY rowid")



def conversation(eng: Engram) -> list[list]:
    """A branched conversation stored in three calls, like an import then two chat turns."""
    conv = eng.conversations.create("c", id="conv", created_at=1.0)
    add = eng.conversations.add_message
    t = itertools.count(10)
    first = [add(conv.id, "user", "I adopted a cat", id="m0", created_at=next(t)),
             add(conv.id, "assistant", "What is its name?", id="m1", created_at=next(t)),
             add(conv.id, "system", "be brief", id="m2", created_at=next(t)),
             add(conv.id, "user", "Miso, she is grey", id="m3", created_at=next(t),
                 meta={"speaker": "Caroline"}),
             add(conv.id, "assistant", "tool output", id="m4", hidden=True,
                 created_at=next(t)),
             add(conv.id, "assistant", "Lovely name", id="m5", created_at=next(t))]
    regenerated = [add(conv.id, "assistant", "Cute!", id="m6", parent_id="m3",
                       created_at=next(t))]
    later = [add(conv.id, "user", "She likes tuna", id="m7", parent_id="m5",
                 created_at=next(t))]
    return [first, regenerated, later]


def run(home: Path, monkeypatch: pytest.MonkeyPatch, batched: bool) -> tuple[list, list]:
    ids = itertools.count(1)
    times = itertools.count(1_700_000_000)
    monkeypatch.setattr(episodic, "new_id", lambda: f"mem-{next(ids):03d}")
    monkeypatch.setattr(memory_store, "new_id", lambda: f"mem-{next(ids):03d}")
    monkeypatch.setattr(clock, "now", lambda: float(next(times)))
    if not batched:
        monkeypatch.setattr(MemoryStore, "create_many", one_create_per_item)
    eng = Engram.open(home)
    try:
        returned = [remember_messages(eng.memories, part, actor="import", import_id=None)
                    for part in conversation(eng)]
        return returned, [eng.db.execute(sql).fetchall() for sql in ROWS]
    finally:
        eng.close()
        monkeypatch.undo()


def test_batched_memories_equal_one_create_per_memory(tmp_path: Path, monkeypatch) -> None:
    want_ids, want_rows = run(tmp_path / "reference", monkeypatch, batched=False)
    got_ids, got_rows = run(tmp_path / "batched", monkeypatch, batched=True)
    assert got_ids == want_ids
    assert got_rows == want_rows
    grains = [row[-1] for row in got_rows[-1]]
    # 6 turns (m0, m1, m3, m5, m6, m7) and 5 windows; the later calls found their
    # predecessors' turns in the database
    assert grains.count("turn") == 6
    assert grains.count("window") == 5
    assert len(got_ids[1]) == 2 and len(got_ids[2]) == 2
