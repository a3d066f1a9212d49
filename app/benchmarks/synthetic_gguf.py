"""Random-weight GGUF files written with the `gguf` package, for tests and benchmarks.

They are real GGUF files that the real llama.cpp loads: llama architecture, a SentencePiece-style
vocabulary with byte fallback (so any text tokenizes), ChatML control tokens and a Jinja chat
template. The weights are random, so the text is noise: they exercise the mechanics (loading,
streaming, KV cache, state, eviction) and give meaningful timings for a realistic shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_WORDS = ["the", "a", "and", "to", "of", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with", "his", "they", "I", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "hello", "memory", "remember", "name", "garden", "Alice", "Bob", "coffee", "Paris", "music", "book", "cat", "dog", "friday"]


@dataclass(frozen=True)
class ModelShape:
    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    n_ctx_train: int = 4096
    weight_type: str = "f32"     # f32 / f16 / q8_0

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


TINY = ModelShape(n_layers=2, n_embd=64, n_head=2, n_head_kv=2, n_ff=128, n_vocab=512,
                  n_ctx_train=4096, weight_type="f32")
# Qwen2.5-0.5B's transformer shape (24 layers, hidden 896, 14 heads, 2 KV heads, FFN 4864)
# with a 32k SentencePiece vocabulary, Q8_0 weights.
QWEN05B_SHAPE = ModelShape(n_layers=24, n_embd=896, n_head=14, n_head_kv=2, n_ff=4864,
                           n_vocab=32000, n_ctx_train=32768, weight_type="q8_0")


def _vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    """<unk>, <s>, </s>, ChatML control tokens, 256 byte tokens, then word pieces."""
    import gguf

    tt = gguf.TokenType
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [tt.UNKNOWN, tt.CONTROL, tt.CONTROL, tt.CONTROL, tt.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [tt.BYTE] * 256
    pieces: list[str] = []
    seen = set(tokens)

    def add(piece: str) -> None:
        if piece not in seen and len(tokens) + len(pieces) < n_vocab:
            seen.add(piece)
            pieces.append(piece)

    for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;()\n":
        add(ch)
    add("\u2581")
    for w in _WORDS:
        add("\u2581" + w)
        add(w)
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    i = 0
    while len(tokens) + len(pieces) < n_vocab:
        # Deterministic filler pieces: base-26 letter strings, with and without a leading space.
        n, word = i // 2, ""
        while True:
            word += letters[n % 26]
            n //= 26
            if n == 0:
                break
        add(("\u2581" if i % 2 else "") + word)
        i += 1
    tokens += pieces
    types += [tt.NORMAL] * len(pieces)
    # SentencePiece scores: longer pieces first (higher score wins merges).
    scores = [0.0] * 261 + [-float(1000 - min(len(p), 999)) / 10 - k * 1e-4
                            for k, p in enumerate(pieces)]
    return tokens, scores, [int(t) for t in types]


def write_gguf(path: Path | str, shape: ModelShape = TINY, *, seed: int = 0,
               chat_template: str | None = CHATML_TEMPLATE, name: str = "engram-synthetic",
               split_max_tensors: int = 0) -> Path:
    """Write a random-weight llama-architecture GGUF of `shape` to `path` and return it.

    With `split_max_tensors`, write llama.cpp's split format instead (`<stem>-00001-of-0000N.gguf`
    beside `path`) and return the first part."""
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    qtype = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
             "q8_0": gguf.GGMLQuantizationType.Q8_0}[shape.weight_type]
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[shape.weight_type]
    tmp = path if split_max_tensors else path.with_name(path.name + ".partial")
    w = gguf.GGUFWriter(str(tmp), "llama", split_max_tensors=split_max_tensors)
    w.add_name(name)
    w.add_context_length(shape.n_ctx_train)
    w.add_embedding_length(shape.n_embd)
    w.add_block_count(shape.n_layers)
    w.add_feed_forward_length(shape.n_ff)
    w.add_head_count(shape.n_head)
    w.add_head_count_kv(shape.n_head_kv)
    w.add_rope_dimension_count(shape.head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(int(ftype))
    w.add_vocab_size(shape.n_vocab)
    tokens, scores, types = _vocab(shape.n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    if chat_template:
        w.add_chat_template(chat_template)

    def tensor(name: str, rows: int, cols: int, scale: float | None = None,
               ones: bool = False) -> None:
        if ones:
            data = np.ones((cols,), dtype=np.float32)
            w.add_tensor(name, data)
            return
        s = scale if scale is not None else 1.0 / np.sqrt(cols)
        data = (rng.standard_normal((rows, cols), dtype=np.float32) * s).astype(np.float32)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, data)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, data.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    e, kv = shape.n_embd, shape.n_head_kv * shape.head_dim
    tensor("token_embd.weight", shape.n_vocab, e, scale=1.0)
    for i in range(shape.n_layers):
        p = f"blk.{i}."
        tensor(p + "attn_norm.weight", 0, e, ones=True)
        tensor(p + "attn_q.weight", e, e)
        tensor(p + "attn_k.weight", kv, e)
        tensor(p + "attn_v.weight", kv, e)
        tensor(p + "attn_output.weight", e, e)
        tensor(p + "ffn_norm.weight", 0, e, ones=True)
        tensor(p + "ffn_gate.weight", shape.n_ff, e)
        tensor(p + "ffn_up.weight", shape.n_ff, e)
        tensor(p + "ffn_down.weight", e, shape.n_ff)
    tensor("output_norm.weight", 0, e, ones=True)
    tensor("output.weight", shape.n_vocab, e, scale=3.0 / np.sqrt(e))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if split_max_tensors:
        return next(iter(sorted(path.parent.glob(f"{path.stem}-00001-of-*.gguf"))))
    tmp.replace(path)
    return path


def write_tiny_gguf(path: Path | str, *, n_layers: int = 2, seed: int = 0,
                    chat_template: str | None = CHATML_TEMPLATE) -> Path:
    """A ~1 MB model (hidden 64) that loads in milliseconds."""
    shape = ModelShape(n_layers=n_layers, n_embd=TINY.n_embd, n_head=TINY.n_head,
                       n_head_kv=TINY.n_head_kv, n_ff=TINY.n_ff, n_vocab=TINY.n_vocab,
                       n_ctx_train=TINY.n_ctx_train, weight_type=TINY.weight_type)
    return write_gguf(path, shape, seed=seed, chat_template=chat_template, name="engram-tiny")
