"""Reading a GGUF header with the `gguf` package before llama.cpp ever sees the file.

llama.cpp may abort the whole process on a malformed file; this check runs in the app's process,
costs milliseconds (the tensor data is memory-mapped, not read) and turns every problem into a
`ModelFileError` with a sentence a person can act on.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.runtime.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)


@dataclass(frozen=True)
class GGUFInfo:
    path: str
    size_bytes: int
    architecture: str
    name: str
    parameter_count: int
    quantization: str          # e.g. Q4_K_M (from general.file_type) or the dominant tensor type
    context_length: int        # trained context
    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    vocab_size: int
    chat_template: str | None
    sliding_window: int        # 0 when every layer attends to the whole context

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def kv_bytes_per_token(self, type_k: str = "f16", type_v: str = "f16") -> float:
        """The KV cache formula: layers x kv_heads x head_dim x (bytes/elem of K + of V)."""
        from core.runtime.kv_config import bytes_per_element

        per = self.n_layers * self.n_head_kv * self.head_dim
        return per * (bytes_per_element(type_k) + bytes_per_element(type_v))

    def describe(self) -> str:
        params = self.parameter_count
        size = f"{params / 1e9:.2f}B" if params >= 1e9 else f"{params / 1e6:.0f}M"
        return (f"{self.name or Path(self.path).name}: {self.architecture}, {size} parameters, "
                f"{self.quantization}, trained context {self.context_length}, "
                f"{self.size_bytes / 1e6:.0f} MB")


def _field(reader, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return default
    try:
        value = f.contents()
    except Exception:  # noqa: BLE001 (an odd type: treat as missing)
        return default
    return value


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, list):       # per-layer arrays (e.g. head_count_kv): take the max
        value = max(value) if value else default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def read_gguf_info(path: Path | str) -> GGUFInfo:
    """Read and check a GGUF header. Raises ModelFileError for anything llama.cpp should not see."""
    import gguf

    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"Model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"Not a file: {path}")
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise ModelFileError(f"{path.name} is not a GGUF model file (wrong magic bytes).")
    version = int.from_bytes(head[4:8], "little")
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(f"{path.name} is GGUF version {version}; supported: 2 and 3.")
    try:
        reader = gguf.GGUFReader(str(path), "r")
    except Exception as exc:  # struct/ValueError/IndexError on a damaged header
        raise ModelFileError(f"{path.name} is corrupt or truncated: cannot read its header "
                             f"({type(exc).__name__}).") from exc
    tensors = list(reader.tensors)
    if not tensors:
        raise ModelFileError(f"{path.name} holds no tensors.")
    end = max(t.data_offset + int(t.n_bytes) for t in tensors)
    if end > size:
        raise ModelFileError(f"{path.name} is truncated: {size} bytes on disk, "
                             f"its tensors need {end}.")
    arch = str(_field(reader, "general.architecture", "") or "")
    if not arch:
        raise ModelFileError(f"{path.name} does not say its architecture.")
    known = set(gguf.MODEL_ARCH_NAMES.values())
    if arch not in known or arch == "clip":
        raise ModelFileError(f"{path.name}: architecture '{arch}' is not supported by this "
                             f"llama.cpp build.")

    def a(key: str, default: Any = 0) -> Any:
        return _field(reader, f"{arch}.{key}", default)

    n_embd = _int(a("embedding_length"))
    n_head = _int(a("attention.head_count"))
    n_head_kv = _int(a("attention.head_count_kv"), n_head) or n_head
    head_dim = _int(a("attention.key_length"), 0) or (n_embd // n_head if n_head else 0)
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    vocab = _int(a("vocab_size"), 0) or (len(tokens.data) if tokens is not None else 0)
    return GGUFInfo(
        path=str(path), size_bytes=size, architecture=arch,
        name=str(_field(reader, "general.name", "") or ""),
        parameter_count=sum(int(t.n_elements) for t in tensors),
        quantization=_quantization(reader, tensors),
        context_length=_int(a("context_length")), n_layers=_int(a("block_count")),
        n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, head_dim=head_dim,
        vocab_size=vocab, chat_template=_field(reader, "tokenizer.chat_template") or None,
        sliding_window=_int(a("attention.sliding_window"), 0),
    )


def _quantization(reader, tensors) -> str:
    import gguf

    ftype = _field(reader, "general.file_type")
    if ftype is not None:
        try:
            return gguf.LlamaFileType(int(ftype)).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    counts = Counter(t.tensor_type.name for t in tensors if len(t.shape) > 1)
    return counts.most_common(1)[0][0] if counts else "unknown"


def file_fingerprint(path: Path | str) -> str:
    """A fast identity for a model file: sha256 of its size, first and last MiB.

    Hashing a multi-GB file on every start would take seconds; the header and tail change with
    any re-quantization or different model, and the size catches the rest."""
    import hashlib

    path = Path(path)
    st = path.stat()
    h = hashlib.sha256(f"{st.st_size}".encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > (2 << 20):
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read(1 << 20))
    return h.hexdigest()[:32]
