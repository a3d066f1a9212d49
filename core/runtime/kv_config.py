"""KV cache settings: element types, the bytes formula, and the combinations that are safe.

Facts about this llama.cpp build (llama-cpp-python 0.3.36), measured (see MACHINE_NOTES):
- a quantized V cache needs flash attention, so choosing q8_0/q4_0 for V turns it on;
- shifting a quantized K cache segfaults at the next decode although llama.cpp says it can
  shift. The runtime therefore never shifts a quantized K cache: eviction re-processes the kept
  tokens instead (`evict_by_shift` is False).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.runtime.errors import ModelLoadError

# ggml type ids (ggml.h), so that the app's process need not import llama_cpp.
GGML_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 8}
# bytes per element: q8_0 packs 32 values in 34 bytes, q4_0 32 values in 18 bytes.
BYTES_PER_ELEMENT = {"f32": 4.0, "f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
CACHE_TYPES = ("f16", "q8_0", "q4_0")
POLICIES = ("streaming", "sirllm")
AUTO_GPU_LAYERS = -2               # n_gpu_layers: fit as many layers as free VRAM allows


def shift_is_safe(type_k: str, head_dim: int) -> bool:
    """Whether removing cells and shifting positions in place is safe for this K cache."""
    if type_k in ("f16", "f32"):
        return True
    return head_dim > 0 and head_dim % 64 == 0


def kv_bytes_per_token(n_layers: int, n_head_kv: int, head_dim: int, type_k: str,
                       type_v: str) -> float:
    """The KV cache formula: layers x kv_heads x head_dim x (bytes/elem of K + of V)."""
    return n_layers * n_head_kv * head_dim * (bytes_per_element(type_k)
                                              + bytes_per_element(type_v))


def bytes_per_element(type_name: str) -> float:
    try:
        return BYTES_PER_ELEMENT[type_name]
    except KeyError:
        raise ModelLoadError(f"Unknown KV cache type '{type_name}'; "
                             f"choose one of {', '.join(CACHE_TYPES)}.") from None


@dataclass
class RuntimeConfig:
    """Everything the worker needs to load a model. Plain data: it crosses the process pipe."""

    model_path: str
    n_ctx: int = 4096
    n_gpu_layers: int = 0          # -1 = all, AUTO_GPU_LAYERS = fit free VRAM
    n_threads: int = 0             # 0 = automatic
    n_batch: int = 512
    type_k: str = "f16"
    type_v: str = "f16"
    flash_attn: bool = False
    overflow_policy: str = "streaming"
    sink_tokens: int = 4
    sirllm_decay: float = 0.9
    recent_fraction: float = 0.25  # of the kept budget, the most recent tokens always kept
    evict_fraction: float = 0.25   # of n_ctx freed at each eviction (amortizes the cost)
    prefill_chunk: int = 64        # tokens per decode while processing a prompt (stop checks)
    seed: int = 0
    memory_limit_mb: int = 0       # cap on what loading and running the model may add (0 = none)
    head_dim: int = 0              # from the GGUF header; 0 = not known yet (no in-place shift)
    reprocess_on_overflow: bool = False   # never shift, always re-process (for comparisons)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def evict_by_shift(self) -> bool:
        """Evict in place (remove cells + shift positions) where that is safe, else re-process."""
        return not self.reprocess_on_overflow and shift_is_safe(self.type_k, self.head_dim)

    def settings_key(self) -> dict[str, Any]:
        """What a saved KV state depends on besides the model file."""
        return {"n_ctx": self.n_ctx, "type_k": self.type_k, "type_v": self.type_v,
                "flash_attn": self.flash_attn, "policy": self.overflow_policy,
                "sink": self.sink_tokens}


def resolve_config(cfg: RuntimeConfig) -> RuntimeConfig:
    """Check the KV settings and apply the rules above; explanations go to `cfg.notes`."""
    for t in (cfg.type_k, cfg.type_v):
        if t not in CACHE_TYPES and t != "f32":
            bytes_per_element(t)
    if cfg.overflow_policy not in POLICIES:
        raise ModelLoadError(f"Unknown overflow policy '{cfg.overflow_policy}'; "
                             f"choose streaming or sirllm.")
    if cfg.n_ctx < 64:
        raise ModelLoadError(f"Context size {cfg.n_ctx} is too small (at least 64 tokens).")
    notes = list(cfg.notes)
    if cfg.type_v not in ("f16", "f32") and not cfg.flash_attn:
        cfg.flash_attn = True
        notes.append(f"flash attention turned on: a {cfg.type_v} V cache requires it")
    note = overflow_note(cfg)
    if note and note not in notes:
        notes.append(note)
    cfg.notes = notes
    return cfg


def overflow_note(cfg: RuntimeConfig) -> str:
    """One sentence on what happens when the context overflows with this cache, or ""."""
    if cfg.evict_by_shift or cfg.reprocess_on_overflow:
        return ""
    if cfg.head_dim <= 0:
        return ""          # said once the model's head size is known (at load)
    return (f"a {cfg.type_k} K cache with head size {cfg.head_dim} cannot be shifted safely in "
            f"this llama.cpp build (only multiples of 64 can): on overflow the kept tokens are "
            f"re-processed")


def gpu_layers(value: str | int) -> int:
    """Settings say "auto", "all", "none" or a number; llama.cpp wants -1, 0 or the number
    (AUTO_GPU_LAYERS is resolved from free VRAM when the model loads)."""
    if isinstance(value, int):
        return value
    v = str(value).strip().lower()
    if v == "auto":
        return AUTO_GPU_LAYERS
    if v in ("all", "-1"):
        return -1
    if v in ("none", "", "0"):
        return 0
    try:
        return max(0, int(v))
    except ValueError:
        raise ModelLoadError(f"GPU layers must be 'auto', 'all', 'none' or a number, not "
                             f"'{value}'.") from None


def config_from_settings(model_path: str, ms) -> RuntimeConfig:
    """Build a RuntimeConfig from core.base.settings.ModelSettings."""
    return resolve_config(RuntimeConfig(
        model_path=model_path, n_ctx=ms.n_ctx, n_gpu_layers=gpu_layers(ms.n_gpu_layers),
        n_threads=ms.n_threads, type_k=ms.type_k, type_v=ms.type_v,
        overflow_policy=ms.overflow_policy, sink_tokens=ms.sink_tokens,
        sirllm_decay=ms.sirllm_decay, memory_limit_mb=ms.memory_limit_mb))
