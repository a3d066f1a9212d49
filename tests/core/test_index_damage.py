"""A vector index whose files are damaged (Chroma's HNSW files torn by a process killed while
it wrote them, which Chroma 1.5 does not survive, or a disk error): said in one line, rebuilt
from SQLite by the next sync, chat answering by word search meanwhile; a purge on it drops
the collection whole. The damage is real: a persisted segment's header overwritten."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.index.erasure import stale_segment_dirs
from core.index.vector_index import IndexDamaged, IndexEntry
from core.index.worker import IndexWorker, IndexWorkerSpec
from core.memory.episodic import remember_messages
from core.memory.retrieval import Retriever
from core.services.chat import ChatService
from core.services.engine import Engram
from core.services.memory_worker import MemoryWorker
from tests.memory.fake_llm import ScriptedFakeLLM

SAID = ["I adopted a grey cat named Miso last spring.",
        "My sister Ana lives in Porto and teaches piano.",
        "I am allergic to peanuts."]


def _clear_chroma_cache() -> None:
    """Chroma's embedded client keeps one system per folder in the process: drop it, so the
    next open reads the files (as a fresh start of the app does)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _segment_dirs(chroma_dir: Path) -> list[Path]:
    return [p for p in chroma_dir.iterdir() if p.is_dir()]


def tear_header(chroma_dir: Path) -> Path:
    """Overwrite the persisted HNSW header of the (only) segment: Chroma then fails every read
    with "Error loading hnsw index", as it did here after a SIGKILL during an upsert."""
    (segment,) = _segment_dirs(chroma_dir)
    (segment / "header.bin").write_bytes(b"\0" * 10)
    return segment


def _damaged_home(home: Path, embedder) -> tuple[list[str], Path]:
    """A data folder with three things the person said (their turns first in the ids, then
    the other memories made of them) in a collection Chroma has persisted (1,100 more
    vectors, of ids SQLite never had, make it write a full segment), then torn."""
    eng = Engram.open(home)
    eng._embedder = embedder
    try:
        conv = eng.conversations.create("Earlier", created_at=1_700_000_000)
        for i, text in enumerate(SAID):
            remember_messages(eng.memories, [eng.conversations.add_message(
                conv.id, "user", text, created_at=1_700_000_000 + i)], actor="user")
        rows = list(eng.db.query("SELECT id, text, granularity FROM memories"))
        turns = {r["text"]: r["id"] for r in rows if r["granularity"] == "turn"}
        ids = [turns[f"User: {t}"] for t in SAID]
        ids += sorted({r["id"] for r in rows} - set(ids))
        assert eng.index_sync.sync().embedded == len(ids)
        extra = [IndexEntry(f"orphan{i}", "fact", "global", "active", None) for i in range(1100)]
        vectors = np.random.default_rng(0).random((1100, 384), np.float32)
        eng.index.upsert(extra, vectors)
        assert eng.index.count() == len(ids) + 1100
        chroma_dir = eng.layout.chroma_dir
    finally:
        eng.close()
    _clear_chroma_cache()
    return ids, tear_header(chroma_dir)


@pytest.fixture
def damaged(home: Path, embedder):
    ids, segment = _damaged_home(home, embedder)
    eng = Engram.open(home)
    eng._embedder = embedder
    yield eng, ids, segment
    eng.close()
    _clear_chroma_cache()


def test_a_damaged_index_says_so_and_the_next_sync_rebuilds_it_from_sqlite(damaged, home,
                                                                         embedder) -> None:
    eng, ids, segment = damaged
    with pytest.raises(IndexDamaged, match=r"damaged .*rebuilds it from its database"):
        eng.index.count()
    # meanwhile a search answers by words alone, and says why
    found = Retriever(eng.memories, eng.index, eng.embedder).retrieve("what is my cat called Miso")
    assert "damaged" in found.dense_error
    assert found.selected and found.selected[0].memory.id == ids[0]

    report = eng.index_sync.sync()
    assert report.rebuilt_damaged and report.embedded == len(ids)
    assert sorted(eng.index.all_ids()) == sorted(ids)          # the orphans went with it
    assert not segment.exists() and not stale_segment_dirs(eng.layout.chroma_dir)
    assert eng.index.query(embedder.encode_one("my pet"), 1)[0][0] == ids[0]
    again = Retriever(eng.memories, eng.index, eng.embedder).retrieve("my pet")
    assert again.dense_error == "" and again.selected[0].memory.id == ids[0]
    assert not eng.index_sync.sync().rebuilt_damaged           # once, not on every sync

    eng.close()
    _clear_chroma_cache()
    reopened = Engram.open(home)                                # the rebuilt files hold
    reopened._embedder = embedder
    try:
        assert reopened.index.count() == len(ids)
    finally:
        reopened.close()


def test_a_chat_turn_on_a_damaged_index_answers_says_so_and_repairs_it(damaged) -> None:
    eng, ids, _ = damaged
    llm = ScriptedFakeLLM(["Your cat is called Miso."], kind="base")
    chat = ChatService(eng, llm)               # syncs the index after the turn, as the app
    conv = eng.conversations.create("c")
    first = chat.send(conv.id, "What is my cat called? Miso?")
    assert first.text == "Your cat is called Miso."
    assert "word search only" in first.notice and "damaged" in first.notice
    assert ids[0] in [t.memory_id for t in first.trace]       # the fact was still found
    # the turn did not wait for the rebuild: the index sync it queued does it, in the background
    assert "index_sync" in first.queued_jobs
    MemoryWorker(eng, lambda: llm).run_until_idle()
    assert eng.index.count() >= len(ids) and eng.index_sync.pending_count() == 0
    second = chat.send(conv.id, "And my sister?")
    assert second.notice == ""


def test_a_purge_on_a_damaged_index_drops_it_whole_and_reembeds_the_rest(damaged) -> None:
    from core.services import memory_ops

    eng, ids, segment = damaged
    memory_ops.purge(eng, [ids[2]], with_messages=False)
    assert not segment.exists()                # the torn files held the purged vector too
    assert not stale_segment_dirs(eng.layout.chroma_dir)
    kept = set(eng.memories.get_many(ids)) - {ids[2]}
    assert kept and eng.index_sync.pending_count() >= len(kept)   # they wait for vectors
    eng.index_sync.sync()
    assert set(eng.index.all_ids()) == kept


def test_damage_in_the_index_worker_comes_back_as_itself_and_reset_cures_it(home,
                                                                           embedder) -> None:
    _, _ = _damaged_home(home, embedder)
    from core.base.paths import DataLayout

    layout = DataLayout.single(home)
    worker = IndexWorker(IndexWorkerSpec(chroma_path=str(layout.chroma_dir)))
    try:
        from core.index.proxies import VectorIndexProxy

        index = VectorIndexProxy(worker)
        with pytest.raises(IndexDamaged, match="damaged"):
            index.count()
        pid = worker.pid
        index.reset()
        assert index.count() == 0 and worker.pid == pid      # an error, not a crash
    finally:
        worker.close()


def test_doctor_says_the_index_is_damaged_and_repair_rebuilds_it(damaged) -> None:
    from core.services.purge_audit import audit

    eng, ids, _ = damaged
    found = eng.index_sync.doctor()
    assert found.damaged and not found.healthy and not found.repaired
    assert audit(eng).complete                  # nothing was purged: no purge problem
    fixed = eng.index_sync.doctor(repair=True)
    assert fixed.damaged and fixed.repaired
    assert eng.index_sync.doctor().healthy and sorted(eng.index.all_ids()) == sorted(ids)
