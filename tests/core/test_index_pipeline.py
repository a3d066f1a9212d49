"""The index sync's fewer encoder passes, with the real embedder and a real Chroma: window
vectors made from their turns, no text through the encoder twice (and no cache surviving a
purge), a collection per vector family with a re-sync on a switch, and write errors that
reach the caller with nothing marked."""
from __future__ import annotations

import numpy as np
import pytest

from core.base.progress import Progress
from core.index.sync import WINDOW_WEIGHT_CAP, IndexSync
from core.memory.episodic import remember_messages


class CountingEmbedder:
    """The real embedder, counting the texts that reach the encoder (a spy, not a fake)."""

    def __init__(self, real) -> None:
        self.real = real
        self.texts: list[str] = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def encode(self, texts):
        self.texts.extend(texts)
        return self.real.encode(texts)


def _conversation(engram, turns: list[tuple[str, str]]) -> list:
    conv = engram.conversations.create("pipeline test", created_at=1_700_000_000)
    msgs = [engram.conversations.add_message(conv.id, role, text, created_at=1_700_000_000 + i)
            for i, (role, text) in enumerate(turns)]
    remember_messages(engram.memories, msgs, actor="import")
    return msgs


TURNS = [("user", "I'm planning a trip to Lisbon in May."),
         ("assistant", "Lisbon in May is lovely: take tram 28 and try pastel de nata."),
         ("user", "My sister Ana will come along, she loves tiles."),
         ("assistant", "Then the National Tile Museum is a must for her."),
         ("user", "Thanks!"), ("assistant", "Thanks!")]


def _sync(engram, embedder) -> tuple[IndexSync, object]:
    sync = IndexSync(engram.memories, engram.index, embedder,
                     state_path=engram.layout.data_dir / "index-state.json")
    return sync, sync.sync()


def test_windows_get_their_vectors_from_their_turns(engram) -> None:
    spy = CountingEmbedder(engram.embedder)
    _conversation(engram, TURNS)
    rows = {r["id"]: r for r in engram.db.query(
        "SELECT id, text, granularity FROM memories")}
    windows = [i for i, r in rows.items() if r["granularity"] == "window"]
    turns = [i for i, r in rows.items() if r["granularity"] == "turn"]
    assert windows and turns
    _, report = _sync(engram, spy)
    assert report.embedded == len(rows) and report.derived == len(windows)
    assert not [t for t in spy.texts if "\n" in t]            # no window text was encoded
    assert engram.index_sync.pending_count() == 0
    meta = engram.index.get_metadata(list(rows))
    assert {meta[w]["runtime"] for w in windows} == {"derived"}
    assert {meta[t]["runtime"] for t in turns} == {engram.embedder.runtime}
    stored = engram.index.get_embeddings(list(rows))
    for w in windows:
        pieces = [r[0] for r in engram.db.execute(
            "SELECT p.memory_id FROM memory_sources s JOIN memory_sources p"
            " ON p.message_id = s.message_id JOIN memories m ON m.id = p.memory_id"
            " WHERE s.memory_id = ? AND m.granularity = 'turn'", [w])]
        weights = [min(len(rows[p]["text"]), WINDOW_WEIGHT_CAP) for p in pieces]
        mean = sum(wt * stored[p] for wt, p in zip(weights, pieces))
        np.testing.assert_allclose(stored[w], mean / np.linalg.norm(mean), atol=1e-5)
        # and it stays close to what encoding the window's own text gives
        assert float(stored[w] @ engram.embedder.encode_one(rows[w]["text"])) > 0.8
    for t in turns:
        np.testing.assert_allclose(stored[t], engram.embedder.encode_one(rows[t]["text"]),
                                   atol=1e-4)


def test_no_text_goes_through_the_encoder_twice(engram) -> None:
    spy = CountingEmbedder(engram.embedder)
    _conversation(engram, TURNS)                  # "Assistant: Thanks!" / "User: Thanks!" differ
    _conversation(engram, TURNS[:2])              # the same first two turns again
    _, report = _sync(engram, spy)
    assert len(spy.texts) == len(set(spy.texts)) == report.encoded
    assert report.reused >= 2
    # a memory's version changes without its text (forget, restore): nothing is re-encoded
    turn = next(r[0] for r in engram.db.execute(
        "SELECT id FROM memories WHERE granularity = 'turn' LIMIT 1"))
    engram.memories.forget(turn)
    spy.texts.clear()
    _, again = _sync(engram, spy)
    assert spy.texts == [] and again.embedded == 1 and again.reused == 1
    assert engram.index.get_metadata([turn])[turn]["status"] == "forgotten"


def test_the_cache_does_not_outlive_a_purge(engram) -> None:
    spy = CountingEmbedder(engram.embedder)
    secret = engram.memories.create("fact", "My PIN is 4921", actor="user")
    _sync(engram, spy)
    engram.memories.purge_rows(secret.id)
    _sync(engram, spy)
    assert engram.index.existing_ids([secret.id]) == []
    spy.texts.clear()
    engram.memories.create("fact", "My PIN is 4921", actor="user")
    _, report = _sync(engram, spy)
    assert spy.texts == ["My PIN is 4921"] and report.reused == 0


