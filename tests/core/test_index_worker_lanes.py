"""The index worker's two lanes: encoding goes on while Chroma writes (the app's index sync
overlaps them), the new proxy calls match in-process results, and the app's configuration
embeds a whole conversation through the child with derived windows."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.index.proxies import EmbedderProxy, VectorIndexProxy
from core.index.vector_index import IndexEntry
from core.index.worker import IndexWorker, IndexWorkerSpec


@pytest.fixture
def worker(tmp_path: Path):
    w = IndexWorker(IndexWorkerSpec(chroma_path=str(tmp_path / "chroma"), collection="lanes"))
    yield w
    w.close()


def test_encoding_is_not_held_up_by_a_long_chroma_write(worker) -> None:
    index, embedder = VectorIndexProxy(worker), EmbedderProxy(worker)
    embedder.encode(["warm up the model"])
    n = 8000                                      # Chroma takes about 1 ms per vector: seconds
    entries = [IndexEntry(f"m{i}", "fact", "global", "active", None) for i in range(n)]
    vectors = np.random.default_rng(0).random((n, 384), np.float32)
    write_done: list[float] = []
    writer = threading.Thread(target=lambda: (index.upsert(entries, vectors),
                                              write_done.append(time.monotonic())))
    writer.start()
    time.sleep(0.3)
    got = embedder.encode(["encoded while Chroma writes"])
    encoded_at = time.monotonic()
    writer.join(120)
    assert got.shape == (1, 384)
    assert write_done and encoded_at < write_done[0]     # the encode did not queue behind it
    assert index.count() == n


def test_the_new_proxy_calls_answer_as_in_process(worker, embedder) -> None:
    index, proxy = VectorIndexProxy(worker), EmbedderProxy(worker)
    assert proxy.runtime == embedder.runtime and proxy.vector_family == "fp32"
    assert index.collection_name == "lanes"
    assert proxy.token_counts(["ok", "a b c"]) == embedder.token_counts(["ok", "a b c"])
    assert proxy.describe()["runtime"] == embedder.runtime
    vec = embedder.encode(["the tile museum"])
    index.upsert([IndexEntry("t1", "fact", "global", "active", None, content_hash="h1",
                             runtime="onnx")], vec)
    np.testing.assert_allclose(index.get_embeddings(["t1", "absent"])["t1"], vec[0], atol=1e-6)
    assert set(index.find_by_hash(["h1", "nope"])) == {"h1"}
    assert index.get_embeddings([]) == {} and index.find_by_hash([]) == {}


def test_the_app_configuration_syncs_a_conversation_through_the_child(tmp_path) -> None:
    from core.base.paths import DataLayout
    from core.memory.episodic import remember_messages
    from core.services.engine import Engram

    eng = Engram(DataLayout.single(tmp_path / "home"), index_process=True)
    try:
        conv = eng.conversations.create("through the worker")
        msgs = [eng.conversations.add_message(conv.id, role, text) for role, text in [
            ("user", "Where should I store the spare key?"),
            ("assistant", "Under the blue flower pot by the back door."),
            ("user", "And the bike lock code?"), ("assistant", "It is 7319.")]]
        remember_messages(eng.memories, msgs, actor="user")
        report = eng.index_sync.sync()
        assert report.embedded == eng.memories.count() and report.derived >= 1
        assert eng.index_sync.pending_count() == 0
        hits = [h for h, _ in eng.index.query(eng.embedder.encode_one(
            "the key is under the flower pot"), 3)]
        assert any("flower pot" in eng.memories.get(h).text for h in hits)
        meta = eng.index.get_metadata(hits)
        assert {m["runtime"] for m in meta.values()} <= {"derived", eng.embedder.runtime}
    finally:
        eng.close()
