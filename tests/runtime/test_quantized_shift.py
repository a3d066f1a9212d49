"""In-place eviction with a quantized K cache (the default q8_0/q8_0), and where it is unsafe.

Measured with llama-cpp-python 0.3.36 on this machine: shifting a q8_0/q4_0 K cache works when
the head size is a multiple of 64 and segfaults at the next decode when it is an odd multiple
of 32, with or without flash attention. The runtime shifts where it is safe and re-processes
the kept tokens elsewhere."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app.benchmarks.kv_quality import eviction_logit_error
from app.benchmarks.synthetic_gguf import ModelShape, write_gguf
from core.runtime.kv_config import RuntimeConfig, resolve_config, shift_is_safe


def _shape(n_layers: int, head_dim: int) -> ModelShape:
    return ModelShape(n_layers=n_layers, n_embd=2 * head_dim, n_head=2, n_head_kv=2, n_ff=128,
                      n_vocab=512)


@pytest.fixture(scope="module")
def hd64_one_layer(tmp_path_factory) -> Path:
    """One layer, head size 64: K/V of a token depend only on the token and its position."""
    return write_gguf(tmp_path_factory.mktemp("hd64") / "one-layer-hd64.gguf", _shape(1, 64))


@pytest.fixture(scope="module")
def hd64_two_layers(tmp_path_factory) -> Path:
    return write_gguf(tmp_path_factory.mktemp("hd64b") / "two-layer-hd64.gguf", _shape(2, 64))


def _pos_max(session) -> int:
    lc = session._lc
    return int(lc.llama_memory_seq_pos_max(lc.llama_get_memory(session.ctx.ctx), 0))


def test_shift_rule_follows_the_measured_head_sizes():
    assert shift_is_safe("f16", 32) and shift_is_safe("f32", 96)
    for hd in (64, 128, 192, 256):
        assert shift_is_safe("q8_0", hd) and shift_is_safe("q4_0", hd)
    for hd in (0, 32, 96, 160, 224):
        assert not shift_is_safe("q8_0", hd) and not shift_is_safe("q4_0", hd)
    cfg = resolve_config(RuntimeConfig("m.gguf", type_k="q8_0", type_v="q8_0", head_dim=96))
    assert not cfg.evict_by_shift
    assert any("head size 96" in n and "re-processed" in n for n in cfg.notes)
    forced = resolve_config(RuntimeConfig("m.gguf", type_k="q8_0", type_v="q8_0", head_dim=64,
                                          reprocess_on_overflow=True))
    assert not forced.evict_by_shift


@pytest.mark.parametrize("cache_type,bound", [("q8_0", 0.05), ("q4_0", 0.5)])
def test_quantized_k_shift_matches_a_fresh_context(hd64_one_layer, cache_type, bound):
    """Logits after removing cells and shifting a quantized K cache vs a fresh context fed the
    kept tokens with the same cache types: equal up to the re-quantization of the shifted K,
    and far from what a broken shift gives (logits of a different context)."""
    toks = [1] + np.random.default_rng(0).integers(5, 500, 400).tolist()
    err = eviction_logit_error(str(hd64_one_layer), toks, 120, "streaming", cache_type,
                               flash_attn=True)
    assert err < bound
    f16_err = eviction_logit_error(str(hd64_one_layer), toks, 120, "streaming", "f16")
    assert f16_err < 0.01
    other = [1] + np.random.default_rng(9).integers(5, 500, 400).tolist()
    wrong = eviction_logit_error_against(str(hd64_one_layer), toks, other, cache_type)
    assert wrong > 10 * err           # the check can fail: a wrong cache is far off


def eviction_logit_error_against(model: str, toks: list[int], other: list[int],
                                 cache_type: str) -> float:
    """Max |logit difference| between two contexts fed different tokens (the scale of a
    wrong answer)."""
    from app.benchmarks.kv_quality import session

    a = session(model, n_ctx=512, type_k=cache_type, type_v=cache_type)
    b = session(model, n_ctx=512, type_k=cache_type, type_v=cache_type)
    try:
        a.feed(toks[:121])
        b.feed(other[:121])
        return float(np.max(np.abs(a.last_logits() - b.last_logits())))
    finally:
        a.close()
        b.close()


def test_default_cache_generates_past_the_context_in_place(session_factory, hd64_two_layers):
    s = session_factory(hd64_two_layers, n_ctx=128, type_k="q8_0", type_v="q8_0", n_batch=64)
    assert s.cfg.flash_attn and s.cfg.head_dim == 64 and s.cfg.evict_by_shift
    _text, stats = s.generate(s.tokenize("hello garden"), {"max_tokens": 300, "seed": 2,
                                                         "ignore_eos": True})
    assert stats["completion_tokens"] == 300
    assert s.evictions > 0 and s.evicted_total > 0
    assert s.reprocessed_tokens == 0                 # evicted in place, nothing decoded again
    assert _pos_max(s) == len(s.tokens) - 1 <= s.n_ctx - 1


def test_forced_reprocessing_decodes_the_kept_tokens(session_factory, hd64_two_layers):
    s = session_factory(hd64_two_layers, n_ctx=128, type_k="q8_0", type_v="q8_0", n_batch=64,
                        reprocess_on_overflow=True)
    s.generate(s.tokenize("hello garden"), {"max_tokens": 300, "seed": 2, "ignore_eos": True})
    assert s.evictions > 0 and s.reprocessed_tokens > 0
    assert _pos_max(s) == len(s.tokens) - 1


def test_unsafe_head_size_reprocesses_instead_of_crashing(session_factory):
    """The tiny model has head size 32: a q8_0 K cache is re-processed, generation goes on."""
    s = session_factory(n_ctx=128, type_k="q8_0", type_v="q8_0", n_batch=64)
    assert s.cfg.head_dim == 32 and not s.cfg.evict_by_shift
    assert any("head size 32" in n for n in s.cfg.notes)
    _text, stats = s.generate(s.tokenize("hello"), {"max_tokens": 300, "seed": 1,
                                                  "ignore_eos": True})
    assert stats["completion_tokens"] == 300 and s.reprocessed_tokens > 0


def test_the_unsafe_shift_really_crashes_this_build(tmp_path, tiny_gguf):
    """Why the rule exists: shifting a q8_0 K cache with head size 32 kills the process
    (SIGSEGV) in llama-cpp-python 0.3.36. Run in a child process; if a newer build stops
    crashing, the rule may be relaxed."""
    import llama_cpp

    if llama_cpp.__version__ != "0.3.36":
        pytest.skip(f"measured on 0.3.36, this is {llama_cpp.__version__}")
    code = textwrap.dedent(f"""
        from core.runtime.kv_config import RuntimeConfig, resolve_config
        from core.runtime.llama_session import LlamaSession
        s = LlamaSession(resolve_config(RuntimeConfig({str(tiny_gguf)!r}, n_ctx=256,
                                                      type_k="q8_0", type_v="q8_0")))
        s.feed([1] + list(range(10, 200)))
        s.ctx.kv_cache_seq_rm(0, 4, 100)
        s.ctx.kv_cache_seq_shift(0, 100, -1, -96)
        s.tokens = s.tokens[:4] + s.tokens[100:]
        s.feed([42])
        print("survived")
    """)
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert proc.returncode == -11 and "survived" not in proc.stdout
