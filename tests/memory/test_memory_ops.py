"""Operations on memories (core.services.memory_ops): batches in one operation, each
returning what changed; undo from the audit log, one operation at a time and never past a
purge; purging fifty memories cleans the files once."""
from __future__ import annotations

import pytest

from core.base.errors import EngramError
from core.services import memory_ops
from core.services.engine import Engram


def _facts(eng: Engram, n: int, prefix: str = "fact") -> list[str]:
    return [eng.memories.create("fact", f"{prefix} number {i}: the tram leaves at {i}:15",
                                actor="assistant").id for i in range(n)]


def _statuses(eng: Engram, ids: list[str]) -> list[str]:
    found = eng.memories.get_many(ids)
    return [found[i].status for i in ids]


def test_a_batch_is_one_operation_and_undo_takes_back_exactly_it(engram) -> None:
    a, b, c = _facts(engram, 3)
    first = memory_ops.forget(engram, [a, b])
    assert set(first.memories) == {a, b} and first.vectors and first.undo == "forget 2 memories"
    pinned = memory_ops.pin(engram, [c])
    assert pinned.memories == (c,) and pinned.undo == "pin a memory"
    # the newest operation first: the pin, and only the pin
    undone = memory_ops.undo(engram)
    assert undone.description == "undo pin a memory" and undone.memories == (c,)
    assert not engram.memories.get(c).pinned
    assert _statuses(engram, [a, b]) == ["forgotten", "forgotten"]
    assert undone.undo == "forget 2 memories"           # what the next undo would do
    memory_ops.undo(engram)
    assert _statuses(engram, [a, b, c]) == ["active"] * 3
    with pytest.raises(EngramError, match="Nothing to undo"):
        memory_ops.undo(engram)
    # the audit log says all of it, undos included
    assert [e.event for e in engram.memories.events(a)] == ["created", "forgotten", "restored"]


def test_ids_left_as_they_were_are_not_changed_and_not_undone(engram) -> None:
    a, b = _facts(engram, 2)
    memory_ops.forget(engram, [a])
    again = memory_ops.forget(engram, [a, b])          # a is forgotten already
    assert again.memories == (b,)
    memory_ops.undo(engram)
    assert _statuses(engram, [a, b]) == ["forgotten", "active"]
    with pytest.raises(EngramError, match="No memory with id nope"):
        memory_ops.forget(engram, [b, "nope"])
    assert engram.memories.get(b).status == "active"   # nothing of a failed batch is written


def test_merge_keeps_the_originals_and_undo_brings_them_back(engram) -> None:
    a, b = _facts(engram, 2)
    merged = memory_ops.merge(engram, [a, b])
    [new] = merged.created
    assert engram.memories.get(new).text.splitlines() == [engram.memories.get(a).text,
                                                          engram.memories.get(b).text]
    assert _statuses(engram, [a, b]) == ["superseded", "superseded"]
    assert engram.memories.get(a).superseded_by == new
    assert merged.undo == "merge 2 memories"
    memory_ops.undo(engram)
    assert _statuses(engram, [a, b, new]) == ["active", "active", "forgotten"]
    with pytest.raises(EngramError, match="at least two"):
        memory_ops.merge(engram, [a])


def test_edit_move_and_restore_a_version_are_undone_from_the_audit_log(engram) -> None:
    conv = engram.conversations.create("trip")
    mid = engram.memories.create("fact", "The user likes trams", actor="assistant",
                                 conversation_id=conv.id).id
    memory_ops.edit(engram, mid, "The user likes night trams")
    memory_ops.move(engram, [mid], "conversation")
    assert engram.memories.get(mid).scope == "conversation"
    memory_ops.undo(engram)
    assert engram.memories.get(mid).scope == "global"
    memory_ops.undo(engram)
    assert engram.memories.get(mid).text == "The user likes trams"
    with pytest.raises(EngramError, match="empty"):
        memory_ops.edit(engram, mid, "  ")


def test_a_purge_cannot_be_undone_and_ends_what_can(engram) -> None:
    a, b = _facts(engram, 2)
    memory_ops.forget(engram, [a])
    purged = memory_ops.purge(engram, [b])
    assert purged.memories == (b,) and purged.undo == ""
    with pytest.raises(EngramError, match="purge"):
        memory_ops.undo(engram)
    assert engram.memories.get(a).status == "forgotten"     # not undone past the purge


def test_purging_fifty_memories_cleans_the_files_once(engram, monkeypatch) -> None:
    from core.services import purge

    ids = _facts(engram, 50, "secret")
    _facts(engram, 5, "kept")
    engram.index_sync.sync()
    calls = {"scrub": 0, "erase": 0, "backups": 0, "journal": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(purge, "scrub_database", counted("scrub", purge.scrub_database))
    monkeypatch.setattr(purge, "replace_all_backups",
                        counted("backups", purge.replace_all_backups))
    monkeypatch.setattr(purge.journal, "open_entry", counted("journal", purge.journal.open_entry))
    index = engram.index
    monkeypatch.setattr(index, "erase", counted("erase", index.erase))
    changes = memory_ops.purge(engram, ids)
    assert calls == {"scrub": 1, "erase": 1, "backups": 1, "journal": 1}
    assert set(changes.memories) == set(ids) and changes.detail.vectors["present"] == 50
    assert set(_statuses(engram, ids)) == {"purged"}
    assert engram.index.count() == 5 and not engram.index.existing_ids(ids)
    assert engram.memories.list(text="secret") == []
