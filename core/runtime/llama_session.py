"""One llama.cpp context and its token bookkeeping. Runs only inside the model worker process.

The cache is described by three parallel arrays, one entry per KV cell in position order:
`tokens` (token ids), `logical` (index of the token in the conversation's full, uncompressed
token sequence) and `scores` (surprisal, for SirLLM). `logical_tokens` is that full sequence.
A new prompt is matched against `logical_tokens`; cells before the first difference are reused
even when eviction has thinned them out, so a compressed cache stays warm across turns.
"""
from __future__ import annotations

import codecs
import ctypes
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from core.runtime.errors import GenerationError, ModelLoadError
from core.runtime.eviction import choose_kept, removal_runs, surprisal_rows
from core.runtime.kv_config import AUTO_GPU_LAYERS, GGML_TYPES, RuntimeConfig, overflow_note


class Cancelled(Exception):
    pass


class LlamaSession:
    def __init__(self, cfg: RuntimeConfig, should_stop: Callable[[], bool] | None = None) -> None:
        import llama_cpp

        from core.runtime.llama_log import route_llama_logs

        route_llama_logs(llama_cpp)
        self._lc = llama_cpp
        self.cfg = cfg
        self._should_stop = should_stop or (lambda: False)
        if cfg.n_gpu_layers == AUTO_GPU_LAYERS:
            cfg.n_gpu_layers = self._auto_gpu_layers(cfg)
        n_batch = max(8, min(cfg.n_batch, cfg.n_ctx))
        try:
            self.llm = llama_cpp.Llama(
                cfg.model_path, n_ctx=cfg.n_ctx, n_batch=n_batch, n_ubatch=n_batch,
                n_threads=cfg.n_threads or None, n_threads_batch=cfg.n_threads or None,
                n_gpu_layers=cfg.n_gpu_layers, type_k=GGML_TYPES[cfg.type_k],
                type_v=GGML_TYPES[cfg.type_v], flash_attn=cfg.flash_attn, swa_full=True,
                seed=cfg.seed, verbose=False)
        except (ValueError, RuntimeError, MemoryError) as exc:
            raise ModelLoadError(f"llama.cpp could not load the model with these settings "
                                 f"(K {cfg.type_k}, V {cfg.type_v}, context {cfg.n_ctx}): "
                                 f"{exc}. It may not fit in memory: try a smaller context, "
                                 f"a quantized KV cache or a smaller model.") from exc
        self.ctx = self.llm._ctx
        if not cfg.head_dim:
            cfg.head_dim = self._model_head_dim()
        note = overflow_note(cfg)
        if note and note not in cfg.notes:
            cfg.notes.append(note)
        self.n_ctx = self.llm.n_ctx()
        self.n_vocab = self.llm.n_vocab()
        self.n_batch = n_batch
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm._model.model)
        # an abort callback makes a long prompt decode stop mid-batch when asked to
        self._abort_cb = llama_cpp.ggml_abort_callback(lambda _data: bool(self._should_stop()))
        llama_cpp.llama_set_abort_callback(self.ctx.ctx, self._abort_cb, None)
        self._batch = llama_cpp._internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1)
        self.scoring = cfg.overflow_policy == "sirllm"
        self.reset()
        self.last_decode_tps = 0.0

    def _auto_gpu_layers(self, cfg: RuntimeConfig) -> int:
        """Layers to offload for "auto": none without a GPU, else what free VRAM holds."""
        from core.runtime.gpu_fit import plan_for_model
        from core.runtime.machine import gpu_devices

        gpus = gpu_devices(self._lc)
        if not gpus:
            return 0
        plan = plan_for_model(cfg.model_path, n_ctx=cfg.n_ctx, type_k=cfg.type_k,
                              type_v=cfg.type_v, free_vram=max(g.free_bytes for g in gpus))
        cfg.notes.append(f"GPU ({gpus[0].name}): {plan.reason}")
        return plan.n_gpu_layers

    def _model_head_dim(self) -> int:
        """The K head size as llama.cpp uses it: `<arch>.attention.key_length`, else
        n_embd / n_head (Gemma's key length differs from that ratio)."""
        meta = getattr(self.llm, "metadata", None) or {}
        arch = meta.get("general.architecture", "")
        try:
            return int(meta[f"{arch}.attention.key_length"])
        except (KeyError, ValueError):
            model = self.llm._model.model
            n_head = self._lc.llama_model_n_head(model)
            return self._lc.llama_model_n_embd(model) // n_head if n_head else 0

    # -- bookkeeping ---------------------------------------------------------------------
    def reset(self) -> None:
        self.ctx.kv_cache_clear()
        self.tokens: list[int] = []
        self.logical: list[int] = []
        self.scores: list[float] = []
        self.logical_tokens: list[int] = []
        self.prev_logits: np.ndarray | None = None
        self.evicted_total = 0
        self.evictions = 0
        self.reprocessed_tokens = 0   # kept tokens decoded again by evictions (0 when shifted)

    def tokenize(self, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def is_eog(self, token: int) -> bool:
        return bool(self._lc.llama_vocab_is_eog(self.vocab, token))

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self._lc.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lc.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
        return buf.raw[:max(0, n)]

    # -- decoding ------------------------------------------------------------------------
    def _decode(self, toks: list[int], *, all_logits: bool) -> None:
        n_past = len(self.tokens)
        self._batch.set_batch(batch=toks, n_past=n_past, logits_all=all_logits)
        rc = self._lc.llama_decode(self.ctx.ctx, self._batch.batch)
        if rc == 2 or (rc != 0 and self._should_stop()):
            self.ctx.kv_cache_seq_rm(0, n_past, -1)
            raise Cancelled()
        if rc != 0:
            self.ctx.kv_cache_seq_rm(0, n_past, -1)
            raise GenerationError(f"llama.cpp failed to process the prompt (code {rc}).")

    def last_logits(self) -> np.ndarray:
        ptr = self._lc.llama_get_logits_ith(self.ctx.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def feed(self, toks: list[int], first_logical: int | None = None) -> None:
        """Append tokens to the cache (evicting first when they would not fit)."""
        if first_logical is None:
            first_logical = len(self.logical_tokens)
        chunk = self.n_batch
        if self.scoring:   # all-position logits cost n_vocab floats per token: bound the buffer
            chunk = max(8, min(chunk, 16_000_000 // self.n_vocab))
        chunk = max(1, min(chunk, self.n_ctx // 4))
        i = 0
        while i < len(toks):
            if self._should_stop():
                raise Cancelled()
            part = toks[i : i + chunk]
            if len(self.tokens) + len(part) > self.n_ctx:
                self.evict(len(part))
            self._decode(part, all_logits=self.scoring)
            if self.scoring:
                self._score(part)
            base = first_logical + i
            self.tokens.extend(part)
            self.logical.extend(range(base, base + len(part)))
            self.logical_tokens.extend(part)
            i += len(part)

    def _score(self, part: list[int]) -> None:
        n = len(part)
        rows = np.ctypeslib.as_array(self._lc.llama_get_logits(self.ctx.ctx),
                                     shape=(n, self.n_vocab))
        s = np.zeros(n)
        if n > 1:
            s[1:] = surprisal_rows(rows[:-1], np.asarray(part[1:]))
        if self.prev_logits is not None:
            s[0] = surprisal_rows(self.prev_logits[None, :], np.asarray(part[:1]))[0]
        self.prev_logits = rows[-1].copy()
        self.scores.extend(s.tolist())

    def _pad_scores(self) -> None:
        if len(self.scores) < len(self.tokens):
            self.scores.extend([0.0] * (len(self.tokens) - len(self.scores)))

    def evict(self, need: int) -> int:
        """Make room for `need` more tokens; returns how many cached tokens were dropped."""
        n = len(self.tokens)
        slack = int(self.n_ctx * self.cfg.evict_fraction)
        target = max(self.cfg.sink_tokens + 1, self.n_ctx - need - slack)
        target = min(target, n)
        self._pad_scores()
        kept = choose_kept(n, target, policy=self.cfg.overflow_policy,
                           sink=self.cfg.sink_tokens, scores=np.asarray(self.scores),
                           recent_fraction=self.cfg.recent_fraction)
        if len(kept) == n:
            return 0
        kept_tokens = [self.tokens[k] for k in kept]
        if self.cfg.evict_by_shift:
            for p0, p1 in removal_runs(kept, n):
                self.ctx.kv_cache_seq_rm(0, p0, p1)
                self.ctx.kv_cache_seq_shift(0, p1, -1, -(p1 - p0))
        else:
            # shifting this K cache is unsafe (see kv_config.shift_is_safe): re-process instead
            self.ctx.kv_cache_seq_rm(0, 0, -1)
            self.tokens = []
            try:
                for i in range(0, len(kept_tokens), self.n_batch):
                    part = kept_tokens[i : i + self.n_batch]
                    self._decode(part, all_logits=False)
                    self.tokens.extend(part)
                self.reprocessed_tokens += len(kept_tokens)
            except Cancelled:
                self.reset()
                raise
        decay = self.cfg.sirllm_decay if self.scoring else 1.0
        self.tokens = kept_tokens
        self.logical = [self.logical[k] for k in kept]
        self.scores = [self.scores[k] * decay for k in kept]
        dropped = n - len(kept)
        self.evicted_total += dropped
        self.evictions += 1
        return dropped

    def prepare(self, prompt: list[int]) -> int:
        """Make the cache hold `prompt` (reusing the longest matching prefix); returns the
        number of prompt tokens that were already cached."""
        common = 0
        for a, b in zip(self.logical_tokens, prompt):
            if a != b:
                break
            common += 1
        common = min(common, len(prompt) - 1)   # always decode one token for fresh logits
        keep = int(np.searchsorted(np.asarray(self.logical, dtype=np.int64), common))
        if keep < len(self.tokens):
            self.ctx.kv_cache_seq_rm(0, keep, -1)
            del self.tokens[keep:], self.logical[keep:], self.scores[keep:]
            self.prev_logits = None
        del self.logical_tokens[common:]
        self.feed(prompt[common:], first_logical=common)
        return keep

    # -- generation ----------------------------------------------------------------------
    def _sampler(self, p: dict[str, Any]):
        from llama_cpp.llama_grammar import LlamaGrammar

        grammar = None
        try:
            if p.get("json_schema"):
                grammar = LlamaGrammar.from_json_schema(json.dumps(p["json_schema"]),
                                                        verbose=False)
            elif p.get("grammar"):
                grammar = LlamaGrammar.from_string(p["grammar"], verbose=False)
        except Exception as exc:
            raise GenerationError(f"Invalid grammar or JSON schema: {exc}") from exc
        seed = p.get("seed")
        self.llm._seed = int(seed) if seed is not None else int(time.time_ns() % (2**31))
        return self.llm._init_sampler(temp=float(0.7 if p.get("temperature") is None
                                                 else p["temperature"]),
                                      top_p=float(p.get("top_p", 0.95)),
                                      repeat_penalty=float(p.get("repeat_penalty", 1.0)),
                                      grammar=grammar)

    def generate(self, prompt: list[int], p: dict[str, Any],
                 on_piece: Callable[[str], None] | None = None) -> tuple[str, dict[str, Any]]:
        t0 = time.perf_counter()
        stats: dict[str, Any] = {"prompt_tokens": len(prompt), "cached_tokens": 0,
                                 "completion_tokens": 0, "seconds_to_first_token": 0.0,
                                 "tokens_per_second": 0.0, "stopped": False,
                                 "finish_reason": "length"}
        out: list[str] = []
        t_first: float | None = None
        try:
            stats["cached_tokens"] = self.prepare(prompt)
            sampler = self._sampler(p)
            stops = [s for s in p.get("stop") or [] if s]
            hold = max((len(s) for s in stops), default=1) - 1
            dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
            pending = ""
            max_tokens = int(p.get("max_tokens", 512))
            for i in range(max_tokens):
                if self._should_stop():
                    raise Cancelled()
                tok = sampler.sample(self.ctx, -1)
                if t_first is None:
                    t_first = time.perf_counter()
                    stats["seconds_to_first_token"] = t_first - t0
                if self.is_eog(tok) and not p.get("ignore_eos"):
                    stats["finish_reason"] = "stop"
                    break
                stats["completion_tokens"] += 1
                pending += dec.decode(self.piece(tok))
                hit = next((s for s in stops if s in pending), None)
                if hit:
                    pending = pending[: pending.index(hit)]
                    stats["finish_reason"] = "stop"
                emit = pending if hit else pending[: max(0, len(pending) - hold)]
                pending = pending[len(emit):]
                if emit:
                    out.append(emit)
                    if on_piece:
                        on_piece(emit)
                if hit:
                    pending = ""
                    break
                if self.scoring and self.prev_logits is None:
                    self.prev_logits = self.last_logits()
                self.feed([tok])
            if pending:
                out.append(pending)
                if on_piece:
                    on_piece(pending)
        except Cancelled:
            stats["stopped"] = True
            stats["finish_reason"] = "cancelled"
        t_end = time.perf_counter()
        if t_first is not None and stats["completion_tokens"] > 1:
            stats["tokens_per_second"] = (stats["completion_tokens"] - 1) / max(
                1e-9, t_end - t_first)
            self.last_decode_tps = stats["tokens_per_second"]
        return "".join(out), stats

    # -- state ---------------------------------------------------------------------------
    def state_bytes(self) -> bytes:
        size = self._lc.llama_state_seq_get_size(self.ctx.ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = self._lc.llama_state_seq_get_data(self.ctx.ctx, buf, size, 0)
        return bytes(buf[:n])

    def bookkeeping(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "logical": self.logical, "scores": self.scores,
                "logical_tokens": self.logical_tokens, "evicted_total": self.evicted_total}

    def restore(self, book: dict[str, Any], data: bytes) -> bool:
        self.reset()
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if self._lc.llama_state_seq_set_data(self.ctx.ctx, buf, len(data), 0) == 0:
            self.reset()
            return False
        self.tokens = list(book["tokens"])
        self.logical = list(book["logical"])
        self.scores = list(book["scores"])
        self.logical_tokens = list(book["logical_tokens"])
        self.evicted_total = int(book.get("evicted_total", 0))
        return True

    def kv_state_size(self) -> int:
        return int(self._lc.llama_state_seq_get_size(self.ctx.ctx, 0))

    def close(self) -> None:
        self.llm.close()
