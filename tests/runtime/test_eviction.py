"""KV-cache eviction in the real llama.cpp cache, with the Python bookkeeping consistent."""
from __future__ import annotations

import numpy as np
import pytest

from core.runtime.eviction import choose_kept, removal_runs, surprisal_rows


def _pos_max(session) -> int:
    lc = session._lc
    return int(lc.llama_memory_seq_pos_max(lc.llama_get_memory(session.ctx.ctx), 0))


def test_streaming_keeps_sinks_and_recent_window():
    kept = choose_kept(20, 8, policy="streaming", sink=2)
    assert kept.tolist() == [0, 1, 14, 15, 16, 17, 18, 19]


def test_sirllm_keeps_the_most_surprising_middle_tokens():
    scores = np.zeros(20)
    scores[[5, 9]] = [7.0, 9.0]
    kept = choose_kept(20, 8, policy="sirllm", sink=2, scores=scores, recent_fraction=0.25)
    assert kept.tolist() == [0, 1, 5, 9, 16, 17, 18, 19]
    assert removal_runs(kept, 20) == [(10, 16), (6, 9), (2, 5)]


def test_surprisal_is_negative_log_probability():
    logits = np.log(np.array([[0.5, 0.25, 0.25]]))
    assert surprisal_rows(logits, np.array([1]))[0] == pytest.approx(np.log(4))


@pytest.mark.parametrize("policy", ["streaming", "sirllm"])
def test_eviction_equals_fresh_context_on_one_layer(session_factory, one_layer_gguf, policy):
    """Remove cells + shift positions: the next logits must equal those of a fresh context fed
    exactly the kept tokens (a 1-layer model's K/V depend only on token and position)."""
    s = session_factory(one_layer_gguf, n_ctx=256, overflow_policy=policy, sink_tokens=4,
                        type_k="f32", type_v="f32")
    rng = np.random.default_rng(3)
    toks = [1] + rng.integers(5, 500, 120).tolist()
    s.feed(toks)
    s.evict(need=s.n_ctx - 100)       # keep 100 - slack (n_ctx / 4) tokens
    assert s.evictions == 1 and 0 < len(s.tokens) < len(toks)
    assert _pos_max(s) == len(s.tokens) - 1
    assert s.logical == sorted(s.logical) and s.tokens == [toks[i] for i in s.logical]
    s.feed([42])
    after = s.last_logits()
    fresh = session_factory(one_layer_gguf, n_ctx=256, type_k="f32", type_v="f32")
    fresh.feed(s.tokens[:-1] + [42])
    assert np.max(np.abs(after - fresh.last_logits())) < 1e-4


def test_sirllm_scores_decay_at_each_eviction(session_factory):
    s = session_factory(n_ctx=128, overflow_policy="sirllm", sink_tokens=2, sirllm_decay=0.9)
    s.feed([1] + list(range(10, 110)))
    before = dict(zip(s.logical, s.scores))
    assert any(v > 0 for v in before.values())
    s.evict(need=s.n_ctx - 60)
    assert s.evictions == 1
    for logical, score in zip(s.logical, s.scores):
        assert score == pytest.approx(before[logical] * 0.9)


@pytest.mark.parametrize("type_k,type_v", [("f16", "f16"), ("f16", "q4_0"), ("q8_0", "q8_0"),
                                           ("q4_0", "f16")])
def test_long_generation_overflows_without_crash(session_factory, type_k, type_v):
    """With a quantized K cache the runtime re-processes instead of shifting (shifting would
    segfault in this llama.cpp build); every combination keeps generating past n_ctx."""
    s = session_factory(n_ctx=128, type_k=type_k, type_v=type_v, n_batch=64)
    assert s.cfg.evict_by_shift == (type_k == "f16")
    if type_v != "f16":
        assert s.cfg.flash_attn and any("flash attention" in n for n in s.cfg.notes)
    _text, stats = s.generate(s.tokenize("hello garden"), {"max_tokens": 300, "seed": 2,
                                                         "ignore_eos": True})
    assert stats["completion_tokens"] == 300
    assert s.evicted_total > 0 and len(s.tokens) <= s.n_ctx
    assert _pos_max(s) == len(s.tokens) - 1


def test_prefix_reuse_after_eviction_keeps_compressed_cache(session_factory):
    s = session_factory(n_ctx=128, n_batch=64)
    prompt = s.tokenize("hello " * 60)
    s.generate(prompt, {"max_tokens": 40, "seed": 1, "ignore_eos": True})
    assert s.evicted_total > 0
    cached_before = len(s.tokens)
    follow = s.logical_tokens + s.tokenize(" next", add_bos=False)
    _, stats = s.generate(follow, {"max_tokens": 2, "seed": 1})
    assert stats["cached_tokens"] == cached_before


def test_stop_within_one_token(session_factory):
    sampled: list[int] = []
    s = session_factory(n_ctx=256, should_stop=lambda: len(sampled) >= 3)
    piece = s.piece
    s.piece = lambda tok: (sampled.append(tok), piece(tok))[1]   # one call per sampled token
    _text, stats = s.generate(s.tokenize("hello"), {"max_tokens": 50, "ignore_eos": True})
    assert stats["stopped"] and stats["finish_reason"] == "cancelled"
    assert stats["completion_tokens"] == 3 == len(sampled)


def test_stop_during_prompt_processing_uses_abort_callback(session_factory):
    calls = []

    def should_stop() -> bool:   # the Python check before the decode says go; llama.cpp's
        calls.append(1)          # abort callback, polled during the decode, says stop
        return len(calls) > 1

    s = session_factory(n_ctx=512, n_batch=512, should_stop=should_stop)
    _, stats = s.generate(s.tokenize("memory " * 60), {"max_tokens": 5})
    assert stats["finish_reason"] == "cancelled" and stats["completion_tokens"] == 0
    assert s.tokens == [] and _pos_max(s) == -1      # nothing half-processed is left behind
    s._should_stop = lambda: False
    _, stats = s.generate(s.tokenize("memory"), {"max_tokens": 3, "ignore_eos": True})
    assert stats["completion_tokens"] == 3
