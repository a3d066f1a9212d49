"""Real weights: the starter model (Gemma 3 270M, sliding-window attention layers, no chat
template in its GGUF) through the runtime."""
from __future__ import annotations

import pytest

from core.base.llm import ChatMessage, GenerationParams
from core.runtime.gguf_info import read_gguf_info
from core.runtime.kv_config import RuntimeConfig
from core.runtime.local_llm import LocalLLM

pytestmark = pytest.mark.model


def test_header_and_gemma_turn_format(starter_gguf):
    info = read_gguf_info(starter_gguf)
    assert info.architecture == "gemma3" and info.chat_template is None
    assert info.sliding_window == 512 and info.n_head_kv == 1 and info.head_dim == 256
    llm = LocalLLM(starter_gguf, RuntimeConfig("", n_ctx=512))
    try:
        assert llm.format.kind == "gemma"
        text, stats = llm.chat([ChatMessage("user", "The capital of France is")],
                               GenerationParams(max_tokens=16, temperature=0.0))
        assert stats.completion_tokens >= 1 and "<start_of_turn>" not in text
        # a base model continues text: the capital should come up
        text, _ = llm.complete("The capital city of France is the city of",
                               GenerationParams(max_tokens=6, temperature=0.0))
        assert "Paris" in text
    finally:
        llm.close()


@pytest.mark.parametrize("policy", ["streaming", "sirllm"])
def test_eviction_and_saved_state_with_sliding_window(starter_gguf, tmp_path, policy):
    cfg = RuntimeConfig("", n_ctx=256, type_k="f16", type_v="q8_0", overflow_policy=policy)
    msgs = [ChatMessage("user", "Tell me a long story about a garden. " * 8)]
    p = GenerationParams(max_tokens=200, seed=1, ignore_eos=True)
    with LocalLLM(starter_gguf, cfg, kv_state_dir=tmp_path) as a:
        reply, st = a.chat(msgs, p, session="g1")
        live = a.live_stats()
        assert st.completion_tokens == 200 and live.tokens_evicted > 0
        assert live.context_used <= live.n_ctx and live.flash_attn
    msgs2 = msgs + [ChatMessage("assistant", reply), ChatMessage("user", "and then?")]
    with LocalLLM(starter_gguf, cfg, kv_state_dir=tmp_path) as b:
        _, st2 = b.chat(msgs2, GenerationParams(max_tokens=8, seed=1), session="g1")
        assert st2.cached_tokens > 0          # restored: the compressed cache is reused
        assert b.live_stats().tokens_evicted >= live.tokens_evicted
