"""GPU layer fitting from free VRAM, with given VRAM figures (no GPU on this machine)."""
from __future__ import annotations

import pytest

from core.runtime.gpu_fit import GPU_RESERVE_BYTES, GPU_RESERVE_FRACTION, fit_gpu_layers
from core.runtime.kv_config import AUTO_GPU_LAYERS, gpu_layers, kv_bytes_per_token

GB = 10**9
# Llama 3.1 8B Q4_K_M (catalogue figures): 4.92 GB, 32 layers, 8 KV heads of 128
LLAMA8B = {"n_layers": 32, "weights_bytes": int(4.92 * GB),
           "kv_bytes_per_token": kv_bytes_per_token(32, 8, 128, "q8_0", "q8_0")}


def _used(plan, spec, n_ctx) -> float:
    per_layer = spec["weights_bytes"] / (spec["n_layers"] + 1) + \
        spec["kv_bytes_per_token"] * n_ctx / spec["n_layers"]
    return plan.layers_on_gpu * per_layer


def test_everything_fits_on_a_big_gpu():
    plan = fit_gpu_layers(**LLAMA8B, n_ctx=4096, free_vram=24 * GB)
    assert plan.n_gpu_layers == -1 and plan.layers_on_gpu == 32
    assert "all 32 layers" in plan.reason and "24.0 GB" in plan.reason


def test_a_small_gpu_gets_part_of_the_layers():
    plan = fit_gpu_layers(**LLAMA8B, n_ctx=4096, free_vram=4 * GB)
    assert 0 < plan.n_gpu_layers < 32
    usable = 4 * GB - GPU_RESERVE_BYTES - 4 * GB * GPU_RESERVE_FRACTION
    assert _used(plan, LLAMA8B, 4096) <= usable                    # never over the budget
    one_more = plan.layers_on_gpu + 1
    assert _used(plan, LLAMA8B, 4096) / plan.layers_on_gpu * one_more > usable  # and maximal
    assert f"{plan.n_gpu_layers} of 32 layers" in plan.reason


def test_a_longer_context_or_bigger_cache_leaves_fewer_layers():
    short = fit_gpu_layers(**LLAMA8B, n_ctx=4096, free_vram=4 * GB)
    long = fit_gpu_layers(**LLAMA8B, n_ctx=32768, free_vram=4 * GB)
    f16 = fit_gpu_layers(**{**LLAMA8B, "kv_bytes_per_token": kv_bytes_per_token(
        32, 8, 128, "f16", "f16")}, n_ctx=32768, free_vram=4 * GB)
    assert long.layers_on_gpu < short.layers_on_gpu and f16.layers_on_gpu < long.layers_on_gpu


def test_too_little_vram_offloads_nothing_and_says_why():
    plan = fit_gpu_layers(**LLAMA8B, n_ctx=4096, free_vram=600 * 2**20)
    assert plan.n_gpu_layers == 0 and "no layers on the GPU" in plan.reason


@pytest.mark.parametrize("free_gb", [1, 2, 3, 4, 5, 6, 8])
def test_more_vram_never_means_fewer_layers(free_gb):
    a = fit_gpu_layers(**LLAMA8B, n_ctx=8192, free_vram=free_gb * GB)
    b = fit_gpu_layers(**LLAMA8B, n_ctx=8192, free_vram=(free_gb + 1) * GB)
    assert b.layers_on_gpu >= a.layers_on_gpu


def test_settings_values_map_to_llama_cpp():
    assert gpu_layers("auto") == AUTO_GPU_LAYERS
    assert gpu_layers("all") == -1 and gpu_layers("none") == 0 and gpu_layers("12") == 12


def test_auto_on_a_cpu_build_offloads_nothing(session_factory):
    s = session_factory(n_ctx=256, n_gpu_layers=AUTO_GPU_LAYERS)
    assert s.cfg.n_gpu_layers == 0