def test_a_new_vector_family_gets_its_own_collection_and_a_full_sync(home, embedder) -> None:
    pytest.importorskip("onnxruntime")
    from core.services.engine import Engram

    eng = Engram.open(home)
    try:
        eng.memories.create("fact", "The garage code is 1234", actor="user")
        eng.memories.create("fact", "Ana's daughter is called Rosa", actor="user")
        assert eng.index.collection_name == "memories"
        assert eng.index_sync.sync().embedded == 2
    finally:
        eng.close()
    eng = Engram.open(home)
    try:
        eng.settings.memory.embedding_runtime = "onnx-int8"
        assert eng.embedder.vector_family == "int8"
        assert eng.index.collection_name == "memories-onnx-int8"
        sync = eng.index_sync
        assert sync.pending_count() == 0                     # SQLite still says "indexed" ...
        report = sync.sync()                                 # ... for the other collection
        assert report.embedded == 2 and eng.index.count() == 2
        hit = eng.index.query(eng.embedder.encode_one("Rosa's mother"), 1)[0][0]
        assert eng.memories.get(hit).text == "Ana's daughter is called Rosa"
    finally:
        eng.close()
    eng = Engram.open(home)                                  # back to fp32: same vectors
    try:
        assert eng.index.collection_name == "memories"
        spy = CountingEmbedder(eng.embedder)
        report = IndexSync(eng.memories, eng.index, spy,
                           state_path=eng.layout.data_dir / "index-state.json").sync()
        assert report.embedded == 2 and spy.texts == []      # its collection had them all
    finally:
        eng.close()


class FailingIndex:
    """A FAKE index whose writes fail (a full disk, a server gone): the real part cannot be
    made to fail on demand here."""

    def __init__(self, real) -> None:
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def upsert(self, entries, embeddings):
        raise OSError("No space left on device")


def test_a_failed_write_reaches_the_caller_and_marks_nothing(engram) -> None:
    _conversation(engram, TURNS[:3])
    sync = IndexSync(engram.memories, FailingIndex(engram.index), engram.embedder)
    before = sync.pending_count()
    with pytest.raises(OSError, match="No space left"):
        sync.sync()
    assert sync.pending_count() == before
    assert engram.index_sync.sync().embedded == before      # a working index catches up


def test_rows_written_while_syncing_are_picked_up(engram) -> None:
    """Memories created between two chunks (the chat goes on during an import's sync)."""
    for i in range(6):
        engram.memories.create("fact", f"fact number {i} about the river", actor="user")
    made: list[str] = []

    def progress(p: Progress) -> None:
        if not made:
            made.append(engram.memories.create("fact", "a late fact", actor="user").id)

    sync = IndexSync(engram.memories, engram.index, engram.embedder, batch_size=2, chunk_size=2)
    report = sync.sync(progress=progress)
    assert report.embedded == 7 and sync.pending_count() == 0
    assert made[0] in engram.index.existing_ids(made)


def test_waiting_report_says_how_many_and_how_long(engram) -> None:
    from core.index.sync import waiting_report

    state = engram.layout.data_dir / "index-state.json"
    for i in range(3):
        engram.memories.create("fact", f"note {i}", actor="user")
    first = waiting_report(engram.memories, state)
    assert first["memories_waiting_for_vectors"] == 3 and "word search" in first[
        "search_meanwhile"]
    assert "unknown" in first["vectors_time_left"]          # no rate measured yet
    from core.index.sync_state import IndexState

    IndexState(state).finish(600, 3.0, "onnx")              # 200 memories/s last time
    engram.memories.create("fact", "note 3", actor="user")
    later = waiting_report(engram.memories, state)
    assert later["embedding_rate_per_s"] == 200 and later["embedding_now"] is False
    assert later["vectors_time_left"] == "under 2 minutes"
    _sync(engram, engram.embedder)
    assert waiting_report(engram.memories, state) == {"memories_waiting_for_vectors": 0}


def test_derive_long_encodes_the_windows_the_encoder_reads_whole(engram) -> None:
    long_answer = "Here is everything about sourdough starters, flour and timing. " * 60
    _conversation(engram, [("user", "Tell me about sourdough."), ("assistant", long_answer),
                           ("user", "Thanks, and rye?"), ("assistant", "Rye ferments faster."),
                           ("user", "Good to know."), ("assistant", "Happy baking!")])
    spy = CountingEmbedder(engram.embedder)
    report = IndexSync(engram.memories, engram.index, spy, window_vectors="derive-long").sync()
    rows = list(engram.db.query("SELECT id, text FROM memories WHERE granularity = 'window'"))
    meta = engram.index.get_metadata([r["id"] for r in rows])
    for r in rows:
        whole = engram.embedder.token_counts([r["text"]])[0] < engram.embedder.max_tokens()
        assert (meta[r["id"]]["runtime"] == "derived") == (not whole), r["text"][:60]
        assert (r["text"] in spy.texts) == whole
    assert 0 < report.derived < len(rows)
    with pytest.raises(ValueError):
        IndexSync(engram.memories, engram.index, spy, window_vectors="sometimes")


def test_progress_comes_per_batch_and_a_cancel_stops_between_batches(engram) -> None:
    for i in range(40):
        engram.memories.create("fact", f"distinct fact {i}: the {i}th tram leaves at {i}:15",
                               actor="user")
    seen: list[tuple[int, int]] = []
    sync = IndexSync(engram.memories, engram.index, engram.embedder, batch_size=8,
                     chunk_size=2048)
    report = sync.sync(progress=lambda p: seen.append((p.done, p.total)),
                       should_stop=lambda: len(seen) >= 2)
    assert report.cancelled and len(seen) >= 2 and seen[0][1] == 40
    assert seen[0][0] < 40                          # before the whole chunk was done
    assert sync.pending_count() == 40 - report.embedded > 0
    assert sync.sync().embedded == 40 - report.embedded       # the rest, later
