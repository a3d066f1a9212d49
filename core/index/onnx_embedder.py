"""all-MiniLM-L6-v2 in ONNX Runtime: the same vectors as sentence-transformers, faster.

The bundled model ships as safetensors for torch. On first use (or at set-up:
`python -m core.index.onnx_embedder`) it is exported once, locally, with `torch.onnx.export` through a
small wrapper (input_ids, attention_mask and token_type_ids passed as keywords; the graph ends
at the last hidden state), and the export is checked against the torch vectors on probe texts:
fp32 must reach a cosine of 0.9999 with every torch vector or it is not used. A dynamic int8
quantisation of the MatMul weights (per channel) is written beside it for the `onnx-int8`
runtime. Mean pooling and L2 normalisation (the model's Pooling and Normalize modules) run in
numpy after the graph; tokenisation uses the model's own `tokenizer.json` (the `tokenizers`
library), so the ONNX path imports neither torch nor transformers once the export exists.

The export lives in a machine-wide cache (it depends on the model files only, not on a data
folder), keyed by the model files and the export format, written to a temp folder and renamed
into place under a file lock, so that two processes never see half an export.

`optimum` (the usual exporter) is not used: it pulls transformers < 5, which breaks
sentence-transformers 6.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1              # bump when the exported graph or the check changes
FP32_MIN_COSINE = 0.9999       # an fp32 export must reproduce every torch vector to this
INT8_MIN_COSINE = 0.95         # catches a broken quantisation; recall is measured separately
MAX_TOKENS = 256               # the model's max_seq_length (sentence_bert_config.json)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Probe texts for the check: short and long (past the 256-token window), other scripts, digits.
PROBES = [
    "ok", "Thanks!", "I adopted a grey cat named Miso last spring.",
    "User: can you help me plan a trip to Lisbon in May? I want to see the tiles museum.",
    "Assistant: Sure. " + "Here is a day-by-day plan with trams, food and museums. " * 40,
    "Der Zug nach München fährt um 7:45 Uhr ab, Gleis 12.",
    "東京で一番おいしいラーメン屋はどこですか？", "print(sum(x * x for x in range(10)))",
    "My address changed: 14 Rue des Lilas, 69003 Lyon. The old one is no longer valid.",
    "\n".join(f"Speaker {i}: message number {i} about gardening and tomatoes" for i in range(12)),
]


class OnnxUnavailable(RuntimeError):
    """The ONNX path cannot be used here (no onnxruntime, failed export or check)."""


def default_cache_dir() -> Path:
    """Machine-wide: $ENGRAM_EMBEDDING_CACHE, else the platform's user cache folder."""
    env = os.environ.get("ENGRAM_EMBEDDING_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("engram", appauthor=False)) / "embedding-models"


def model_key(model_dir: Path) -> str:
    """Identifies the model files cheaply (no 90 MB hash on every start)."""
    h = hashlib.sha256(f"format {EXPORT_FORMAT}".encode())
    for name in ("config.json", "tokenizer.json", "model.safetensors", "pytorch_model.bin"):
        f = model_dir / name
        if f.exists():
            st = f.stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
            if st.st_size < 4 << 20:
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Export:
    folder: Path
    meta: dict[str, Any]

    def model_path(self, precision: str) -> Path:
        return self.folder / ("model-int8.onnx" if precision == "int8" else "model.onnx")


def export_folder(model_dir: Path, cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / f"{model_dir.name}-{model_key(model_dir)}"


def find_export(model_dir: Path, cache_dir: Path | None = None) -> Export | None:
    folder = export_folder(model_dir, cache_dir)
    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("format") != EXPORT_FORMAT or not (folder / "model.onnx").exists():
        return None
    return Export(folder, meta)


def ensure_export(model_dir: Path, cache_dir: Path | None = None) -> Export:
    """The checked export of `model_dir`, made now if the cache has none (seconds, once)."""
    found = find_export(model_dir, cache_dir)
    if found is not None:
        return found
    folder = export_folder(model_dir, cache_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder.parent / ".export.lock"):   # another process may be exporting it
        found = find_export(model_dir, cache_dir)
        if found is not None:
            return found
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:
            meta = _export_and_check(model_dir, tmp)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return Export(folder, meta)


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """An inter-process lock (POSIX flock; elsewhere none: the rename keeps exports whole)."""
    with open(lock_path, "w") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_and_check(model_dir: Path, out: Path) -> dict[str, Any]:
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it
        import onnxruntime
    except ImportError as exc:
        raise OnnxUnavailable(f"ONNX export needs onnx and onnxruntime ({exc})") from exc
    from core.index.embedder import offline_environment

    offline_environment()
    import torch
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    st = SentenceTransformer(str(model_dir), device="cpu")
    transformer = st[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(transformer), (), str(out / "model.onnx"),
            kwargs={"input_ids": sample, "attention_mask": sample,
                    "token_type_ids": torch.zeros_like(sample)},
            input_names=list(INPUTS), output_names=["last_hidden_state"],
            dynamic_axes=axes, opset_version=17, dynamo=False)
    export_s = time.perf_counter() - start
    reference = st.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True)
    tokenizer_path = model_dir / "tokenizer.json"
    shutil.copyfile(tokenizer_path, out / "tokenizer.json")
    fp32 = OnnxEncoder(out / "model.onnx", out / "tokenizer.json", threads=1)
    fp32_cos = float(np.min(np.sum(fp32.encode(PROBES) * reference, axis=1)))
    if fp32_cos < FP32_MIN_COSINE:
        raise OnnxUnavailable(f"the ONNX export differs from torch (cosine {fp32_cos:.5f})")
    int8_cos = _quantize(out, reference)
    meta = {"format": EXPORT_FORMAT, "model": model_dir.name, "model_key": model_key(model_dir),
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
            "fp32_min_cosine": round(fp32_cos, 6), "int8_min_cosine": int8_cos,
            "export_seconds": round(export_s, 1), "exported_at": time.time()}
    (out / "meta.json").write_text(json.dumps(meta, indent=1), "utf-8")
    log.info("exported %s to ONNX (fp32 cosine %.6f, int8 %s)", model_dir.name, fp32_cos, int8_cos)
    return meta


def _quantize(out: Path, reference: np.ndarray) -> float | None:
    """Dynamic int8 of the MatMul weights, per channel (quantising everything, embeddings
    included, gave cosines down to 0.87 here; MatMul per channel about 0.985)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        was_disabled, root.disabled = root.disabled, True     # its advice goes to the root log
        try:
            quantize_dynamic(str(out / "model.onnx"), str(out / "model-int8.onnx"),
                             weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        finally:
            root.disabled = was_disabled
        int8 = OnnxEncoder(out / "model-int8.onnx", out / "tokenizer.json", threads=1)
        cos = float(np.min(np.sum(int8.encode(PROBES) * reference, axis=1)))
    except Exception as exc:  # noqa: BLE001 - int8 is optional; fp32 still works
        log.warning("int8 quantisation failed: %s", exc)
        (out / "model-int8.onnx").unlink(missing_ok=True)
        return None
    if cos < INT8_MIN_COSINE:
        (out / "model-int8.onnx").unlink(missing_ok=True)
        return None
    return round(cos, 6)


def cores_given() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """Tokenise, run the graph, mean-pool, normalise. `encode` is thread-safe (ONNX Runtime
    sessions are); batches are padded to their own longest text only."""

    def __init__(self, model_path: Path, tokenizer_path: Path, *, threads: int = 0,
                 batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()              # tokenizer.json pads everything to 128
        self.tokenizer.enable_truncation(MAX_TOKENS)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or cores_given()
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), opts,
                                            providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[-1] or 384)

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dimension), np.float32)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out[chosen] = self._run([encodings[i].ids for i in chosen])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), np.int64)
        mask = np.zeros((len(batch), width), np.int64)
        for row, tokens in enumerate(batch):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        summed = np.einsum("btd,bt->bd", hidden, mask.astype(np.float32))
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def main() -> int:
    """Set-up step: export the bundled model now so that the first start does not wait."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from core.index.embedder import bundled_model_path

    exp = ensure_export(bundled_model_path())
    print(f"ONNX export ready in {exp.folder} (fp32 cosine {exp.meta['fp32_min_cosine']}, "
          f"int8 cosine {exp.meta.get('int8_min_cosine')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
