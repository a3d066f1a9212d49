from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def one_layer_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer model: its cached K/V depend only on each token and its position, so an
    evicted-and-shifted cache must equal a fresh one fed the kept tokens."""
    from app.benchmarks.synthetic_gguf import write_tiny_gguf

    return write_tiny_gguf(tmp_path_factory.mktemp("models1") / "one-layer.gguf", n_layers=1)


@pytest.fixture
def session_factory(tiny_gguf):
    """In-process LlamaSession (what the worker runs), closed after the test."""
    from core.runtime.kv_config import RuntimeConfig, resolve_config
    from core.runtime.llama_session import LlamaSession

    made = []

    def make(path=None, should_stop=None, **kw):
        cfg = resolve_config(RuntimeConfig(str(path or tiny_gguf), **kw))
        s = LlamaSession(cfg, should_stop)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture(scope="session")
def starter_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real starter model (Gemma 3 270M, 253 MB), assembled from its package once."""
    from core.base.errors import EngramError
    from core.runtime.starter_model import ensure_starter_model

    try:
        return ensure_starter_model(tmp_path_factory.mktemp("starter"))
    except EngramError as exc:
        pytest.skip(str(exc))
