"""One contract for the vector index, run against the embedded client and a real server, in
this process and through the index worker process (the desktop app's configuration)."""
from __future__ import annotations

import numpy as np
import pytest

from core.index.proxies import VectorIndexProxy
from core.index.vector_index import IndexEntry, VectorIndex
from core.index.worker import IndexWorker, IndexWorkerSpec


@pytest.fixture(params=["embedded", "server", "worker-embedded", "worker-server"])
def index(request, tmp_path):
    collection = f"contract{abs(hash(request.node.name)) % 10**8}"
    if request.param == "embedded":
        yield VectorIndex.embedded(tmp_path / "chroma", "contract")
    elif request.param == "server":
        url = request.getfixturevalue("chroma_server")
        idx = VectorIndex.server(url, collection)
        yield idx
        idx.reset()
    else:
        url = request.getfixturevalue("chroma_server") if request.param == "worker-server" else ""
        worker = IndexWorker(IndexWorkerSpec(chroma_path=str(tmp_path / "chroma"),
                                             server_url=url, collection=collection))
        proxy = VectorIndexProxy(worker)
        yield proxy
        if url:
            proxy.reset()
        worker.close()


def _entry(i: str, status: str = "active", kind: str = "episodic") -> IndexEntry:
    return IndexEntry(i, kind, "global", status, None)


def test_upsert_query_returns_cosine_similarity_best_first(index, embedder) -> None:
    texts = ["I adopted a grey cat named Miso", "The stock market fell today",
             "My favourite food is ramen"]
    index.upsert([_entry(f"m{i}") for i in range(3)], embedder.encode(texts))
    hits = index.query(embedder.encode_one("What is my pet called?"), 3)
    assert hits[0][0] == "m0"
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0001 for s in scores)
    exact = index.query(embedder.encode_one(texts[2]), 1)
    assert exact[0][0] == "m2" and exact[0][1] == pytest.approx(1.0, abs=1e-3)


def test_metadata_filters_updates_and_deletes(index) -> None:
    vecs = np.eye(4, 8, dtype=np.float32)
    index.upsert([_entry("a"), _entry("b"), _entry("c", kind="thought"), _entry("d")], vecs)
    assert index.count() == 4
    thoughts = index.query(vecs[0], 4, where={"kind": "thought"})
    assert [i for i, _ in thoughts] == ["c"]
    index.update_metadata([_entry("a", status="forgotten"), _entry("zz")])
    active = {i for i, _ in index.query(vecs[0], 4, where={"status": "active"})}
    assert active == {"b", "c", "d"}
    index.delete(["b"])
    assert sorted(index.all_ids()) == ["a", "c", "d"]
    assert sorted(index.existing_ids(["a", "b", "x"])) == ["a"]
    assert index.get_metadata(["a"])["a"]["status"] == "forgotten"


def test_upsert_replaces_and_reset_empties(index) -> None:
    index.upsert([_entry("a")], np.ones((1, 8), dtype=np.float32))
    index.upsert([_entry("a", kind="fact")], np.ones((1, 8), dtype=np.float32))
    assert index.count() == 1
    assert index.get_metadata(["a"])["a"]["kind"] == "fact"
    index.reset()
    assert index.count() == 0
