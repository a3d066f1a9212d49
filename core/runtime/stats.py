"""Live runtime figures the UI shows (a plain snapshot, safe to read from any thread)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RuntimeStats:
    model: str = ""
    backend: str = "local"         # local / remote
    loaded: bool = False
    n_ctx: int = 0
    context_used: int = 0          # tokens in the KV cache now
    kv_bytes: int = 0              # bytes of K/V for the cached tokens (formula from the header)
    kv_bytes_capacity: int = 0     # bytes of K/V for a full context
    type_k: str = ""
    type_v: str = ""
    flash_attn: bool = False
    overflow_policy: str = ""
    tokens_evicted: int = 0        # in the current conversation's cache
    evictions: int = 0
    tokens_per_second: float = 0.0  # decode speed of the last reply
    gpu_offload_supported: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
