from __future__ import annotations


def test_sync_embeds_changes_and_removes_purged(engram) -> None:
    m = engram.memories
    a = m.create("fact", "Ana's daughter is called Rosa", actor="user")
    b = m.create("fact", "The garage door code changed", actor="user")
    sync = engram.index_sync
    assert sync.pending_count() == 2
    report = sync.sync()
    assert (report.embedded, sync.pending_count(), engram.index.count()) == (2, 0, 2)
    m.forget(a.id)
    m.purge_rows(b.id)
    report = sync.sync()
    assert (report.embedded, report.deleted) == (1, 1)
    assert engram.index.all_ids() == [a.id]
    assert engram.index.get_metadata([a.id])[a.id]["status"] == "forgotten"


def test_doctor_finds_and_repairs_drift(engram) -> None:
    m = engram.memories
    ids = [m.create("fact", f"fact number {i}", actor="user").id for i in range(5)]
    sync = engram.index_sync
    sync.sync()
    engram.index.delete([ids[0]])                       # lost from the index
    engram.index.upsert([__import__("core.index.vector_index", fromlist=["IndexEntry"]).IndexEntry(
        "ghost", "fact", "global", "active", None)], engram.embedder.encode(["ghost"]))
    engram.db.execute("UPDATE memories SET status = 'forgotten' WHERE id = ?", [ids[1]])
    report = sync.doctor()
    assert report.missing_in_index == [ids[0]]
    assert report.orphans_in_index == ["ghost"]
    assert report.stale == [ids[1]]
    repaired = sync.doctor(repair=True)
    assert repaired.repaired
    assert sync.doctor().healthy
    assert sorted(engram.index.all_ids()) == sorted(ids)


def test_reindex_rebuilds_from_sqlite(engram) -> None:
    for i in range(3):
        engram.memories.create("fact", f"item {i}", actor="user")
    sync = engram.index_sync
    sync.sync()
    engram.index.reset()
    seen = []
    report = sync.reindex(progress=lambda p: seen.append((p.done, p.total)))
    assert report.embedded == 3 and engram.index.count() == 3
    assert seen[-1] == (3, 3)
