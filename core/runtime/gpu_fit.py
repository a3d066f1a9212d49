"""How many layers to offload to the GPU so that the model fits in its free memory.

Each offloaded layer brings its share of the weights and its share of the KV cache at the
chosen context and cache types (the same formula the runtime reports); llama.cpp also needs
room on the GPU for its compute buffers and the driver's context, which `GPU_RESERVE_BYTES`
and a small fraction of the free memory keep back. "auto" in Settings means this; a number
there is used as given.
"""
from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20
GPU_RESERVE_BYTES = 512 * MIB       # compute buffers + driver context, kept free
GPU_RESERVE_FRACTION = 0.05         # and 5% of what is free, for fragmentation


@dataclass(frozen=True)
class GpuPlan:
    n_gpu_layers: int     # llama.cpp's value: -1 = every layer and the output layer
    layers_on_gpu: int    # of n_layers
    n_layers: int
    reason: str


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def fit_gpu_layers(*, n_layers: int, weights_bytes: int, kv_bytes_per_token: float,
                   n_ctx: int, free_vram: int) -> GpuPlan:
    """The most layers whose weights and KV cache fit in `free_vram`, with the reserve kept.

    Weights are split evenly over the layers plus one share for the output layer (which
    llama.cpp offloads only when every layer is on the GPU)."""
    if n_layers <= 0:
        return GpuPlan(0, 0, n_layers, "the model's layer count is unknown: nothing offloaded")
    usable = free_vram - GPU_RESERVE_BYTES - int(free_vram * GPU_RESERVE_FRACTION)
    weight_share = weights_bytes / (n_layers + 1)
    per_layer = weight_share + kv_bytes_per_token * n_ctx / n_layers
    whole = weights_bytes + kv_bytes_per_token * n_ctx
    if usable >= whole:
        return GpuPlan(-1, n_layers, n_layers,
                       f"all {n_layers} layers on the GPU: the model needs {_gb(whole)} "
                       f"(weights + KV cache at {n_ctx:,} tokens), {_gb(free_vram)} is free")
    layers = max(0, min(n_layers, int(usable // per_layer))) if usable > 0 else 0
    if layers == 0:
        return GpuPlan(0, 0, n_layers,
                       f"no layers on the GPU: {_gb(free_vram)} free, one layer needs "
                       f"{_gb(per_layer)} plus {_gb(GPU_RESERVE_BYTES)} kept for llama.cpp")
    return GpuPlan(layers, layers, n_layers,
                   f"{layers} of {n_layers} layers on the GPU ({_gb(layers * per_layer)} of "
                   f"{_gb(free_vram)} free); the rest runs on the CPU")


def plan_for_model(model_path: str, *, n_ctx: int, type_k: str, type_v: str,
                   free_vram: int) -> GpuPlan:
    """`fit_gpu_layers` for a GGUF file (its header gives layers, heads and size)."""
    from core.runtime.gguf_info import read_gguf_info

    info = read_gguf_info(model_path)
    return fit_gpu_layers(n_layers=info.n_layers, weights_bytes=info.size_bytes,
                          kv_bytes_per_token=info.kv_bytes_per_token(type_k, type_v),
                          n_ctx=n_ctx, free_vram=free_vram)
