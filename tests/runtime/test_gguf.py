"""Generated GGUFs load in the real llama.cpp; header checks refuse bad files."""
from __future__ import annotations

import pytest

from app.benchmarks.synthetic_gguf import ModelShape, write_gguf
from core.runtime.errors import ModelFileError
from core.runtime.gguf_info import read_gguf_info


def test_tiny_gguf_generates_tokens_with_real_llama_cpp(tiny_gguf):
    import llama_cpp

    llm = llama_cpp.Llama(str(tiny_gguf), n_ctx=256, verbose=False, seed=1)
    try:
        tokens = llm.tokenize(b"hello memory")
        assert llm.detokenize(tokens).decode().strip() == "hello memory"  # byte fallback works
        gen = llm.generate(tokens, temp=0.8)
        produced = [next(gen) for _ in range(8)]
        gen.close()
        assert len(produced) == 8 and all(0 <= t < llm.n_vocab() for t in produced)
        reply = llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=4)
        assert reply["choices"][0]["message"]["role"] == "assistant"
    finally:
        llm.close()


def test_header_info_of_tiny_model(tiny_gguf):
    info = read_gguf_info(tiny_gguf)
    assert info.architecture == "llama"
    assert (info.n_layers, info.n_embd, info.n_head_kv, info.head_dim) == (2, 64, 2, 32)
    assert info.vocab_size == 512 and info.context_length == 4096
    assert info.quantization == "F32"
    assert info.parameter_count > 100_000
    assert "<|im_start|>" in info.chat_template
    assert info.size_bytes == tiny_gguf.stat().st_size
    assert info.kv_bytes_per_token("f16", "f16") == 2 * 2 * 2 * 32 * 2


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        read_gguf_info(tmp_path / "nope.gguf")


def test_not_a_gguf(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(b"PK\x03\x04 this is a zip file" * 10)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        read_gguf_info(p)


def test_truncated_file_is_refused(tiny_gguf, tmp_path):
    p = tmp_path / "cut.gguf"
    p.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="truncated|corrupt"):
        read_gguf_info(p)


def test_corrupt_header_is_refused(tiny_gguf, tmp_path):
    data = bytearray(tiny_gguf.read_bytes())
    data[8:24] = b"\xff" * 16          # absurd tensor and key counts
    p = tmp_path / "bad.gguf"
    p.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        read_gguf_info(p)


def test_unknown_version_and_architecture(tiny_gguf, tmp_path):
    data = bytearray(tiny_gguf.read_bytes())
    data[4:8] = (99).to_bytes(4, "little")
    p = tmp_path / "v99.gguf"
    p.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="version 99"):
        read_gguf_info(p)
    import gguf

    q = tmp_path / "alien.gguf"
    w = gguf.GGUFWriter(str(q), "alienformer")
    import numpy as np

    w.add_tensor("x.weight", np.zeros((4, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(ModelFileError, match="alienformer"):
        read_gguf_info(q)


def test_quantized_shape_header(tmp_path):
    shape = ModelShape(n_layers=1, n_embd=64, n_head=2, n_head_kv=1, n_ff=64, n_vocab=300,
                       weight_type="q8_0")
    info = read_gguf_info(write_gguf(tmp_path / "q.gguf", shape))
    assert info.quantization == "Q8_0" and info.n_head_kv == 1
